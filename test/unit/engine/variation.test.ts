/** Variation seeds (A1111's): slerp between two seeds' noise, and the seed rule with a variation. */

import { beforeAll, describe, expect, it } from 'vitest'

import type { Denoiser } from '../../../src-main/engine/model/load'
import { modelFacts, planRun } from '../../../src-main/engine/plan'
import { Gaussian } from '../../../src-main/engine/rng'
import { type RunRequest, runSampling } from '../../../src-main/engine/run'
import { drawInitialNoise, imageGenerator, slerp } from '../../../src-main/engine/seed-noise'
import { finishTimeline, recordStep, startTimeline } from '../../../src-main/engine/timeline'
import {
  configOf,
  DEFAULT_SAMPLER,
  type GenerationParameters,
  imageParameters,
  imageSeedName,
  imageSeedText,
  imageVariation,
  summarize,
} from '../../../src-shared/parameters'
import { loadOracle, oracleRun } from './oracle-model'

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, v, i) => s + v * b[i], 0)
const norm = (a: Float32Array) => Math.sqrt(dot(a, a))
const angle = (a: Float32Array, b: Float32Array) => Math.acos(dot(a, b) / (norm(a) * norm(b)))

describe('slerp', () => {
  it('walks the great circle: at t the angle from a is t times the whole, and unit vectors stay unit', () => {
    const a = new Float32Array([1, 0, 0])
    const b = new Float32Array([0, 1, 0])
    const mid = slerp(0.5, a, b)
    expect(mid[0]).toBeCloseTo(Math.SQRT1_2, 6)
    expect(mid[1]).toBeCloseTo(Math.SQRT1_2, 6)
    expect(norm(mid)).toBeCloseTo(1, 6)
    const third = slerp(1 / 3, a, b)
    expect(Math.atan2(third[1], third[0])).toBeCloseTo(Math.PI / 6, 6)
    expect(slerp(0, a, b)).toEqual(a)
    expect(slerp(1, a, b)).toEqual(b)
  })

  it('between two seeds noise keeps its norm where a straight mix would shrink it', () => {
    const a = new Gaussian(1).fill(new Float32Array(4096))
    const b = new Gaussian(2).fill(new Float32Array(4096))
    const omega = angle(a, b)
    expect(Math.abs(omega - Math.PI / 2)).toBeLessThan(0.1) // independent: nearly orthogonal
    const unit = (x: Float32Array) => x.map((v) => v / norm(x))
    for (const t of [0.1, 0.5, 0.9]) {
      const s = slerp(t, unit(a), unit(b))
      expect(angle(a, s)).toBeCloseTo(t * omega, 4)
      expect(angle(s, b)).toBeCloseTo((1 - t) * omega, 4)
      expect(norm(s)).toBeCloseTo(1, 5)
      // The noise itself: within its two norms (they differ by a percent or so).
      expect(norm(slerp(t, a, b)) / Math.sqrt(norm(a) * norm(b))).toBeCloseTo(1, 1)
    }
    const straight = a.map((v, i) => 0.5 * v + 0.5 * b[i])
    expect(norm(straight) / norm(a)).toBeLessThan(0.75)
  })

  it('mixes nearly parallel vectors straight, a at 0 and b at 1 (A1111 swaps the weights there)', () => {
    const a = new Float32Array([1, 0])
    const b = new Float32Array([1, 0.001])
    const s = slerp(0.25, a, b)
    expect(s[1]).toBeCloseTo(0.00025, 8)
  })
})

describe('the seed rule with a variation', () => {
  it("image k's x_T: its own seed's without a variation; with one, the seed's moved toward variation seed + k's", () => {
    const per = 64
    const plain = new Float32Array(per)
    drawInitialNoise(imageGenerator(10, 2), plain, 2, 3)
    expect(plain).toEqual(new Gaussian(12).fill(new Float32Array(per)))
    const varied = new Float32Array(per)
    const variation = { seed: 500, strength: 0.3 }
    drawInitialNoise(imageGenerator(10, 2, variation), varied, 2, 3, variation)
    const expected = slerp(
      0.3,
      new Gaussian(10).fill(new Float32Array(per)),
      new Gaussian(502).fill(new Float32Array(per)),
    )
    expect(varied).toEqual(expected)
  })
})

let model: Denoiser
beforeAll(async () => {
  model = await loadOracle()
})

const req = (over: Partial<RunRequest>): RunRequest => oracleRun({ ...DEFAULT_SAMPLER, steps: 10 }, over)
const per = 3 * 8 * 8
const imageOf = (x: Float32Array, k: number) => x.subarray(k * per, (k + 1) * per)

describe('sampling with a variation', () => {
  it('image k of a batch equals a batch of one with variation seed + k, stochastic samplers too', async () => {
    for (const sampler of [
      { ...DEFAULT_SAMPLER, steps: 10 },
      { ...DEFAULT_SAMPLER, sampler: 'ddpm' as const, steps: 20 },
      configOf('euler-a', { steps: 10 }),
      configOf('dpmpp-2m', { steps: 10, sigmas: 'karras' }),
    ]) {
      const variation = { seed: 7, strength: 0.4 }
      const batch = await runSampling(model, req({ sampler, batch: 3, variation }))
      for (let k = 0; k < 3; k++) {
        const one = await runSampling(model, req({ sampler, variation: { seed: 7 + k, strength: 0.4 } }))
        expect(imageOf(batch.samples, k)).toEqual(one.samples)
      }
      expect(imageOf(batch.samples, 0)).not.toEqual(imageOf(batch.samples, 1))
    }
  })

  it("strength 1 starts from the variation seed alone: DDIM (no step noise) makes that seed's image", async () => {
    const full = await runSampling(model, req({ variation: { seed: 99, strength: 1 } }))
    const own = await runSampling(model, req({ seed: 99 }))
    expect(full.samples).toEqual(own.samples)
  })

  it("a small strength stays near the seed's own image, a larger one goes further", async () => {
    const own = (await runSampling(model, req({}))).samples
    const distance = async (strength: number) => {
      const x = (await runSampling(model, req({ variation: { seed: 5, strength } }))).samples
      return Math.sqrt(x.reduce((s, v, i) => s + (v - own[i]) ** 2, 0) / x.length)
    }
    const [small, large] = [await distance(0.05), await distance(0.5)]
    expect(small).toBeGreaterThan(0)
    expect(small).toBeLessThan(large / 4)
  })
})

