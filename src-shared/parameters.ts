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
  type SamplerInfo,
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

/** DDIM with diffusers' DDIMScheduler defaults: the DDPM family's base settings (and the eta control's start). */
export const DEFAULT_SAMPLER: SamplerConfigOf<'ddim'> = configOf('ddim', {})

/**
 * The run a request that names no sampler makes (the app's first settings for a model, the CLI without
 * --sampler): DPM++ 2M Karras with its 20 steps, diffusers' DPMSolverMultistepScheduler defaults otherwise.
 * It is what people know from every other GUI (A1111's "DPM++ 2M Karras"). A request that names a sampler,
 * dpmpp-2m too, gets that sampler's diffusers defaults. How close each sampler gets to the probability-flow
 * ODE's solution per model call is `npm run bench`'s table; the default model's accuracy with this run is in
 * resources/models/README.md.
 */
export const DEFAULT_RUN = { sampler: 'dpmpp-2m', sigmas: 'karras' } as const satisfies SamplerSettings

/**
 * A model's own default run over the options its training config states (defaultRun). Models that ask for a
 * clipped predicted x0 (clip_sample true: diffusers' DDPMScheduler and DDIMScheduler default, so most saved
 * DDPM pipelines) keep DDIM, which clips as they were made to be sampled: DPMSolverMultistepScheduler has no
 * clip_sample and would ignore it. Every other model, the default one included, gets DEFAULT_RUN.
 */
export const defaultRun = (stated: SamplerSettings): SamplerConfig =>
  stated.clipSample ? configOf('ddim', stated) : configOf(DEFAULT_RUN.sampler, { ...stated, ...DEFAULT_RUN })

export interface ScheduleConfig {
  schedule: ScheduleName
  trainSteps: number
  betaStart: number
  betaEnd: number
  /** Rescale to zero terminal SNR (Lin et al. 2023, Algorithm 1), diffusers' `rescale_betas_zero_snr`. */
  rescaleZeroSnr?: boolean
  /** lucidrains_sigmoid's shape (its `schedule_fn_kwargs`); lucidrains' defaults start -3, end 3, tau 1. */
  sigmoid?: SigmoidShape
}

