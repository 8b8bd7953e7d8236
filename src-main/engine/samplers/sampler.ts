/** The interface every sampler file implements, and the table that picks a sampler by name. */
import type { SamplerName } from '../../../src-shared/names'
import type { SamplerConfig } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
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

/** One entry a sampler: its name (and label, default steps, options in src-shared/names.ts) -> its file. */
const SAMPLER_TABLE: Record<SamplerName, (config: SamplerConfig, schedule: Schedule, start: SamplerStart) => Sampler> =
  {
    ddim,
    ddpm,
  }

export function makeSampler(config: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  return SAMPLER_TABLE[config.sampler](config, schedule, start)
}
