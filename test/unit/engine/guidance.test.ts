/**
 * Classifier-free guidance, its projected form (APG) and diffusers' guidance_rescale (engine/guidance.ts): the
 * numbers of diffusers' own rescale_noise_cfg and normalized_guidance (test/fixtures/guidance), their limits,
 * and runs that ask for them.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { guide } from '../../../src-main/engine/guidance'
import { defaultModelPath } from '../../../src-main/engine/model/default-model'
import { type Denoiser, loadModel } from '../../../src-main/engine/model/load'
import { modelFacts, planRun } from '../../../src-main/engine/plan'
import { runSampling } from '../../../src-main/engine/run'
import { finishTimeline, recordStep, startTimeline } from '../../../src-main/engine/timeline'
import type { Apg, GenerationRequest } from '../../../src-shared/parameters'

/** A fixture of test/fixtures/guidance: one model call's outputs and diffusers' guided outputs of them. */
const guidanceFixture = <Case>(name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'guidance', name), 'utf8')) as {
    shape: number[]
    cond: number[]
    uncond: number[]
    cases: (Case & { out: number[] })[]
  }
const fixture = guidanceFixture<{ scale: number; guidance_rescale: number }>('guidance-rescale.json')
const apgFixture = guidanceFixture<{ scale: number; eta: number; norm_threshold: number; update_norms: number[] }>(
  'apg.json',
)
/** Its momentum cases: three model calls in a row, diffusers' output of each with one MomentumBuffer. */
const momentumFixture = apgFixture as unknown as {
  calls: { cond: number[]; uncond: number[] }[]
  momentum_cases: { scale: number; eta: number; norm_threshold: number; momentum: number; outs: number[][] }[]
}

const std = (x: Float32Array) => {
  const mean = x.reduce((a, b) => a + b, 0) / x.length
  return Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length)
}

describe('guide', () => {
  const cond = Float32Array.from(fixture.cond)
  const uncond = Float32Array.from(fixture.uncond)
  const per = fixture.shape.slice(1).reduce((a, b) => a * b)

  it.each(fixture.cases)("equals diffusers' rescale_noise_cfg: scale $scale, rescale $guidance_rescale", (c) => {
    const out = guide(cond, uncond, c.scale, c.guidance_rescale, per)
    const diff = Math.max(...out.map((v, j) => Math.abs(v - c.out[j])))
    expect(diff).toBeLessThan(1e-5)
  })

  it('rescale 1 gives each image the spread of its conditional output; 0 is plain guidance', () => {
    const full = guide(cond, uncond, 7.5, 1, per)
    for (let k = 0; k < 2; k++) {
      const image = (x: Float32Array) => x.subarray(k * per, (k + 1) * per)
      expect(std(image(full))).toBeCloseTo(std(image(cond)), 5)
    }
    const plain = guide(cond, uncond, 7.5, 0, per)
    plain.forEach((v, j) => expect(v).toBeCloseTo(uncond[j] + 7.5 * (cond[j] - uncond[j]), 5))
  })
})

