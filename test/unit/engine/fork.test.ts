/** Forks and shared noise: the rules comparisons and "fork from any step" rely on. */

import { beforeAll, describe, expect, it } from 'vitest'

import type { Denoiser } from '../../../src-main/engine/model/load'
import { type RunRequest, runSampling, type StepFrame } from '../../../src-main/engine/run'
import { makeSampler } from '../../../src-main/engine/samplers/sampler'
import { forkStart, type Timeline } from '../../../src-main/engine/timeline'
import { configOf, DEFAULT_SAMPLER } from '../../../src-shared/parameters'
import { loadOracle, schedule } from './oracle-model'

let model: Denoiser
beforeAll(async () => {
  model = await loadOracle([0.1, -0.2, 0.3], [0.5, 0.4, 0.3])
})

const req = (over: Partial<RunRequest>): RunRequest => ({
  sampler: { ...DEFAULT_SAMPLER, sampler: 'ddpm', steps: 20 },
  schedule,
  seed: 42,
  batch: 2,
  height: 8,
  width: 8,
  ...over,
})

async function framesOf(r: RunRequest) {
  const frames: StepFrame[] = []
  const result = await runSampling(model, r, { onStep: (f) => frames.push({ ...f, sample: f.sample.slice() }) })
  return { frames, samples: result.samples, timesteps: result.timesteps }
}

