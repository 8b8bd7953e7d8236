/**
 * Samplers against an exact answer: for data x0 ~ N(mu_c, s_c^2) per channel the optimal denoiser is known
 * in closed form (test/fixtures/onnx-builder.ts, gaussianOracle), so sampling with it must give that
 * distribution back.
 *
 * Tolerance: each check uses n = 8 * 16 * 16 = 2048 values a channel. The sample mean's standard error
 * is s / sqrt(n) = 0.018 for s = 0.8 and the sample std's is about s / sqrt(2n) = 0.008; we allow 5 standard
 * errors around the sampler's exact output law. That law we compute: with clipping off every step is
 * affine in x plus independent Gaussian noise, so the output mean and variance follow in closed form
 * (`propagate` below). We assert that the sampler matches it, and that it is the data distribution up
 * to the sampler's known discretisation bias: means within 0.01 always; stds within 2% for DDPM with
 * 1000 steps, while 50 large steps under-disperse (each step's x0 estimate is a posterior mean; its
 * uncertainty is dropped): measured up to 10% (eta 0) and 18% (eta 1) for these mu, s, and never above s.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadModel } from '../../../../src-main/engine/model/load'
import { runSampling } from '../../../../src-main/engine/run'
import { makeSampler } from '../../../../src-main/engine/samplers/sampler'
import { DEFAULT_SCHEDULE, makeSchedule, type Schedule, type ScheduleName } from '../../../../src-main/engine/schedule'
import { configOf, DEFAULT_SAMPLER, type SamplerConfig } from '../../../../src-shared/parameters'
import { gaussianOracle } from '../../../fixtures/onnx-builder'

const MU = [0.3, -0.4, 0]
const S = [0.5, 0.25, 0.8]
const [B, H, W] = [8, 16, 16]

/** Exact output mean and variance of the sampler for one channel, stepping the affine map with 1-value tensors. */
function propagate(
  config: SamplerConfig,
  schedule: Schedule,
  mu: number,
  s: number,
  prediction: SamplerConfig['predictionType'],
) {
  const sampler = makeSampler({ ...config, predictionType: prediction }, schedule)
  const ab = schedule.alphasCumprod
  const oracle = (x: number, t: number) => {
    const a = Math.sqrt(ab[t]),
      b = Math.sqrt(1 - ab[t]),
      V = a * a * s * s + b * b
    const eps = (b * (x - a * mu)) / V,
      x0 = mu + (a * s * s * (x - a * mu)) / V
    return prediction === 'epsilon' ? eps : prediction === 'sample' ? x0 : a * eps - b * x0
  }
  let mean = 0,
    variance = 1
  sampler.timesteps.forEach((t, i) => {
    // x' = alpha x + beta + gamma z: read alpha, beta, gamma off the step at x = 0, 1 and noise = 1.
    const at = (x: number, z: number) =>
      sampler.step(new Float32Array([oracle(x, t)]), i, new Float32Array([x]), 1, new Float32Array([z])).prevSample[0]
    const beta = at(0, 0),
      alpha = at(1, 0) - beta,
      gamma = sampler.isStochastic(i) ? at(0, 1) - beta : 0
    mean = alpha * mean + beta
    variance = alpha * alpha * variance + gamma * gamma
  })
  return { mean, std: Math.sqrt(variance) }
}

function channelStats(x: Float32Array, c: number, C: number) {
  const per = H * W
  let sum = 0,
    sq = 0,
    n = 0
  for (let b = 0; b < B; b++)
    for (let i = 0; i < per; i++) {
      const v = x[(b * C + c) * per + i]
      sum += v
      sq += v * v
      n++
    }
  const mean = sum / n
  return { mean, std: Math.sqrt(sq / n - mean * mean), n }
}

const cases: [string, Partial<SamplerConfig>, ScheduleName, SamplerConfig['predictionType']][] = [
  ['ddpm 1000 steps, linear, epsilon', { sampler: 'ddpm', steps: 1000 }, 'linear', 'epsilon'],
  ['ddpm 1000 steps, cosine, v_prediction', { sampler: 'ddpm', steps: 1000 }, 'cosine', 'v_prediction'],
  ['ddim 50 steps eta 0, linear, epsilon', { sampler: 'ddim', steps: 50, eta: 0 }, 'linear', 'epsilon'],
  ['ddim 50 steps eta 0, cosine, sample', { sampler: 'ddim', steps: 50, eta: 0 }, 'cosine', 'sample'],
  ['ddim 50 steps eta 1, linear, v_prediction', { sampler: 'ddim', steps: 50, eta: 1 }, 'linear', 'v_prediction'],
  ['ddim 50 steps eta 1, cosine, epsilon', { sampler: 'ddim', steps: 50, eta: 1 }, 'cosine', 'epsilon'],
]

