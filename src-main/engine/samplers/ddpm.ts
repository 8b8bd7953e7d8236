/** DDPM ancestral sampling (Ho et al. 2020) with diffusers' DDPMScheduler semantics. */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { clipPredictedX0, predictionOf, spacedTimesteps, startingAt, timestepStart, vpSampler } from './common'
import type { Sampler, SamplerStart } from './sampler'

/** DDPMScheduler's configuration: the options DDPM reads, with diffusers' defaults (SAMPLER_INFO.ddpm). */
export type DdpmConfig = SamplerConfigOf<'ddpm'>

export function ddpm(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: DdpmConfig = configOf('ddpm', settings)
  const { alphasCumprod } = schedule
  const spaced = spacedTimesteps(alphasCumprod.length, config.steps, config.timestepSpacing, config.stepsOffset)
  const startAt = timestepStart(start)
  const timesteps = startAt === undefined ? spaced : startingAt(spaced, startAt, alphasCumprod.length)
  // The previous timestep is the next entry of `timesteps` (diffusers' `previous_timestep`), -1 after the last.
  const prevOf = (index: number) => (index + 1 < timesteps.length ? timesteps[index + 1] : -1)

  return vpSampler({
    timesteps,
    alphaBars: timesteps.map((t) => alphasCumprod[t]),
    isStochastic: (index) => timesteps[index] > 0,
    step(modelOutput, index, sample, imageSize, noise) {
      const t = timesteps[index]
      const ab = alphasCumprod[t]
      const prevT = prevOf(index)
      const abPrev = prevT >= 0 ? alphasCumprod[prevT] : 1
      const alphaT = ab / abPrev
      const betaT = 1 - alphaT
      const { predictedX0, predictedNoise } = predictionOf(config.predictionType, modelOutput, sample, ab)
      const x0 = clipPredictedX0(predictedX0, config, imageSize)
      // DDPM eq. 7: the posterior mean's coefficients on x0 and x_t.
      const cX0 = (Math.sqrt(abPrev) * betaT) / (1 - ab)
      const cXt = (Math.sqrt(alphaT) * (1 - abPrev)) / (1 - ab)
      const prevSample = new Float32Array(sample.length)
      for (let i = 0; i < sample.length; i++) prevSample[i] = cX0 * x0[i] + cXt * sample[i]
      if (t > 0) {
        if (!noise) throw new Error('ddpm needs noise for every step but the last')
        // fixed_small: the posterior variance beta-tilde (eq. 7), clamped at 1e-20 as diffusers does;
        // fixed_large: beta_t.
        const variance =
          config.varianceType === 'fixed_large' ? betaT : Math.max(((1 - abPrev) / (1 - ab)) * betaT, 1e-20)
        const sd = Math.sqrt(variance)
        for (let i = 0; i < sample.length; i++) prevSample[i] += sd * noise[i]
      }
      return { prevSample, predictedX0, predictedNoise }
    },
  })
}
