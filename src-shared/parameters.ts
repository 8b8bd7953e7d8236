/**
 * What a generation is: the sampler and schedule settings (diffusers' configuration under camelCase
 * names, `timestepSpacing` is diffusers' `timestep_spacing`, with diffusers' defaults), what a request
 * asks for, and the parameters a finished image records (embedded in every exported PNG).
 */
import {
  type PredictionType,
  SAMPLER_INFO,
  type SamplerName,
  samplerReads,
  type ScheduleName,
  type TimestepSpacing,
  type VarianceType,
} from './names'

export interface SamplerConfig {
  sampler: SamplerName
  /** Number of denoising steps (diffusers' `num_inference_steps`). */
  steps: number
  /** DDIM: 0 is deterministic DDIM, 1 matches DDPM's posterior variance (DDIM paper, eq. 16). */
  eta: number
  timestepSpacing: TimestepSpacing
  stepsOffset: number
  predictionType: PredictionType
  clipSample: boolean
  clipSampleRange: number
  /** Dynamic thresholding (Imagen, Saharia et al. 2022, section 2.3); replaces clipping when on. */
  thresholding: boolean
  dynamicThresholdingRatio: number
  sampleMaxValue: number
  /** DDIM: alpha-bar of the step after the last is 1 (else alphas_cumprod[0]). */
  setAlphaToOne: boolean
  /** DDPM: the posterior variance (fixed_small) or beta_t (fixed_large). */
  varianceType: VarianceType
}

export const DEFAULT_SAMPLER: SamplerConfig = {
  sampler: 'ddim',
  steps: SAMPLER_INFO.ddim.defaultSteps,
  eta: 0,
  timestepSpacing: 'leading',
  stepsOffset: 0,
  predictionType: 'epsilon',
  clipSample: true,
  clipSampleRange: 1,
  thresholding: false,
  dynamicThresholdingRatio: 0.995,
  sampleMaxValue: 1,
  setAlphaToOne: true,
  varianceType: 'fixed_small',
}

export interface ScheduleConfig {
  schedule: ScheduleName
  trainSteps: number
  betaStart: number
  betaEnd: number
  /** Rescale to zero terminal SNR (Lin et al. 2023, Algorithm 1), diffusers' `rescale_betas_zero_snr`. */
  rescaleZeroSnr?: boolean
}

export const DEFAULT_SCHEDULE: ScheduleConfig = {
  schedule: 'linear',
  trainSteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
}

/** The sampler settings a user (the app's controls, the CLI's flags) may change over the model's defaults. */
export type SamplerSettings = Partial<
  Pick<
    SamplerConfig,
    'sampler' | 'steps' | 'eta' | 'timestepSpacing' | 'stepsOffset' | 'predictionType' | 'clipSample' | 'setAlphaToOne'
  >
>
/** The schedule settings a user may change over the model's training schedule. */
export type ScheduleSettings = Partial<Pick<ScheduleConfig, 'schedule' | 'trainSteps' | 'betaStart' | 'betaEnd'>>

/** What one generation asks for, over the model's defaults. */
export interface GenerationRequest {
  sampler?: SamplerSettings
  schedule?: ScheduleSettings
  /** Image k of the batch uses seed + k. */
  seed: number
  batch: number
  classLabel?: number
  /** Classifier-free guidance scale; 1 = plain conditional. */
  guidance?: number
  height?: number
  width?: number
}

export interface Shape {
  batch: number
  channels: number
  height: number
  width: number
}

/** The parameters of one generation: embedded in every exported PNG, restorable from it. */
export interface GenerationParameters {
  model: string
  sampler: SamplerConfig
  schedule: ScheduleConfig
  seed: number
  height: number
  width: number
  classLabel?: number
  guidance?: number
  /** A fork: the run it continues, from that run's step `step` (its seed, noise and first steps). */
  forkedFrom?: { step: number; parameters: GenerationParameters }
  /** Denoised from an image noised to this timestep (SDEdit), not from pure noise. */
  fromImageAt?: number
}

/** The readable one-line `parameters` text of a PNG. */
export function summarize(p: GenerationParameters): string {
  const parts = [
    `model: ${p.model}`,
    `sampler: ${SAMPLER_INFO[p.sampler.sampler].a1111}`,
    `steps: ${p.sampler.steps}`,
    `schedule: ${p.schedule.schedule} (T=${p.schedule.trainSteps})`,
    `spacing: ${p.sampler.timestepSpacing}`,
    `prediction: ${p.sampler.predictionType}`,
  ]
  if (samplerReads(p.sampler.sampler, 'eta')) parts.push(`eta: ${p.sampler.eta}`)
  parts.push(`seed: ${p.seed}`, `size: ${p.width}x${p.height}`)
  if (p.classLabel !== undefined) parts.push(`class: ${p.classLabel}`)
  if (p.guidance !== undefined) parts.push(`guidance: ${p.guidance}`)
  if (p.forkedFrom) {
    const parent = p.forkedFrom.parameters.sampler
    parts.push(`forked at step ${p.forkedFrom.step} from: ${SAMPLER_INFO[parent.sampler].a1111} ${parent.steps} steps`)
  }
  if (p.fromImageAt !== undefined) parts.push(`from an image at t=${p.fromImageAt}`)
  return parts.join(', ')
}

/**
 * Labels for runs side by side (the compare view, its exported sheet and GIF): sampler and steps always,
 * then only what differs between them (eta, schedule, spacing, guidance), so they fit under small images.
 */
export function compareLabels(runs: GenerationParameters[]): string[] {
  const differs = (f: (p: GenerationParameters) => unknown) => runs.length === 1 || new Set(runs.map(f)).size > 1
  const etaOf = (p: GenerationParameters) => (samplerReads(p.sampler.sampler, 'eta') ? p.sampler.eta : undefined)
  const etas = new Set(runs.map(etaOf).filter((e) => e !== undefined))
  return runs.map((p) => {
    const parts = [`${SAMPLER_INFO[p.sampler.sampler].label} ${p.sampler.steps}`]
    // eta where it says something: a stochastic run, or runs that differ in it.
    const eta = etaOf(p)
    if (eta !== undefined && (eta > 0 || etas.size > 1)) parts.push(`eta ${eta}`)
    if (differs((q) => q.schedule.schedule)) parts.push(p.schedule.schedule)
    if (differs((q) => q.sampler.timestepSpacing) && runs.length > 1) parts.push(p.sampler.timestepSpacing)
    if (differs((q) => q.guidance) && p.guidance !== undefined) parts.push(`g ${p.guidance}`)
    return parts.join(' ')
  })
}
