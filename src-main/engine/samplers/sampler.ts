/**
 * The interface every sampler file implements (diffusers' SchedulerMixin, in TypeScript), and the table
 * that picks a sampler by name.
 *
 * Adding a sampler (one file and one table entry, like one diffusers scheduler file):
 * 1. src-shared/names.ts: its name in SAMPLERS and its SAMPLER_INFO entry: label, A1111 name, default steps,
 *    and the options it reads with diffusers' defaults for it. An option no sampler read before goes into
 *    SAMPLER_OPTIONS once (kind, label, CLI flag, diffusers' name): the CLI flag, the contract's schema,
 *    the app's control and the PNG's JSON follow from the table.
 * 2. samplers/<name>.ts: `(config: SamplerConfig, schedule: Schedule, start?: SamplerStart) => Sampler`, its
 *    options read with configOf('<name>', config). Port diffusers' `set_timesteps`, `init_noise_sigma`,
 *    `scale_model_input`, `order` and `step`, with the paper and equation beside each formula and each
 *    diffusers quirk named where it lives. A sampler that remembers earlier steps (a multistep solver's
 *    model outputs) keeps it as a SamplerState and takes it back from `start.state`, so a fork carries it.
 *    A step that calls the model more than once (Heun) says so in `callsAt` and `timestepAt`; the loop
 *    (run.ts) calls the model as asked. A sigma-space sampler gives `sigmas` and starts part-way with
 *    sigmaStart (samplers/sigmas.ts); vpSampler (samplers/common.ts) fills the rest for a variance-preserving one.
 * 3. Its entry in SAMPLER_TABLE below.
 * 4. test/unit/engine/samplers/<name>.test.ts: diffusers' own full-loop expectations through runSampling,
 *    and step-by-step outputs of its scheduler file (test/fixtures/samplers/make-sampler-reference.py).
 */
import type { SamplerName } from '../../../src-shared/names'
import type { SamplerConfig } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { ddim } from './ddim'
import { ddpm } from './ddpm'
import { deis } from './deis'
import { dpm2 } from './dpm2'
import { dpmpp2m } from './dpmpp-2m'
import { dpmpp2mSde } from './dpmpp-2m-sde'
import { dpmpp2s } from './dpmpp-2s'
import { dpmpp3m } from './dpmpp-3m'
import { euler } from './euler'
import { eulerAncestral } from './euler-a'
import { heun } from './heun'
import { lms } from './lms'
import { pndm } from './pndm'
import { unipc } from './unipc'

export interface StepResult {
  /**
   * x_{t-1}, the sample after this step, in the sampler's own space. After a call that is not a step's
   * last (Heun's first), the sample the next call evaluates.
   */
  prevSample: Float32Array
  /** The model's estimate of x0 at this call, before clipping or thresholding. */
  predictedX0: Float32Array
  /** The model's estimate of the noise in x_t (the variance-preserving epsilon). */
  predictedNoise: Float32Array
}

/**
 * What a sampler carries from one step to the next (a multistep solver's model-output history): plain data
 * (numbers, arrays, Float32Arrays it never changes again), so a run can keep it with a step and a fork can
 * start from it. `kind` says which samplers can continue from it; any other starts afresh.
 */
export interface SamplerState {
  readonly kind: string
}

export interface Sampler {
  /** Each step's timestep: where the model is called first (descending; fractional for sigma-space samplers). */
  readonly timesteps: number[]
  /** Each step's noise level as the variance-preserving alpha_bar of x_t entering it (what frames show). */
  readonly alphaBars: number[]
  /** Sigma-space samplers: each step's sigma and the one after the last (diffusers' `sigmas`, float32). */
  readonly sigmas?: number[]
  /** diffusers' `order`: model calls a step takes (Heun: 2; PNDM's vary by step, see callsAt). */
  readonly order: number
  /** diffusers' `init_noise_sigma`: x_T = standard normal noise * initNoiseSigma. */
  readonly initNoiseSigma: number
  /** Model calls step `index` makes: 1, or more for a sampler that evaluates again inside a step. */
  callsAt(index: number): number
  /** The model's timestep at call `call` of step `index`. */
  timestepAt(index: number, call: number): number
  /**
   * diffusers' `scale_model_input`: what the model is given for `sample` at call `call` of step `index`,
   * x_t in the variance-preserving space (the same array when the sampler's space is that one).
   */
  scaleModelInput(sample: Float32Array, index: number, call?: number): Float32Array
  /** The inverse at a step's first call: the sampler's sample from the variance-preserving x_t entering step `index`. */
  fromModelInput(input: Float32Array, index: number): Float32Array
  /** Whether step `index` adds fresh noise (then `step` needs `noise` of the sample's length). */
  isStochastic(index: number): boolean
  /** The state the next step starts from (undefined for a sampler without memory). */
  state(): SamplerState | undefined
  /**
   * One model call's update: call `call` of step `index`, from `sample` (the sampler's space) and the model
   * output there; `imageSize` = C*H*W for per-image thresholding; `noise` the step's draw when stochastic.
   */
  step(
    modelOutput: Float32Array,
    index: number,
    sample: Float32Array,
    imageSize: number,
    noise?: Float32Array,
    call?: number,
  ): StepResult
}

export interface SamplerStart {
  /** Begin at this training timestep (fractional for a sigma-space parent) instead of the first of the spacing. */
  startAt?: number
  /** The noise level there, when a sigma-space parent carries its own (else the schedule's at `startAt`). */
  sigma?: number
  /** The state a parent had entering the start step: a fork of a multistep run carries its history. */
  state?: SamplerState
}

export type SamplerFactory = (config: SamplerConfig, schedule: Schedule, start?: SamplerStart) => Sampler

/** One entry a sampler: its name (label, default steps, options: src-shared/names.ts) -> its file. */
const SAMPLER_TABLE: Record<SamplerName, SamplerFactory> = {
  ddim,
  ddpm,
  dpm2,
  'dpmpp-2m': dpmpp2m,
  'dpmpp-2m-sde': dpmpp2mSde,
  'dpmpp-3m': dpmpp3m,
  'dpmpp-2s': dpmpp2s,
  euler,
  'euler-a': eulerAncestral,
  heun,
  lms,
  pndm,
  unipc,
  deis,
}

export function makeSampler(config: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  return SAMPLER_TABLE[config.sampler](config, schedule, start)
}
