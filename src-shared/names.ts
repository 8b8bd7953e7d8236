/**
 * The names Stepwise's engine, contract, CLI and renderer all speak: samplers, schedules, spacings,
 * prediction types, execution providers. One list each; everything else (zod enums, CLI checks, menus)
 * is built from these. This folder imports nothing.
 */

/** The samplers (diffusers' scheduler classes, under CLI names). */
export const SAMPLERS = ['ddim', 'ddpm'] as const
export type SamplerName = (typeof SAMPLERS)[number]

export interface SamplerInfo {
  label: string
  /** The name A1111-style PNG-info readers show. */
  a1111: string
  defaultSteps: number
  /** Sampler options (beyond steps, spacing, prediction and clipping) this sampler reads. */
  options: readonly string[]
}

/** What each sampler is called where people meet it, and which options mean something to it. */
export const SAMPLER_INFO: Record<SamplerName, SamplerInfo> = {
  ddim: { label: 'DDIM', a1111: 'DDIM', defaultSteps: 50, options: ['eta', 'setAlphaToOne'] },
  ddpm: { label: 'DDPM', a1111: 'DDPM', defaultSteps: 1000, options: ['varianceType'] },
}

/** Does this sampler read this option? (eta means something to DDIM only.) */
export const samplerReads = (sampler: SamplerName, option: string): boolean =>
  SAMPLER_INFO[sampler].options.includes(option)

/** Beta schedules (diffusers' `beta_schedule`, under our names). */
export const SCHEDULES = ['linear', 'scaled_linear', 'cosine', 'quadratic', 'sigmoid'] as const
export type ScheduleName = (typeof SCHEDULES)[number]
/** Names other tools give the same schedules. */
/** Schedules made from beta_start and beta_end; the others (cosine: Nichol & Dhariwal 2021, eq. 17) ignore them. */
export const usesBetaRange = (schedule: ScheduleName): boolean => schedule !== 'cosine'

export const SCHEDULE_ALIASES: Readonly<Record<string, ScheduleName>> = { squaredcos_cap_v2: 'cosine' }

export function parseScheduleName(name: string): ScheduleName | undefined {
  if ((SCHEDULES as readonly string[]).includes(name)) return name as ScheduleName
  return Object.hasOwn(SCHEDULE_ALIASES, name) ? SCHEDULE_ALIASES[name] : undefined
}

/** diffusers' `timestep_spacing`. */
export const SPACINGS = ['leading', 'trailing', 'linspace'] as const
export type TimestepSpacing = (typeof SPACINGS)[number]

/** diffusers' `prediction_type`: what the network outputs. */
export const PREDICTION_TYPES = ['epsilon', 'sample', 'v_prediction'] as const
export type PredictionType = (typeof PREDICTION_TYPES)[number]

/** diffusers' DDPM `variance_type` (the ones Stepwise samples with). */
export const VARIANCE_TYPES = ['fixed_small', 'fixed_large'] as const
export type VarianceType = (typeof VARIANCE_TYPES)[number]

/** onnxruntime execution providers, in the order they are tried where the platform has them. */
export const PROVIDERS = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const
export type ProviderName = (typeof PROVIDERS)[number]
/** The user's preference: 'auto' is the platform's order. */
export const PROVIDER_CHOICES = ['auto', ...PROVIDERS] as const
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number]

/** Which view of the timeline a GIF animates: the sample x_t, or the predicted x0. */
export const GIF_VIEWS = ['xt', 'x0'] as const
export type GifView = (typeof GIF_VIEWS)[number]