describe('samplers recover a Gaussian data distribution with its exact denoiser', () => {
  for (const [name, sampler, scheduleName, prediction] of cases) {
    it(name, async () => {
      const schedule = makeSchedule({ ...DEFAULT_SCHEDULE, schedule: scheduleName })
      const dir = await mkdtemp(join(tmpdir(), 'stepwise-oracle-'))
      const file = join(dir, 'oracle.onnx')
      await writeFile(file, gaussianOracle(schedule.alphasCumprod, MU, S, prediction))
      const model = await loadModel(file, { providers: ['cpu'] })
      const config: SamplerConfig = { ...DEFAULT_SAMPLER, ...sampler, predictionType: prediction, clipSample: false }
      const r = await runSampling(model, { sampler: config, schedule, seed: 1234, batch: B, height: H, width: W })
      await model.release()
      for (let c = 0; c < MU.length; c++) {
        const got = channelStats(r.samples, c, MU.length)
        const exact = propagate(config, schedule, MU[c], S[c], prediction)
        const se = 5 * (exact.std / Math.sqrt(got.n))
        expect(Math.abs(got.mean - exact.mean)).toBeLessThan(se)
        expect(Math.abs(got.std - exact.std)).toBeLessThan((5 * exact.std) / Math.sqrt(2 * got.n))
        // The exact sampler output is the data distribution up to discretisation error.
        const relStd = (exact.std - S[c]) / S[c]
        expect(Math.abs(exact.mean - MU[c])).toBeLessThan(0.01)
        expect(Math.abs(relStd)).toBeLessThan(config.sampler === 'ddpm' ? 0.02 : config.eta === 0 ? 0.11 : 0.2)
        expect(relStd).toBeLessThan(0.001)
      }
    })
  }
})

/**
 * The exact output law of any sampler with the oracle, memory included (a multistep solver's history): the
 * map from x_T and the step noises z_0..z_{N-1} to the output is affine, output = beta + alpha x_T + sum_k
 * gamma_k z_k, so one run on N + 2 probe values reads it off: x_T = 0 and no noise (beta), x_T = 1 (alpha),
 * and z_k = 1 alone (gamma_k). With x_T and z standard normal: mean beta, variance alpha^2 + sum gamma_k^2.
 */
function propagateAffine(config: SamplerConfig, schedule: Schedule, mu: number, s: number) {
  const sampler = makeSampler(config, schedule)
  const ab = schedule.alphasCumprod
  const steps = sampler.timesteps.length
  const n = steps + 2
  let x: Float32Array = new Float32Array(n)
  x[1] = sampler.initNoiseSigma
  sampler.timesteps.forEach((t, i) => {
    const a = Math.sqrt(ab[t]),
      b = Math.sqrt(1 - ab[t])
    const V = a * a * s * s + b * b
    const eps = x.map((v) => (b * (v - a * mu)) / V)
    const noise = new Float32Array(n)
    noise[2 + i] = 1
    x = sampler.step(eps, i, x, n, sampler.isStochastic(i) ? noise : undefined).prevSample
  })
  const beta = x[0]
  const variance = (x[1] - beta) ** 2 + x.slice(2).reduce((sum, v) => sum + (v - beta) ** 2, 0)
  return { mean: beta, std: Math.sqrt(variance) }
}

describe('DPM++ 2M SDE recovers a Gaussian data distribution with its exact denoiser', () => {
  // The sampler must give its exact law (propagateAffine); that law against the data, measured: means within
  // 1e-4; stds -21% to +3% at 20 steps (the last step to sigma 0 returns the posterior mean at sigma 0.18,
  // which narrows the narrow channel, s = 0.25), +10% with Karras sigmas (which end at sigma 0.03), within
  // 3% at 50 steps. The bounds below are those with a margin.
  for (const [steps, sigmas, stdBias] of [
    [20, 'spacing', 0.25],
    [20, 'karras', 0.12],
    [50, 'spacing', 0.04],
  ] as const) {
    it(`${steps} steps, ${sigmas} sigmas, linear, epsilon: mean and std per channel`, async () => {
      const schedule = makeSchedule(DEFAULT_SCHEDULE)
      const dir = await mkdtemp(join(tmpdir(), 'stepwise-oracle-'))
      const file = join(dir, 'oracle.onnx')
      await writeFile(file, gaussianOracle(schedule.alphasCumprod, MU, S, 'epsilon'))
      const model = await loadModel(file, { providers: ['cpu'] })
      const config = configOf('dpmpp-2m-sde', { steps, sigmas })
      const r = await runSampling(model, { sampler: config, schedule, seed: 1234, batch: B, height: H, width: W })
      await model.release()
      for (let c = 0; c < MU.length; c++) {
        const got = channelStats(r.samples, c, MU.length)
        const exact = propagateAffine(config, schedule, MU[c], S[c])
        expect(Math.abs(got.mean - exact.mean)).toBeLessThan(5 * (exact.std / Math.sqrt(got.n)))
        expect(Math.abs(got.std - exact.std)).toBeLessThan((5 * exact.std) / Math.sqrt(2 * got.n))
        expect(Math.abs(exact.mean - MU[c])).toBeLessThan(1e-3)
        expect(Math.abs(exact.std - S[c]) / S[c]).toBeLessThan(stdBias)
      }
    })
  }

  it('the affine read-off agrees with the three-probe one on a memoryless sampler (DDIM eta 1)', () => {
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    const config: SamplerConfig = { ...DEFAULT_SAMPLER, steps: 50, eta: 1, clipSample: false }
    const a = propagateAffine(config, schedule, MU[0], S[0])
    const b = propagate(config, schedule, MU[0], S[0], 'epsilon')
    expect(a.mean).toBeCloseTo(b.mean, 5)
    expect(a.std).toBeCloseTo(b.std, 5)
  })
})