describe('a walk', () => {
  it("image k of B takes k / (B - 1) of the strength toward the one variation seed; the first is the seed's own", () => {
    const walk = { seed: 9, strength: 0.8, walk: true }
    expect([0, 1, 2, 4].map((k) => imageVariation(walk, k, 5))).toEqual([
      undefined,
      { seed: 9, strength: 0.2 },
      { seed: 9, strength: 0.4 },
      { seed: 9, strength: 0.8 },
    ])
    expect(imageVariation(walk, 0, 1)).toBeUndefined()
  })

  it("goes from the seed's image to the variation seed's; image k equals a batch of one with its own parameters", async () => {
    const facts = modelFacts(model.info)
    const plan = planRun(facts, {
      seed: 21,
      batch: 4,
      height: 8,
      width: 8,
      sampler: { sampler: 'ddim', steps: 10 },
      variation: { seed: 84, strength: 1, walk: true },
    })
    const walk = (await runSampling(model, plan.run)).samples
    const alone = async (q: GenerationParameters) =>
      (
        await runSampling(
          model,
          planRun(facts, { seed: q.seed, batch: 1, height: 8, width: 8, sampler: q.sampler, variation: q.variation })
            .run,
        )
      ).samples
    for (let k = 0; k < 4; k++) expect(imageOf(walk, k)).toEqual(await alone(imageParameters(plan.parameters, k, 4)))
    const own = (seed: number) =>
      runSampling(
        model,
        planRun(facts, { seed, batch: 1, height: 8, width: 8, sampler: { sampler: 'ddim', steps: 10 } }).run,
      )
    expect(imageOf(walk, 0)).toEqual((await own(21)).samples)
    expect(imageOf(walk, 3)).toEqual((await own(84)).samples) // DDIM adds no noise: x_T alone decides
    expect(imageSeedName(plan.parameters, 2, 4)).toBe('seed-21-to-84-2')
    expect(imageSeedText(plan.parameters, 1, 4)).toBe('seed 21 to 84 at 0.333')
  })
})

describe('planning a variation', () => {
  const facts = () => modelFacts(model.info)

  it('is recorded with its strength, image k with variation seed + k, and in the PNG line as A1111 names it', () => {
    const plan = planRun(facts(), { seed: 3, batch: 2, variation: { seed: 40, strength: 0.25 } })
    expect(plan.parameters.variation).toEqual({ seed: 40, strength: 0.25 })
    expect(plan.run.variation).toEqual({ seed: 40, strength: 0.25 })
    const second = imageParameters(plan.parameters, 1, 2)
    expect(second.seed).toBe(3)
    expect(second.variation).toEqual({ seed: 41, strength: 0.25 })
    expect(summarize(second)).toContain('seed: 3, variation seed: 41, variation strength: 0.25, size: 32x32')
    expect(imageParameters(planRun(facts(), { seed: 3, batch: 2 }).parameters, 1, 2).seed).toBe(4)
  })

  it('a strength of 0 is no variation; a strength past 1, a seed past 2^53 or --init-noise is refused', () => {
    expect(planRun(facts(), { seed: 3, batch: 1, variation: { seed: 40, strength: 0 } }).parameters).not.toHaveProperty(
      'variation',
    )
    expect(() => planRun(facts(), { seed: 3, batch: 1, variation: { seed: 40, strength: 1.5 } })).toThrow(
      'variation strength 1.5: how far toward the variation seed',
    )
    const top = Number.MAX_SAFE_INTEGER
    expect(() => planRun(facts(), { seed: 3, batch: 4, variation: { seed: top - 1, strength: 0.5 } })).toThrow(
      `variation seed ${top - 1} with batch 4: image k uses variation seed + k`,
    )
    expect(() =>
      planRun(facts(), {
        seed: 3,
        batch: 1,
        variation: { seed: 4, strength: 0.5 },
        initNoise: new Float32Array(per),
      }),
    ).toThrow('variation: it moves the seeded noise, and --init-noise gives its own')
  })

  it("a fork keeps its parent's variation and, with the parent's settings, reproduces it", async () => {
    const sampler = configOf('euler-a', { steps: 10 })
    const first = planRun(facts(), { seed: 8, batch: 2, sampler, variation: { seed: 70, strength: 0.6 } })
    const parent = startTimeline(first)
    const result = await runSampling(model, first.run, { onStep: (f) => recordStep(parent, f) })
    finishTimeline(parent, result.samples)
    // The fork asks for no variation: it continues its parent's images.
    const fork = planRun(facts(), { seed: 1, batch: 2, sampler, fork: { step: 4 } }, parent)
    expect(fork.parameters.variation).toEqual({ seed: 70, strength: 0.6 })
    const forked = await runSampling(model, fork.run)
    expect(forked.samples).toEqual(result.samples)
  })
})