describe('guide with APG', () => {
  const cond = Float32Array.from(apgFixture.cond)
  const uncond = Float32Array.from(apgFixture.uncond)
  const per = apgFixture.shape.slice(1).reduce((a, b) => a * b)

  it.each(apgFixture.cases)(
    "equals diffusers' normalized_guidance: scale $scale, eta $eta, norm threshold $norm_threshold",
    (c) => {
      const out = guide(cond, uncond, c.scale, 0, per, { eta: c.eta, normThreshold: c.norm_threshold })
      const diff = Math.max(...out.map((v, j) => Math.abs(v - c.out[j])))
      expect(diff).toBeLessThan(1e-5)
    },
  )

  it('eta 1 without a threshold is plain guidance; at eta 0 the update has no part along the conditional output', () => {
    const plain = guide(cond, uncond, 4, 0, per)
    guide(cond, uncond, 4, 0, per, { eta: 1, normThreshold: 0 }).forEach((v, j) => expect(v).toBeCloseTo(plain[j], 5))
    const projected = guide(cond, uncond, 4, 0, per, { eta: 0, normThreshold: 0 })
    for (let k = 0; k < 2; k++) {
      const at = k * per
      let along = 0
      for (let j = 0; j < per; j++) along += (projected[at + j] - cond[at + j]) * cond[at + j]
      expect(Math.abs(along)).toBeLessThan(1e-4)
    }
    // The fixture's second image has an update of norm 5.7: a threshold of 2 clips it, not the first (1.1).
    expect(apgFixture.cases.find((c) => c.norm_threshold === 2)!.update_norms.map((n) => n > 2)).toEqual([false, true])
  })
  it.each(momentumFixture.momentum_cases)(
    "with momentum equals diffusers' MomentumBuffer over three calls: momentum $momentum, eta $eta, threshold $norm_threshold",
    (c) => {
      const apg = { eta: c.eta, normThreshold: c.norm_threshold, momentum: c.momentum }
      const sum = new Float32Array(cond.length)
      momentumFixture.calls.forEach((call, k) => {
        const out = guide(Float32Array.from(call.cond), Float32Array.from(call.uncond), c.scale, 0, per, apg, sum)
        const diff = Math.max(...out.map((v, j) => Math.abs(v - c.outs[k][j])))
        expect([k, diff < 1e-5]).toEqual([k, true])
      })
    },
  )

  it('with momentum the first call is momentum-free, and later ones differ from it', () => {
    const calls = momentumFixture.calls.map((c) => [Float32Array.from(c.cond), Float32Array.from(c.uncond)])
    const apg = { eta: 0, normThreshold: 0 }
    const sum = new Float32Array(cond.length)
    const first = guide(calls[0][0], calls[0][1], 5, 0, per, { ...apg, momentum: -0.5 }, sum)
    // The same but for the update's rounding to float32 (diffusers' buffer holds it so).
    const plain = guide(calls[0][0], calls[0][1], 5, 0, per, apg)
    expect(Math.max(...first.map((v, j) => Math.abs(v - plain[j])))).toBeLessThan(1e-5)
    const second = guide(calls[1][0], calls[1][1], 5, 0, per, { ...apg, momentum: -0.5 }, sum)
    const without = guide(calls[1][0], calls[1][1], 5, 0, per, apg)
    expect(Math.max(...second.map((v, j) => Math.abs(v - without[j])))).toBeGreaterThan(0.1)
    expect(() => guide(calls[0][0], calls[0][1], 5, 0, per, { ...apg, momentum: -0.5 })).toThrow(/running sum/)
  })
})

