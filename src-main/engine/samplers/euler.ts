/**
 * Euler's method on the probability-flow ODE in sigma space (Karras et al. 2022, "Elucidating the Design
 * Space of Diffusion-Based Generative Models", algorithm 1 with gamma = 0), with diffusers'
 * EulerDiscreteScheduler semantics: dx/dsigma = (x - x0) / sigma, one model call a step.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import type { Sampler, SamplerStart } from './sampler'
import { eulerFamilySteps, predictionAtSigma, sigmaSampler } from './sigmas'

/** EulerDiscreteScheduler's configuration: the options Euler reads, with diffusers' defaults (SAMPLER_INFO.euler). */
export type EulerConfig = SamplerConfigOf<'euler'>

export function euler(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: EulerConfig = configOf('euler', settings)
  const steps = eulerFamilySteps(config, schedule, start, { finalSigmas: config.finalSigmas })
  const { sigmas } = steps

  return sigmaSampler(steps, {
    step(modelOutput, index, sample) {
      const sigma = sigmas[index]
      const { predictedX0, predictedNoise } = predictionAtSigma(config.predictionType, modelOutput, sample, sigma)
      // Karras et al. 2022, algorithm 1, lines 7-8: d = (x - x0) / sigma, x' = x + (sigma' - sigma) d (float32
      // operations, as diffusers').
      const f = Math.fround
      const dt = f(sigmas[index + 1] - sigma)
      const prevSample = new Float32Array(sample.length)
      for (let i = 0; i < sample.length; i++) {
        const derivative = f(f(sample[i] - predictedX0[i]) / sigma)
        prevSample[i] = sample[i] + f(derivative * dt)
      }
      return { prevSample, predictedX0, predictedNoise }
    },
  })
}