describe('shared noise and forks', () => {
  it('two runs with the same seed and sampler start identically whatever else differs', async () => {
    const a = await framesOf(req({ sampler: { ...DEFAULT_SAMPLER, sampler: 'ddim', steps: 20, eta: 1 } }))
    const b = await framesOf(req({ sampler: { ...DEFAULT_SAMPLER, sampler: 'ddim', steps: 20, eta: 0.3 } }))
    const c = await framesOf(req({ sampler: { ...DEFAULT_SAMPLER, sampler: 'ddim', steps: 50, eta: 1 } }))
    expect(b.frames[0].sample).toEqual(a.frames[0].sample) // the same x_T
    expect(c.frames[0].sample).toEqual(a.frames[0].sample)
    expect(b.frames[0].predictedNoise).toEqual(a.frames[0].predictedNoise)
    expect(b.frames[1].sample).not.toEqual(a.frames[1].sample) // eta differs after the first step
  })

  it("a fork with the parent's settings reproduces the parent from the fork step on, bit for bit", async () => {
    for (const sampler of [
      { ...DEFAULT_SAMPLER, sampler: 'ddpm' as const, steps: 20 },
      { ...DEFAULT_SAMPLER, sampler: 'ddim' as const, steps: 20, eta: 0.7 },
      // Sigma-space samplers: a fork starts at the parent's sigma (Karras sigmas are no timestep's) from
      // the variance-preserving x_t the frame holds, as the parent went on from it. Heun's second call.
      configOf('euler', { steps: 20, sigmas: 'karras' }),
      configOf('heun', { steps: 20 }),
      // A multistep solver: the fork carries the parent's model-output history (its state at the step).
      configOf('dpmpp-2m', { steps: 20, sigmas: 'karras' }),
      configOf('dpmpp-2m', { steps: 20, solverType: 'heun', finalSigmas: 'sigma_min', lowerOrderFinal: false }),
      // Ancestral in sigma space: the fork's noise goes on from the parent's draws.
      configOf('euler-a', { steps: 20 }),
      configOf('dpm2', { steps: 20, sigmas: 'karras' }),
      // Linear multistep: the derivatives (LMS) or noise estimates (PNDM, PLMS) travel with the fork.
      configOf('lms', { steps: 20 }),
      configOf('pndm', { steps: 20 }),
      configOf('pndm', { steps: 20, skipPrkSteps: true }),
      configOf('dpmpp-3m', { steps: 20, sigmas: 'karras' }),
      // Stochastic and multistep: the history, and the noise going on from the parent's draws.
      configOf('dpmpp-2m-sde', { steps: 20 }),
      // UniPC's state also holds the corrected sample its corrector starts from.
      configOf('unipc', { steps: 20 }),
      configOf('unipc', { steps: 20, solverOrder: 3, solverType: 'bh1', sigmas: 'karras', finalSigmas: 'sigma_min' }),
      // A singlestep solver's group: the fork carries the group's first sample.
      configOf('dpmpp-2s', { steps: 20, solverOrder: 3 }),
      configOf('deis', { steps: 20, solverOrder: 3 }),
    ]) {
      const parent = await framesOf(req({ sampler }))
      for (const k of [0, 1, 7, 19]) {
        const fork = await framesOf(
          req({ sampler, start: { ...parent.frames[k].fork, sample: parent.frames[k].sample } }),
        )
        expect(fork.timesteps).toEqual(parent.timesteps.slice(k))
        fork.frames.forEach((f, i) => expect(f.sample).toEqual(parent.frames[k + i].sample))
        expect(fork.samples).toEqual(parent.samples)
      }
    }
  })

  it('a fork of a UniPC or SDE run without its state or draws would differ', async () => {
    const sampler = configOf('unipc', { steps: 10 })
    const parent = await framesOf(req({ sampler }))
    const { state, ...withoutState } = parent.frames[4].fork
    expect(state).toMatchObject({ kind: 'unipc-x0', lowerOrderNums: 2, thisOrder: 2 })
    const fresh = await framesOf(req({ sampler, start: { ...withoutState, sample: parent.frames[4].sample } }))
    expect(fresh.frames[1].sample).not.toEqual(parent.frames[5].sample)
    const sde = configOf('dpmpp-2m-sde', { steps: 10 })
    const noisy = await framesOf(req({ sampler: sde }))
    const at = noisy.frames[4].fork
    expect(at.skipDraws).toBe(4)
    const redrawn = await framesOf(
      req({ sampler: sde, start: { ...at, skipDraws: 0, sample: noisy.frames[4].sample } }),
    )
    expect(redrawn.frames[1].sample).not.toEqual(noisy.frames[5].sample)
  })

  it('a fork of a multistep run without its history would differ: the state is what reproduces it', async () => {
    for (const [sampler, kind] of [
      [configOf('dpmpp-2m', { steps: 10, sigmas: 'karras' }), 'dpm-solver-multistep'],
      [configOf('lms', { steps: 10 }), 'lms'],
      [configOf('pndm', { steps: 10 }), 'pndm'],
    ] as const) {
      const parent = await framesOf(req({ sampler }))
      const { state, ...withoutState } = parent.frames[4].fork
      expect(state).toMatchObject({ kind })
      const fresh = await framesOf(req({ sampler, start: { ...withoutState, sample: parent.frames[4].sample } }))
      expect(fresh.frames[0].sample).toEqual(parent.frames[4].sample)
      expect(fresh.frames[1].sample).not.toEqual(parent.frames[5].sample)
    }
  })

  it("an ancestral fork skips the parent's draws: without them its noise, and so its images, would differ", async () => {
    const sampler = configOf('euler-a', { steps: 10 })
    const parent = await framesOf(req({ sampler }))
    const at = parent.frames[4].fork
    expect(at.skipDraws).toBe(4)
    const redrawn = await framesOf(req({ sampler, start: { ...at, skipDraws: 0, sample: parent.frames[4].sample } }))
    expect(redrawn.frames[1].sample).not.toEqual(parent.frames[5].sample)
  })

  it("a fork with another sampler and step count starts at the parent's timestep and goes on below it", async () => {
    const sampler = { ...DEFAULT_SAMPLER, sampler: 'ddpm' as const, steps: 20 }
    const parent = await framesOf(req({ sampler }))
    const at = parent.frames[5].fork
    expect(at).toEqual({ timestep: parent.timesteps[5], skipDraws: 5 })
    const other = { ...DEFAULT_SAMPLER, sampler: 'ddim' as const, steps: 7 }
    const fork = await framesOf(req({ sampler: other, start: { ...at, sample: parent.frames[5].sample } }))
    const own = makeSampler(other, schedule).timesteps
    expect(fork.timesteps).toEqual([at.timestep, ...own.filter((t) => t < at.timestep)])
    expect(fork.frames[0].sample).toEqual(parent.frames[5].sample)
    // The oracle's law at the end: finite, and near the data mean.
    expect(fork.samples.every(Number.isFinite)).toBe(true)
  })

  it('refuses a fork step outside the run or a start sample of the wrong size', async () => {
    const timeline = { frames: [{}, {}], forkPoints: [] } as unknown as Timeline
    expect(() => forkStart(timeline, 2)).toThrow(/fork: step 2 is outside the 2 steps that run has/)
    await expect(
      runSampling(model, req({ start: { timestep: 500, skipDraws: 0, sample: new Float32Array(5) } })),
    ).rejects.toThrow(/start sample has 5 values/)
    await expect(
      runSampling(model, req({ start: { timestep: 1000, skipDraws: 0, sample: new Float32Array(2 * 3 * 64) } })),
    ).rejects.toThrow(/start timestep must be an integer in \[0, 999\]/)
  })
})
