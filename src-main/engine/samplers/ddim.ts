/** DDIM (Song et al. 2021) with diffusers' DDIMScheduler semantics. */
import { noiseFromX0 } from '../../../src-shared/noise'
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import { EngineError } from '../errors'
import type { Schedule } from '../schedule'
import { clipPredictedX0, predictionOf, spacedTimesteps, startingAt, timestepStart, vpSampler } from './common'
import type { Sampler, SamplerStart } from './sampler'

/** DDIMScheduler's configuration: the options DDIM reads, with diffusers' defaults (SAMPLER_INFO.ddim). */
export type DdimConfig = SamplerConfigOf<'ddim'>

export function ddim(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: DdimConfig = configOf('ddim', settings)
  const { alphasCumprod } = schedule
  const T = alphasCumprod.length
  const spaced = spacedTimesteps(T, config.steps, config.timestepSpacing, config.stepsOffset)
  const startAt = timestepStart(start)
  const timesteps = startAt === undefined ? spaced : startingAt(spaced, startAt, T)
  const finalAlphaCumprod = config.setAlphaToOne ? 1 : alphasCumprod[0]
  // diffusers quirk: the previous timestep is always t - T // steps, whatever the spacing, so with
  // "trailing" or "linspace" spacing it need not be the next entry of `timesteps`. We match it. A start
  // timestep off the spacing's grid steps to the next entry instead (where the run goes on), and so does
  // every step of lucidrains' spacing (its ddim_sample's time pairs), the last to alpha-bar 1.
  const stride = Math.floor(T / config.steps)
  const offGrid = startAt !== undefined && !spaced.includes(startAt)
  const toNext = (index: number) => config.timestepSpacing === 'lucidrains' || (offGrid && index === 0)
  const prevOf = (index: number) => (toNext(index) ? (timesteps[index + 1] ?? -1) : timesteps[index] - stride)
  const alphaBarPrev = (index: number) => (prevOf(index) >= 0 ? alphasCumprod[prevOf(index)] : finalAlphaCumprod)
  if (config.eta < 0 || config.eta > 1 || !Number.isFinite(config.eta)) {
    throw new EngineError('bad-argument', `eta must be in [0, 1], got ${config.eta}`)
  }

  return vpSampler({
    timesteps,
    alphaBars: timesteps.map((t) => alphasCumprod[t]),
    isStochastic: () => config.eta > 0,
    step(modelOutput, index, sample, imageSize, noise) {
      const t = timesteps[index]
      const ab = alphasCumprod[t]
      const abPrev = alphaBarPrev(index)
      const { predictedX0, predictedNoise } = predictionOf(config.predictionType, modelOutput, sample, ab)
      const x0 = clipPredictedX0(predictedX0, config, imageSize)
      // use_clipped_model_output (GLIDE's DDIM, lucidrains' rederive_pred_noise): the noise x_t holds given the
      // clipped x0, eps = (x_t - sqrt(ab) x0) / sqrt(1 - ab), instead of the model's own.
      const epsilon = config.useClippedModelOutput && x0 !== predictedX0 ? noiseFromX0(sample, x0, ab) : predictedNoise
      // DDIM paper eq. 16: sigma_t = eta sqrt((1 - ab_prev) / (1 - ab)) sqrt(1 - ab / ab_prev).
      const variance = ((1 - abPrev) / (1 - ab)) * (1 - ab / abPrev)
      const sigma = config.eta * Math.sqrt(variance)
      // DDIM paper eq. 12: x_{t-1} = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - sigma^2) eps + sigma z.
      const a = Math.sqrt(abPrev)
      const d = Math.sqrt(Math.max(0, 1 - abPrev - sigma * sigma))
      const prevSample = new Float32Array(sample.length)
      for (let i = 0; i < sample.length; i++) prevSample[i] = a * x0[i] + d * epsilon[i]
      if (config.eta > 0) {
        if (!noise) throw new Error('ddim with eta > 0 needs noise for every step')
        for (let i = 0; i < sample.length; i++) prevSample[i] += sigma * noise[i]
      }
      return { prevSample, predictedX0, predictedNoise }
    },
  })
}