describe('a run with guidance rescale', () => {
  let model: Denoiser
  beforeAll(async () => {
    model = await loadModel(defaultModelPath(), { providers: ['cpu'] })
  })
  afterAll(() => model.release())

  const run = async (req: Partial<GenerationRequest>) => {
    const plan = planRun(modelFacts(model.info), {
      sampler: { sampler: 'ddim', steps: 5 },
      seed: 8,
      batch: 2,
      classLabel: 3,
      ...req,
    })
    return { parameters: plan.parameters, samples: (await runSampling(model, plan.run)).samples }
  }
  /** Planning a guided run with `apg`, to be refused. */
  const planGuided = (apg: Apg) => () =>
    planRun(modelFacts(model.info), { seed: 1, batch: 1, classLabel: 3, guidance: 3, apg })
  const moved = (a: Float32Array, b: Float32Array) => Math.max(...a.map((v, j) => Math.abs(v - b[j])))

  it('changes a guided run, and is recorded; on an unguided one it changes nothing and is not', async () => {
    const guided = await run({ guidance: 6 })
    const rescaled = await run({ guidance: 6, guidanceRescale: 0.7 })
    expect(rescaled.parameters.guidanceRescale).toBe(0.7)
    expect(guided.parameters.guidanceRescale).toBeUndefined()
    expect(Math.max(...rescaled.samples.map((v, j) => Math.abs(v - guided.samples[j])))).toBeGreaterThan(0.01)

    const plain = await run({})
    const unguided = await run({ guidance: 1, guidanceRescale: 0.7 })
    expect(unguided.parameters.guidanceRescale).toBeUndefined()
    expect(unguided.samples).toEqual(plain.samples)
  })

  it('APG is recorded where it changes a guided run: eta below 1 or a threshold', async () => {
    const projected = await run({ guidance: 6, apg: { eta: 0, normThreshold: 0 } })
    expect(projected.parameters.apg).toEqual({ eta: 0, normThreshold: 0 })
    expect((await run({ guidance: 6, apg: { eta: 1, normThreshold: 0 } })).parameters.apg).toBeUndefined()
    expect((await run({ guidance: 1, apg: { eta: 0, normThreshold: 0 } })).parameters.apg).toBeUndefined()
    const guided = await run({ guidance: 6 })
    expect(moved(projected.samples, guided.samples)).toBeGreaterThan(1e-3)
    expect(planGuided({ eta: 2, normThreshold: 0 })).toThrow(
      'APG eta 2: the share of the update along the conditional output kept, from 0 to 1',
    )
  })

  it('APG momentum is recorded where the run is guided, and refused outside -1 to 1', async () => {
    const moving = await run({ guidance: 6, apg: { eta: 1, normThreshold: 0, momentum: -0.5 } })
    expect(moving.parameters.apg).toEqual({ eta: 1, normThreshold: 0, momentum: -0.5 })
    const still = await run({ guidance: 6, apg: { eta: 0, normThreshold: 0, momentum: 0 } })
    expect(still.parameters.apg).toEqual({ eta: 0, normThreshold: 0 })
    const guided = await run({ guidance: 6 })
    expect(moved(moving.samples, guided.samples)).toBeGreaterThan(1e-3)
    expect(planGuided({ eta: 0, normThreshold: 0, momentum: -1 })).toThrow(
      "APG momentum -1: the running sum's weight, between -1 and 1",
    )
  })

  it("a fork of a run with APG momentum carries the running sum: with the parent's settings it reproduces it", async () => {
    const facts = modelFacts(model.info)
    const request = {
      sampler: { sampler: 'dpmpp-2m' as const, steps: 10 },
      seed: 8,
      batch: 2,
      classLabel: 3,
      guidance: 6,
      apg: { eta: 0, normThreshold: 0, momentum: -0.5 },
    }
    const plan = planRun(facts, request)
    const parent = startTimeline(plan)
    const { samples } = await runSampling(model, plan.run, { onStep: (f) => recordStep(parent, f) })
    finishTimeline(parent, samples)
    expect(parent.forkPoints[0].apgMomentum).toEqual(new Float32Array(samples.length))
    for (const step of [1, 5, 9]) {
      const fork = planRun(facts, { ...request, fork: { step } }, parent)
      expect((await runSampling(model, fork.run)).samples).toEqual(samples)
      // Without the sum the fork starts its own: other images.
      const { apgMomentum, ...start } = fork.run.start!
      expect(apgMomentum!.some((v) => v !== 0)).toBe(true)
      const fresh = (await runSampling(model, { ...fork.run, start })).samples
      expect(moved(fresh, samples)).toBeGreaterThan(1e-3)
    }
  })

  it('outside 0-1: refused before the run, naming it', () => {
    expect(() =>
      planRun(modelFacts(model.info), { seed: 1, batch: 1, classLabel: 3, guidance: 3, guidanceRescale: 1.5 }),
    ).toThrow('guidance rescale 1.5: it mixes the rescaled output in, from 0 to 1')
  })
})
