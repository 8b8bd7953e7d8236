/** The interface every sampler file implements, and the one place that picks a sampler by name. */
import type { Schedule } from '../schedule'
import type { SamplerConfig } from './config'
import { ddim } from './ddim'
import { ddpm } from './ddpm'

export interface StepResult {
  /** x_{t-1}: the sample after this step. */
  prevSample: Float32Array
  /** The model's estimate of x0 at this step, before clipping. */
  predictedX0: Float32Array
  /** The model's estimate of the noise in x_t. */
  predictedNoise: Float32Array
}

export interface Sampler {
  /** Descending training timesteps, one a step. */
  readonly timesteps: number[]
  /** Whether step `index` adds fresh noise (then `step` needs `noise` of the sample's length). */
  isStochastic(index: number): boolean
  /** One reverse step from x_t at timesteps[index]; `imageSize` = C*H*W for per-image thresholding. */
  step(
    modelOutput: Float32Array,
    index: number,
    sample: Float32Array,
    imageSize: number,
    noise?: Float32Array,
  ): StepResult
}

export interface SamplerStart {
  /** Begin at this training timestep instead of the first of the spacing (see `startingAt`). */
  startAt?: number
}

export function makeSampler(config: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  return config.sampler === 'ddpm' ? ddpm(config, schedule, start) : ddim(config, schedule, start)
}
