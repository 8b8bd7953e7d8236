/**
 * Ancestral sampling with Euler steps (k-diffusion's sample_euler_ancestral, Karras et al. 2022, "Elucidating
 * the Design Space of Diffusion-Based Generative Models", with the ancestral split of the DDPM posterior's
 * noise) with diffusers' EulerAncestralDiscreteScheduler semantics: one model call a step, an Euler step of
 * the probability-flow ODE down to sigma_down, then fresh noise of standard deviation sigma_up, so that
 * sigma_down^2 + sigma_up^2 = sigma_next^2.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import type { Sampler, SamplerStart } from './sampler'
import { eulerFamilySteps, predictionAtSigma, sigmaSampler } from './sigmas'

/** EulerAncestralDiscreteScheduler's configuration: the options Euler a reads, with diffusers' defaults. */
export type EulerAncestralConfig = SamplerConfigOf<'euler-a'>

/**
 * sigma_up and sigma_down of a step from sigma_from to sigma_to (k-diffusion's get_ancestral_step with eta 1):
 * sigma_up^2 = sigma_to^2 (sigma_from^2 - sigma_to^2) / sigma_from^2, the variance DDPM's posterior adds
 * (Ho et al. 2020, eq. 7, in sigma space); sigma_down^2 = sigma_to^2 - sigma_up^2. Float32, as diffusers'.
 */
export function ancestralStep(sigmaFrom: number, sigmaTo: number): { up: number; down: number } {
  const f = Math.fround
  const to2 = f(sigmaTo * sigmaTo)
  const from2 = f(sigmaFrom * sigmaFrom)
  const up = f(Math.sqrt(f(f(to2 * f(from2 - to2)) / from2)))
  return { up, down: f(Math.sqrt(f(to2 - f(up * up)))) }
}

export function eulerAncestral(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: EulerAncestralConfig = configOf('euler-a', settings)
  const steps = eulerFamilySteps({ ...config, sigmas: 'spacing' }, schedule, start)
  const { sigmas } = steps

  return sigmaSampler(steps, {
    // diffusers draws noise at the last step too and scales it by sigma_up = 0; we draw none there.
    isStochastic: (index) => sigmas[index + 1] > 0,
    step(modelOutput, index, sample, _imageSize, noise) {
      const sigma = sigmas[index]
      const { predictedX0, predictedNoise } = predictionAtSigma(config.predictionType, modelOutput, sample, sigma)
      const { up, down } = ancestralStep(sigma, sigmas[index + 1])
      if (up > 0 && !noise) throw new Error('euler-a needs noise for every step but the last')
      // Karras et al. 2022, algorithm 1, lines 7-8 down to sigma_down, then x += sigma_up z (float32, as diffusers').
      const f = Math.fround
      const dt = f(down - sigma)
      const prevSample = new Float32Array(sample.length)
      for (let i = 0; i < sample.length; i++) {
        const derivative = f(f(sample[i] - predictedX0[i]) / sigma)
        const x = f(sample[i] + f(derivative * dt))
        prevSample[i] = up > 0 ? x + f(noise![i] * up) : x
      }
      return { prevSample, predictedX0, predictedNoise }
    },
  })
}
