/**
 * Sampler settings: diffusers' DDPMScheduler / DDIMScheduler configuration under camelCase names
 * (`timestepSpacing` is diffusers' `timestep_spacing`), with diffusers' defaults.
 */

export const SAMPLERS = ['ddim', 'ddpm'] as const
export type SamplerName = (typeof SAMPLERS)[number]
export const SPACINGS = ['leading', 'trailing', 'linspace'] as const
export type TimestepSpacing = (typeof SPACINGS)[number]
export const PREDICTION_TYPES = ['epsilon', 'sample', 'v_prediction'] as const
export type PredictionType = (typeof PREDICTION_TYPES)[number]
export const VARIANCE_TYPES = ['fixed_small', 'fixed_large'] as const
export type VarianceType = (typeof VARIANCE_TYPES)[number]

export interface SamplerConfig {
  sampler: SamplerName
  /** Number of denoising steps (diffusers' `num_inference_steps`). */
  steps: number
  /** DDIM only: 0 is deterministic DDIM, 1 matches DDPM's posterior variance (DDIM paper, eq. 16). */
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
  /** DDIM only: alpha-bar of the step after the last is 1 (else alphas_cumprod[0]). */
  setAlphaToOne: boolean
  /** DDPM only. */
  varianceType: VarianceType
}

/** Default steps a sampler takes when none are given. */
export const DEFAULT_STEPS: Record<SamplerName, number> = { ddim: 50, ddpm: 1000 }

export const DEFAULT_SAMPLER: SamplerConfig = {
  sampler: 'ddim',
  steps: DEFAULT_STEPS.ddim,
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

/** Settings given over a base (the model's training defaults); steps default to the chosen sampler's own. */
export function samplerWith(base: SamplerConfig, over: Partial<SamplerConfig>): SamplerConfig {
  const given = Object.fromEntries(Object.entries(over).filter(([, v]) => v !== undefined)) as Partial<SamplerConfig>
  const sampler = given.sampler ?? base.sampler
  return { ...base, ...given, sampler, steps: given.steps ?? DEFAULT_STEPS[sampler] }
}