/** lucidrains' sigmoid_beta_schedule(T, start, end, tau): alpha-bar follows -sigmoid((t (end - start) + start) / tau). */
export interface SigmoidShape {
  start: number
  end: number
  tau: number
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

/**
 * A variation seed (A1111's "Variation seed" and its strength): image k's x_T is moved from the seed's noise
 * toward the noise of variation seed + k, along the great circle between them (slerp), by `strength` in
 * (0, 1]. Every image of the batch then shares the seed (its x_T and the noise of stochastic steps), so a
 * small strength gives images near the seed's own.
 *
 * A walk (`walk` true; the DDIM paper's interpolation of x_T, section 5.3) moves every image toward the one
 * variation seed, image k of a batch of B by strength x k / (B - 1): from the seed's own image to the
 * variation seed's (at strength 1) in B images.
 */
export interface Variation {
  seed: number
  strength: number
  walk?: boolean
}

/**
 * Adaptive projected guidance (APG, Sadat et al. 2024) under diffusers' names: the guidance update's part along
 * the conditional output kept at `eta` (0-1), its norm limited to `normThreshold` (0: no limit), and in its
 * place a running sum over the model calls, each call's update plus `momentum` times the sum so far
 * (diffusers' adaptive_projected_guidance_momentum; the paper's beta, negative: -0.5; 0 or absent: none).
 */
export interface Apg {
  eta: number
  normThreshold: number
  momentum?: number
}

/** What one generation asks for, over the model's defaults. */
export interface GenerationRequest {
  sampler?: SamplerSettings
  schedule?: ScheduleSettings
  /** Image k of the batch uses seed + k (with a variation: the seed, and variation seed + k). */
  seed: number
  batch: number
  /** A strength of 0 is no variation. */
  variation?: Variation
  classLabel?: number
  /** Classifier-free guidance scale; 1 = plain conditional. */
  guidance?: number
  /** diffusers' guidance_rescale, 0-1: the guided output brought back toward the conditional one's spread. */
  guidanceRescale?: number
  /** Adaptive projected guidance (src-main/engine/guidance.ts); eta 1 without a threshold is plain guidance. */
  apg?: Apg
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
  /** The model's hash (MODEL_HASH_LENGTH hex digits of its weights file's SHA-256): which weights made it. */
  modelHash?: string
  sampler: SamplerConfig
  schedule: ScheduleConfig
  seed: number
  /** Where the run had one (strength above 0); a batch's image k records variation seed + k. */
  variation?: Variation
  height: number
  width: number
  classLabel?: number
  guidance?: number
  /** diffusers' guidance_rescale, where a guided run used one (above 0). */
  guidanceRescale?: number
  /** Adaptive projected guidance, where a guided run used it (eta below 1 or a norm threshold). */
  apg?: Apg
  /** A fork: the run it continues, from that run's step `step` (its seed, noise and first steps). */
  forkedFrom?: { step: number; parameters: GenerationParameters }
  /** Denoised from an image noised to this timestep (SDEdit), not from pure noise. */
  fromImageAt?: number
}

/**
 * Image k's own variation in a batch of `batch`: variation seed + k; along a walk, the variation seed at its
 * share of the strength, and none for the walk's first image (the seed's own).
 */
export function imageVariation(v: Variation | undefined, k: number, batch: number): Variation | undefined {
  if (!v) return undefined
  if (!v.walk) return { seed: v.seed + k, strength: v.strength }
  const strength = batch > 1 ? (v.strength * k) / (batch - 1) : 0
  return strength > 0 ? { seed: v.seed, strength } : undefined
}

/**
 * Image k of a batch as a run of its own (what its PNG records): seed + k; with a variation, the seed and its
 * own variation (imageVariation).
 */
export function imageParameters(p: GenerationParameters, k: number, batch: number): GenerationParameters {
  if (!p.variation) return { ...p, seed: p.seed + k }
  const { variation: _, ...rest } = p
  const own = imageVariation(p.variation, k, batch)
  return own ? { ...rest, variation: own } : rest
}

type Seeds = Pick<GenerationParameters, 'seed' | 'variation'>

/** What sets image k apart within its batch (a tile's caption): "43", "var 8", or along a walk "at 0.25". */
export function imageOwnLabel(p: Seeds, k: number, batch: number): string {
  const v = p.variation
  if (!v) return `${p.seed + k}`
  const own = imageVariation(v, k, batch)
  return v.walk ? `at ${+(own?.strength ?? 0).toFixed(3)}` : `var ${own!.seed}`
}

/** What tells image k of a batch apart: "43", "42 var 8" (seed 42, variation seed 8), "42 to 8 at 0.25" (a walk). */
export function imageSeedLabel(p: Seeds, k: number, batch: number): string {
  const own = imageOwnLabel(p, k, batch)
  if (!p.variation) return own
  return p.variation.walk ? `${p.seed} to ${p.variation.seed} ${own}` : `${p.seed} ${own}`
}

/** The same in words: "seed 43", "seed 42 var 8", "seed 42 to 8 at 0.25". */
export const imageSeedText = (p: Seeds, k: number, batch: number): string => `seed ${imageSeedLabel(p, k, batch)}`

/** The same as part of a file name: "seed-43", "seed-42-var-8", "seed-42-to-8-3" (a walk's image k). */
export function imageSeedName(p: Seeds, k: number, batch: number): string {
  if (p.variation?.walk) return `${batchSeedName(p, batch)}-${k}`
  return imageSeedText(p, k, batch).replaceAll(' ', '-')
}

/** A whole batch's files are named by its first image's seeds, a walk's by its two ends: "seed-42-to-8". */
export const batchSeedName = (p: Seeds, batch: number): string =>
  p.variation?.walk ? `seed-${p.seed}-to-${p.variation.seed}` : imageSeedName(p, 0, batch)

/**
 * Why diffusers itself breaks on a configuration (the app warns before such a run), or undefined. Our
 * samplers do the same there (NaN), except the last: they run every step.
 * - DPM-Solver++ multistep with sigma_min final sigmas and Karras, exponential or beta sigmas, whose last
 *   sigma is then the final one: a last step of order 2 or more has h = 0, and the heun solver type's (and
 *   the third order's) coefficient divides 0 by 0.
 * - UniPC with a final sigma of 0 (h infinite in the last step): bh1's B(h) = h, and with predict_x0 off
 *   e^h, multiplies 0; without lower-order final steps the last step's differences divide by r = 0 (order
 *   2: infinities; order 3: a singular system, which diffusers refuses with an error). At order 3 without
 *   lower-order final steps, sigma_min final sigmas and Karras & co. (h = 0): NaN.
 * - Timesteps of one's own with Karras, exponential or beta sigmas: DPMSolverMultistepScheduler refuses them.
 * - UniPC, DEIS and DPM++ 2S round cosine-schedule Karras timesteps, so the first ones repeat (999, 999...):
 *   diffusers' step() then starts at the second and runs past the end, unless the pipeline calls
 *   set_begin_index.
 * - The multistep DPM-Solvers (DPM++ 2M, 3M, 2M SDE, UniPC, DEIS) above order 1, and DPM++ 2S at order 3 (always
 *   linspace), with as many steps as the model has training timesteps, linspace or leading spaced: linspace rounds N + 1 points 1 - 1/T apart, so two
 *   land on one timestep (500, 500 of 1000), and leading strides T // (N + 1) = 0 (every step at 0). A step
 *   of h = 0 and the next one's ratio of steps h_0 / h divides by it.
 */
export function samplerProblem(
  settings: SamplerSettings & { sampler: SamplerName },
  schedule?: ScheduleName,
  trainSteps: number = DEFAULT_SCHEDULE.trainSteps,
): string | undefined {
  const c: Partial<SamplerOptionValues> & { steps: number } = configOf(settings.sampler, settings)
  const label = SAMPLER_INFO[settings.sampler].label
  const edgeSigmas = c.sigmas !== undefined && c.sigmas !== 'spacing'
  const order = c.solverOrder ?? 1
  const nan = 'ends in NaN in diffusers'
  // DPM++ 2S (DPMSolverSinglestepScheduler) has no timestep_spacing: always linspace.
  const spacing = c.timestepSpacing ?? 'linspace'
  if (MULTISTEP_DPM_SOLVERS.includes(settings.sampler) && c.finalSigmas === 'sigma_min' && edgeSigmas) {
    // lower_order_final makes the last step first order under 15 steps; the warm-up caps it at the steps.
    const lastOrder = c.steps >= 15 || c.lowerOrderFinal === false ? Math.min(order, c.steps) : 1
    if (lastOrder >= 3 || (lastOrder === 2 && c.solverType === 'heun')) {
      const what = lastOrder >= 3 ? 'third order' : 'heun solver'
      return `${label} with sigma_min final sigmas and ${c.sigmas} sigmas ${nan} (the last step goes nowhere, h = 0, and its ${what} divides 0 by 0), and here too`
    }
  }
  if (settings.sampler === 'unipc') {
    const lastOrder = c.lowerOrderFinal === false ? Math.min(order, c.steps) : 1
    if (c.finalSigmas === 'zero' && (c.solverType === 'bh1' || c.predictX0 === false || lastOrder >= 2)) {
      const what =
        lastOrder >= 2
          ? `order ${lastOrder} at the last step`
          : c.solverType === 'bh1'
            ? 'the bh1 solver'
            : 'predict x0 off'
      return `${label} with ${what} and a final sigma of 0 ends in infinities or NaN in diffusers (or a singular system it refuses: its last step has h infinite), and here too; use sigma_min final sigmas or lower-order final steps`
    }
    if (c.finalSigmas === 'sigma_min' && edgeSigmas && lastOrder >= 3) {
      return `${label} at order 3 without lower-order final steps, with sigma_min final sigmas and ${c.sigmas} sigmas ${nan} (the last step goes nowhere, h = 0), and here too`
    }
  }
  if (
    (MULTISTEP_SOLVERS.includes(settings.sampler) ? order >= 2 : settings.sampler === 'dpmpp-2s' && order >= 3) &&
    !edgeSigmas &&
    !c.timesteps?.length &&
    c.steps >= trainSteps &&
    (spacing === 'linspace' || spacing === 'leading')
  ) {
    const where = spacing === 'linspace' ? 'two of its timesteps are one' : 'its timesteps are all 0'
    return `${label} at ${c.steps} steps with ${spacing} spacing ${nan} (${where}: a step of h = 0 that the next divides by), and here too; take ${trainSteps - 1} steps${c.timestepSpacing ? ' or trailing spacing' : ''}`
  }
  if (c.timesteps?.length && edgeSigmas) {
    return `${label} with timesteps of your own takes the sigmas at them: diffusers refuses them with ${c.sigmas} sigmas, and so does Stepwise; set the sigmas to spacing or clear the timesteps`
  }
  if (schedule === 'cosine' && c.sigmas === 'karras' && ROUNDING_KARRAS.includes(settings.sampler)) {
    return `${label} rounds Karras timesteps of the cosine schedule, so the first ones repeat: diffusers then skips the first step and fails at the end (unless its pipeline calls set_begin_index); here every step runs`
  }
  if (c.skipPrkSteps === false && c.steps < 4) {
    return `${SAMPLER_INFO[settings.sampler].label}'s Runge-Kutta warm-up needs 4 steps or more (diffusers fails below); skip it (PLMS) or take more steps`
  }
  return undefined
}
/** The samplers of diffusers' DPMSolverMultistepScheduler. */
const MULTISTEP_DPM_SOLVERS: readonly SamplerName[] = ['dpmpp-2m', 'dpmpp-3m', 'dpmpp-2m-sde']
/** The multistep samplers of the DPM-Solver family: a step's ratio to the last one divides by it. */
const MULTISTEP_SOLVERS: readonly SamplerName[] = [...MULTISTEP_DPM_SOLVERS, 'unipc', 'deis']
/** Schedulers that round Karras timesteps under the cosine schedule too (DPMSolverMultistep does not). */
const ROUNDING_KARRAS: readonly SamplerName[] = ['unipc', 'deis', 'dpmpp-2s']

/** A sampler's name with its sigma schedule, as A1111 writes it ("DPM++ 2M Karras"), or as the app labels it. */
function nameWithSigmas(config: SamplerConfig, name: 'a1111' | 'label'): string {
  const info: SamplerInfo = SAMPLER_INFO[config.sampler]
  const base = info.namedBy && config[info.namedBy.option] === info.namedBy.value ? info.namedBy[name] : info[name]
  const suffix = config.sigmas === undefined ? '' : SIGMA_SCHEDULE_NAMES[config.sigmas]
  return suffix ? `${base} ${suffix}` : base
}
export const a1111Name = (config: SamplerConfig): string => nameWithSigmas(config, 'a1111')
export const samplerLabel = (config: SamplerConfig): string => nameWithSigmas(config, 'label')

/** The readable one-line `parameters` text of a PNG. */
export function summarize(p: GenerationParameters): string {
  const parts = [
    `model: ${p.model}`,
    ...(p.modelHash ? [`model hash: ${p.modelHash}`] : []),
    `sampler: ${a1111Name(p.sampler)}`,
    `steps: ${p.sampler.steps}`,
    `schedule: ${p.schedule.schedule} (T=${p.schedule.trainSteps})`,
  ]
  if (p.sampler.timesteps?.length) parts.push(`timesteps: ${p.sampler.timesteps.join(' ')}`)
  else if (p.sampler.timestepSpacing) parts.push(`spacing: ${p.sampler.timestepSpacing}`)
  parts.push(`prediction: ${p.sampler.predictionType}`)
  if (samplerReads(p.sampler.sampler, 'eta')) parts.push(`eta: ${p.sampler.eta}`)
  parts.push(`seed: ${p.seed}`)
  // A1111 writes "Variation seed: 8, Variation seed strength: 0.1".
  if (p.variation) parts.push(`variation seed: ${p.variation.seed}`, `variation strength: ${p.variation.strength}`)
  if (p.variation?.walk) parts.push('walk: image k at k / (batch - 1) of the strength')
  parts.push(`size: ${p.width}x${p.height}`)
  if (p.classLabel !== undefined) parts.push(`class: ${p.classLabel}`)
  if (p.guidance !== undefined) parts.push(`guidance: ${p.guidance}`)
  if (p.guidanceRescale !== undefined) parts.push(`guidance rescale: ${p.guidanceRescale}`)
  if (p.apg) parts.push(`apg eta: ${p.apg.eta}`, `apg norm threshold: ${p.apg.normThreshold}`)
  if (p.apg?.momentum) parts.push(`apg momentum: ${p.apg.momentum}`)
  if (p.forkedFrom) {
    const parent = p.forkedFrom.parameters.sampler
    parts.push(`forked at step ${p.forkedFrom.step} from: ${a1111Name(parent)} ${parent.steps} steps`)
  }
  if (p.fromImageAt !== undefined) parts.push(`from an image at t=${p.fromImageAt}`)
  return parts.join(', ')
}

/**
 * Labels for runs side by side (the compare view, its exported sheet and GIF): sampler and steps always,
 * then only what differs between them (eta, schedule, spacing or timesteps of one's own, guidance, its
 * rescale and APG), so they fit
 * under small images.
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
    // Timesteps of one's own, beside runs with the spacing's (which then name theirs).
    const ownDiffer = runs.length > 1 && differs((q) => q.sampler.timesteps?.join(' ') ?? '')
    if (ownDiffer && p.sampler.timesteps?.length) parts.push('own timesteps')
    else if ((ownDiffer || differs((q) => q.sampler.timestepSpacing)) && runs.length > 1 && spacing) parts.push(spacing)
    if (differs((q) => q.guidance) && p.guidance !== undefined) parts.push(`g ${p.guidance}`)
    if (differs((q) => q.guidanceRescale) && p.guidanceRescale !== undefined) parts.push(`φ ${p.guidanceRescale}`)
    if (differs((q) => q.apg?.eta) && p.apg) parts.push(`APG η ${p.apg.eta}`)
    if (differs((q) => q.apg?.momentum ?? 0) && p.apg?.momentum) parts.push(`β ${p.apg.momentum}`)
    return parts.join(' ')
  })
}
