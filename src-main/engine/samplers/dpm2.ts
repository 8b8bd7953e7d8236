/**
 * DPM-Solver-2 in sigma space (Lu et al. 2022, "DPM-Solver", algorithm 1 at order 2, as Karras et al. 2022
 * write it in k-diffusion's sample_dpm_2: an Euler step to the midpoint sigma_mid = sqrt(sigma sigma_next),
 * then the whole step with the slope there) with diffusers' KDPM2DiscreteScheduler semantics. Two model calls
 * a step, one for the last (the Euler step to sigma 0, where the midpoint would be 0): 2N - 1 calls for N steps.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import type { Sampler, SamplerStart } from './sampler'
import {
  eulerFamilySteps,
  logSigmasOf,
  predictionAtSigma,
  scaleBySigma,
  sigmaToTimestep,
  trainingSigmas,
} from './sigmas'

/** KDPM2DiscreteScheduler's configuration: the options DPM2 reads, with diffusers' defaults (SAMPLER_INFO.dpm2). */
export type Dpm2Config = SamplerConfigOf<'dpm2'>

/**
 * diffusers' `sigmas_interpol`: the geometric mean of a step's two sigmas, computed as torch does in float32,
 * exp(lerp(log sigma_next, log sigma, 0.5)), where lerp with weight 0.5 is end - (end - start) * 0.5.
 */
export function midpointSigma(sigma: number, sigmaNext: number): number {
  const f = Math.fround
  const start = f(Math.log(sigmaNext))
  const end = f(Math.log(sigma))
  return f(Math.exp(f(end - f(f(end - start) * 0.5))))
}

export function dpm2(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: Dpm2Config = configOf('dpm2', settings)
  // diffusers quirk: KDPM2 rounds Karras timesteps to integers (its sigmas stay Karras'), and only those.
  const steps = eulerFamilySteps(config, schedule, start, { roundKarrasTimesteps: true })
  const { timesteps, sigmas } = steps
  const callsAt = (index: number) => (sigmas[index + 1] > 0 ? 2 : 1)
  // The second call of each step: at the midpoint sigma, the model given its fractional timestep (read off
  // the training sigmas as every sigma is, never rounded).
  const logSigmas = logSigmasOf(trainingSigmas(schedule))
  const mids = timesteps.map((_, i) => (callsAt(i) === 2 ? midpointSigma(sigmas[i], sigmas[i + 1]) : 0))
  const midTimesteps = mids.map((s) => (s > 0 ? Math.fround(sigmaToTimestep(s, logSigmas)) : 0))
  const sigmaAt = (index: number, call = 0) => (call === 0 ? sigmas[index] : mids[index])
  // Between a step's two calls: its start x and its x0 estimate there (diffusers' `self.sample`).
  let first: Float32Array | undefined

  return {
    ...steps,
    order: 2,
    callsAt,
    timestepAt: (index, call) => (call === 0 ? timesteps[index] : midTimesteps[index]),
    scaleModelInput: (sample, index, call = 0) => scaleBySigma(sample, sigmaAt(index, call)),
    fromModelInput: (input, index) => scaleBySigma(input, sigmas[index], true),
    isStochastic: () => false,
    state: () => undefined,
    step(modelOutput, index, sample, _imageSize, _noise, call = 0) {
      const sigma = sigmaAt(index, call)
      const { predictedX0, predictedNoise } = predictionAtSigma(config.predictionType, modelOutput, sample, sigma)
      const f = Math.fround
      const prevSample = new Float32Array(sample.length)
      if (call === 0) {
        // An Euler step to the midpoint (to sigma_next, 0, at the last step).
        const dt = f((callsAt(index) === 2 ? mids[index] : sigmas[index + 1]) - sigma)
        for (let i = 0; i < sample.length; i++) {
          const derivative = f(f(sample[i] - predictedX0[i]) / sigma)
          prevSample[i] = sample[i] + f(derivative * dt)
        }
        first = callsAt(index) === 2 ? sample : undefined
      } else {
        if (!first) throw new Error("dpm2: a step's second call came before its first")
        // DPM-Solver-2: the whole step from the step's start with the slope at the midpoint.
        const dt = f(sigmas[index + 1] - sigmas[index])
        for (let i = 0; i < sample.length; i++) {
          const derivative = f(f(sample[i] - predictedX0[i]) / sigma)
          prevSample[i] = first[i] + f(derivative * dt)
        }
        first = undefined
      }
      return { prevSample, predictedX0, predictedNoise }
    },
  }
}
