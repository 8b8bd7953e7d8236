/** Seeded and reproducible: the noise rule that the timeline, the CLI and comparisons rely on. */

import { beforeAll, describe, expect, it } from 'vitest'

import type { Denoiser } from '../../../src-main/engine/model/load'
import { Gaussian } from '../../../src-main/engine/rng'
import { type RunRequest, runSampling } from '../../../src-main/engine/run'
import { configOf, DEFAULT_SAMPLER } from '../../../src-shared/parameters'
import { loadOracle, oracleRun } from './oracle-model'

let model: Denoiser
beforeAll(async () => {
  model = await loadOracle()
})

const req = (over: Partial<RunRequest>): RunRequest =>
  oracleRun({ ...DEFAULT_SAMPLER, sampler: 'ddpm', steps: 20 }, over)

describe('seeded noise', () => {
  it('the generator gives standard normals and the same stream for the same seed', () => {
    const a = new Gaussian(7).fill(new Float32Array(20000))
    const b = new Gaussian(7).fill(new Float32Array(20000))
    expect(a).toEqual(b)
    const mean = a.reduce((s, v) => s + v, 0) / a.length
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length
    expect(Math.abs(mean)).toBeLessThan(0.03) // 4 standard errors of 1/sqrt(20000)
    expect(Math.abs(variance - 1)).toBeLessThan(0.04)
    expect(new Gaussian(8).fill(new Float32Array(4))).not.toEqual(a.subarray(0, 4))
  })

  it('the same seed and settings give bit-identical samples', async () => {
    const a = await runSampling(model, req({}))
    const b = await runSampling(model, req({}))
    expect(a.samples).toEqual(b.samples)
    const c = await runSampling(model, req({ seed: 43 }))
    expect(c.samples).not.toEqual(a.samples)
  })

  it('image k of a batch equals a batch of one with seed + k (stochastic DDPM, DDIM eta 1, Euler a, and the others)', async () => {
    for (const sampler of [
      { ...DEFAULT_SAMPLER, sampler: 'ddpm' as const, steps: 20 },
      { ...DEFAULT_SAMPLER, eta: 1, steps: 10 },
      configOf('dpmpp-2m', { steps: 10, sigmas: 'karras', thresholding: true }),
      configOf('euler', { steps: 10 }),
      configOf('heun', { steps: 5, sigmas: 'exponential' }),
      // Euler a draws each step's noise image by image in batch order, from each image's own generator.
      configOf('euler-a', { steps: 10 }),
      configOf('dpm2', { steps: 5 }),
      configOf('lms', { steps: 10, sigmas: 'karras' }),
      configOf('pndm', { steps: 10 }),
      configOf('dpmpp-2m-sde', { steps: 10, sigmas: 'karras' }),
      configOf('dpmpp-3m', { steps: 10 }),
      configOf('dpmpp-2s', { steps: 10 }),
      configOf('unipc', { steps: 10, thresholding: true }),
      configOf('deis', { steps: 10 }),
    ]) {
      const batch = await runSampling(model, req({ sampler, batch: 3 }))
      const per = 3 * 8 * 8
      for (let k = 0; k < 3; k++) {
        const one = await runSampling(model, req({ sampler, seed: 42 + k }))
        expect(batch.samples.subarray(k * per, (k + 1) * per)).toEqual(one.samples)
      }
    }
  })

  it('every step hands out x_t, predicted x0 and predicted noise, and cancelling stops between steps', async () => {
    const frames: number[] = []
    const controller = new AbortController()
    const run = runSampling(model, req({}), {
      onStep: (f) => {
        expect(f.sample.length).toBe(3 * 64)
        expect(f.predictedX0.length).toBe(3 * 64)
        expect(f.predictedNoise.length).toBe(3 * 64)
        frames.push(f.timestep)
        if (frames.length === 5) controller.abort()
      },
      signal: controller.signal,
    })
    await expect(run).rejects.toMatchObject({ code: 'cancelled' })
    expect(frames).toHaveLength(5)
  })
})
