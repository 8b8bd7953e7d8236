/**
 * What a generation is: the sampler and schedule settings (diffusers' configuration under camelCase
 * names, `timestepSpacing` is diffusers' `timestep_spacing`, with diffusers' defaults), what a request
 * asks for, and the parameters a finished image records (embedded in every exported PNG).
 */
import {
  optionDefault,
  type OptionsOf,
  optionsOf,
  type PredictionType,
  SAMPLER_INFO,
  type SamplerName,
  type SamplerOptionValues,
  samplerReads,
  type ScheduleName,
  SIGMA_SCHEDULE_NAMES,
} from './names'

/**
 * One sampler's configuration: diffusers' scheduler config under camelCase names, every option the
 * sampler reads (SAMPLER_INFO) and no other. Its defaults are diffusers' own for that scheduler.
 */
export type SamplerConfigOf<S extends SamplerName> = {
  sampler: S
  /** Number of denoising steps (diffusers' `num_inference_steps`). */
  steps: number
} & Pick<SamplerOptionValues, OptionsOf<S>>

/**
 * A run's sampler configuration as it travels and is recorded: the sampler, its steps, the prediction type
 * (every sampler reads it), and the options this sampler reads (the planner fills exactly those: configOf).
 * Spacing and offset: every sampler but dpmpp-2s, whose diffusers scheduler has neither.
 */
export interface SamplerConfig extends Partial<SamplerOptionValues> {
  sampler: SamplerName
  steps: number
  predictionType: PredictionType
}

/** A sampler's full configuration: the options it reads, from `config` where given, else diffusers' defaults. */
export function configOf<S extends SamplerName>(sampler: S, config: Partial<SamplerConfig>): SamplerConfigOf<S> {
  const out: Record<string, unknown> = {
    sampler,
    steps: config.steps ?? SAMPLER_INFO[sampler].defaultSteps,
  }
  for (const option of optionsOf(sampler)) out[option] = config[option] ?? optionDefault(sampler, option)
  return out as SamplerConfigOf<S>
}

/** The default run when a model says nothing: DDIM with diffusers' DDIMScheduler defaults. */
export const DEFAULT_SAMPLER: SamplerConfigOf<'ddim'> = configOf('ddim', {})

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
export type SamplerSettings = Partial<SamplerConfig>
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

/**
 * Why diffusers itself breaks on a configuration (the app warns before such a run), or undefined. The one
 * known: DPM-Solver++ with the heun solver type, sigma_min final sigmas and Karras, exponential or beta
 * sigmas, whose last sigma is then the final one: the second-order last step divides 0 by 0.
 */
export function samplerProblem(settings: SamplerSettings & { sampler: SamplerName }): string | undefined {
  const c: Partial<SamplerOptionValues> & { steps: number } = configOf(settings.sampler, settings)
  const secondOrderAtEnd = (c.solverOrder ?? 1) >= 2 && (c.steps >= 15 || c.lowerOrderFinal === false)
  const edgeSigmas = c.sigmas !== undefined && c.sigmas !== 'spacing'
  if (c.solverType === 'heun' && c.finalSigmas === 'sigma_min' && edgeSigmas && secondOrderAtEnd) {
    return (
      `${SAMPLER_INFO[settings.sampler].label} with the heun solver, sigma_min final sigmas and ${c.sigmas} ` +
      `sigmas ends in NaN in diffusers (its last step divides 0 by 0), and here too`
    )
  }
  return undefined
}

/** A sampler's name with its sigma schedule, as A1111 writes it ("DPM++ 2M Karras"), or as the app labels it. */
function nameWithSigmas(config: SamplerConfig, name: 'a1111' | 'label'): string {
  const base = SAMPLER_INFO[config.sampler][name]
  const suffix = config.sigmas === undefined ? '' : SIGMA_SCHEDULE_NAMES[config.sigmas]
  return suffix ? `${base} ${suffix}` : base
}
export const a1111Name = (config: SamplerConfig): string => nameWithSigmas(config, 'a1111')
export const samplerLabel = (config: SamplerConfig): string => nameWithSigmas(config, 'label')

/** The readable one-line `parameters` text of a PNG. */
export function summarize(p: GenerationParameters): string {
  const parts = [
    `model: ${p.model}`,
    `sampler: ${a1111Name(p.sampler)}`,
    `steps: ${p.sampler.steps}`,
    `schedule: ${p.schedule.schedule} (T=${p.schedule.trainSteps})`,
  ]
  if (p.sampler.timestepSpacing) parts.push(`spacing: ${p.sampler.timestepSpacing}`)
  parts.push(`prediction: ${p.sampler.predictionType}`)
  if (samplerReads(p.sampler.sampler, 'eta')) parts.push(`eta: ${p.sampler.eta}`)
  parts.push(`seed: ${p.seed}`, `size: ${p.width}x${p.height}`)
  if (p.classLabel !== undefined) parts.push(`class: ${p.classLabel}`)
  if (p.guidance !== undefined) parts.push(`guidance: ${p.guidance}`)
  if (p.forkedFrom) {
    const parent = p.forkedFrom.parameters.sampler
    parts.push(`forked at step ${p.forkedFrom.step} from: ${a1111Name(parent)} ${parent.steps} steps`)
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
    const parts = [`${samplerLabel(p.sampler)} ${p.sampler.steps}`]
    // eta where it says something: a stochastic run, or runs that differ in it.
    const eta = etaOf(p)
    if (eta !== undefined && (eta > 0 || etas.size > 1)) parts.push(`eta ${eta}`)
    if (differs((q) => q.schedule.schedule)) parts.push(p.schedule.schedule)
    const spacing = p.sampler.timestepSpacing
    if (differs((q) => q.sampler.timestepSpacing) && runs.length > 1 && spacing) parts.push(spacing)
    if (differs((q) => q.guidance) && p.guidance !== undefined) parts.push(`g ${p.guidance}`)
    return parts.join(' ')
  })
}
