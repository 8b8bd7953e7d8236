/**
 * The sampling controls as state: what the sidebar edits, what Generate sends, what is persisted between
 * sessions and what a dropped Stepwise PNG restores. Defaults follow the loaded model's card.
 */
import type {
  GenerationParametersData,
  LastParameters,
  ModelCard,
  SampleStartRequest,
} from '../../../src-preload/contract'
import { MAX_BATCH, MAX_IMAGE_SIDE, MAX_TRAIN_STEPS, RANDOM_SEED, randomSeed } from '../../../src-shared/limits'
import {
  alwaysStochastic,
  APP_OPTIONS,
  COMPARE_OPTIONS,
  optionSpec,
  PREDICTION_TYPES,
  type PredictionType,
  SAMPLER_INFO,
  SAMPLER_OPTIONS,
  type SamplerName,
  type SamplerOptionName,
  type SamplerOptionValues,
  samplerReads,
  SAMPLERS,
  type ScheduleName,
  SCHEDULES,
  schedulesFor,
  SPACINGS,
  type TimestepSpacing,
  usesBetaRange,
} from '../../../src-shared/names'
import {
  configOf,
  DEFAULT_SAMPLER,
  DEFAULT_SCHEDULE,
  defaultRun,
  type SamplerConfig,
  samplerProblem,
  type Variation,
} from '../../../src-shared/parameters'
import { type AppOptions, appOptionsOf, optionValue, ownOptionsOf, settingsFor } from './app-options'

// The name lists are the vocabulary's (src-shared/names.ts), shared with the engine and the CLI.
export {
  alwaysStochastic,
  APP_OPTIONS,
  COMPARE_OPTIONS,
  MAX_BATCH,
  MAX_IMAGE_SIDE,
  optionSpec,
  PREDICTION_TYPES,
  RANDOM_SEED,
  randomSeed,
  SAMPLER_INFO,
  SAMPLER_OPTIONS,
  samplerReads,
  SAMPLERS,
  SCHEDULES,
  schedulesFor,
  SPACINGS,
}
export type { PredictionType, SamplerName, SamplerOptionName, SamplerOptionValues, ScheduleName, TimestepSpacing }
export { type AppOptions, optionValue, settingsFor }

/** The controls before a model's card arrives: the default run's sampler and steps (its options come with the card). */
const FIRST_RUN = defaultRun({})

/** Classifier-free guidance: the default model was tuned at 3 (resources/models/README.md). */
export const DEFAULT_GUIDANCE = 3
export const MAX_GUIDANCE = 15
/** APG momentum's bound either way in the app (the engine takes any in (-1, 1)). */
export const MAX_APG_MOMENTUM = 0.95
export const DEFAULT_BATCH = 4
/** "Variations of this image" starts here when the strength is off. */
export const DEFAULT_VARIATION_STRENGTH = 0.2

class Parameters {
  sampler = $state<SamplerName>(FIRST_RUN.sampler)
  steps = $state(FIRST_RUN.steps)
  eta = $state(DEFAULT_SAMPLER.eta)
  timestepSpacing = $state<TimestepSpacing>(FIRST_RUN.timestepSpacing ?? DEFAULT_SAMPLER.timestepSpacing)
  predictionType = $state<PredictionType>(FIRST_RUN.predictionType)
  clipSample = $state(DEFAULT_SAMPLER.clipSample)
  /** The other options the table gives controls (sigma schedule, solver...), as the user set them. */
  options = $state<AppOptions>({})
  schedule = $state<ScheduleName>(DEFAULT_SCHEDULE.schedule)
  trainSteps = $state(DEFAULT_SCHEDULE.trainSteps)
  betaStart = $state(DEFAULT_SCHEDULE.betaStart)
  betaEnd = $state(DEFAULT_SCHEDULE.betaEnd)
  /** The seed the next run uses (image k of the batch: seed + k); RANDOM_SEED (-1): a random one each run. */
  seed = $state(randomSeed())
  /**
   * Locked (the dice off): Generate uses the seed field as it is. Unlocked (the dice on, the default): each
   * Generate draws a new seed into the field first. Typing a seed locks it (typeSeed).
   */
  seedLocked = $state(false)
  /**
   * How far each image's noise moves toward its variation seed's (src-main/engine/seed-noise.ts), 0-1; 0: no
   * variation. With one, every image of the batch shares the seed and image k takes variation seed + k.
   */
  variationStrength = $state(0)
  /** The variation seed of the next run, drawn at each Generate unless locked, as the seed is. */
  variationSeed = $state(randomSeed())
  variationSeedLocked = $state(false)
  /** A walk: image k of N toward the variation seed itself by k / (N - 1) of the strength. */
  variationWalk = $state(false)
  batch = $state(DEFAULT_BATCH)
  /** A class index, or null for unconditional (the model's null class). */
  classLabel = $state<number | null>(null)
  guidance = $state(DEFAULT_GUIDANCE)
  /** diffusers' guidance_rescale, 0-1 (0: off): sent with a guided run only. */
  guidanceRescale = $state(0)
  /** APG's eta, 0-1 (1: plain guidance), and its norm threshold (0: none): sent with a guided run that projects. */
  apgEta = $state(1)
  apgNormThreshold = $state(0)
  /** APG's momentum (-0.95 to 0.95; 0: none, the paper's -0.5): sent with a guided run that projects. */
  apgMomentum = $state(0)
  /** The image size asked for where the model's graph leaves it open; null: the model's own. */
  height = $state<number | null>(null)
  width = $state<number | null>(null)

  /** Timesteps of the user's own for this sampler (empty: from the spacing); they set the steps. */
  get ownTimesteps(): readonly number[] {
    return samplerReads(this.sampler, 'timesteps')
      ? (optionValue(this.options, this.sampler, 'timesteps') as readonly number[])
      : []
  }

  /** What diffusers breaks on in these settings, warned of before Generate; undefined when nothing. */
  get problem(): string | undefined {
    return samplerProblem({ ...this.options, sampler: this.sampler, steps: this.steps }, this.schedule, this.trainSteps)
  }

  /**
   * One of the table's options set from its control. Timesteps of one's own also set the steps to their count
   * and the sigmas to those at them (diffusers refuses them with Karras & co.).
   */
  setOption<N extends (typeof APP_OPTIONS)[number]>(option: N, value: SamplerOptionValues[N]) {
    const own = option === 'timesteps' ? (value as readonly number[]) : []
    this.options = { ...this.options, [option]: value, ...(own.length > 0 && { sigmas: 'spacing' }) }
    if (own.length > 0) this.steps = own.length
  }

  /** A seed typed into the field: it is the one to use, so the dice stops drawing new ones. */
  typeSeed(seed: number) {
    this.seed = seed
    this.seedLocked = true
  }

  typeVariationSeed(seed: number) {
    this.variationSeed = seed
    this.variationSeedLocked = true
  }

  /** One image's noise (its PNG's parameters, a tile's): its seed and variation in the fields, locked. */
  useNoiseOf(p: { seed: number; variation?: Variation }) {
    this.typeSeed(p.seed)
    this.variationStrength = p.variation?.strength ?? 0
    this.variationWalk = p.variation?.walk ?? false
    if (p.variation) this.typeVariationSeed(p.variation.seed)
  }

  /** Sampler and schedule defaults of a newly loaded model; seed, batch and guidance stay. */
  adoptCard(card: ModelCard) {
    const d = card.samplerDefaults
    this.sampler = d.sampler
    this.steps = d.steps
    this.eta = d.eta ?? this.eta
    this.timestepSpacing = d.timestepSpacing ?? this.timestepSpacing
    this.predictionType = d.predictionType
    this.clipSample = d.clipSample ?? this.clipSample
    this.options = ownOptionsOf(d)
    const s = card.training.schedule
    this.schedule = s.schedule
    this.trainSteps = s.trainSteps
    this.betaStart = s.betaStart
    this.betaEnd = s.betaEnd
    this.classLabel = card.classes && card.classes.nullClassId === null ? 0 : null
    this.height = this.width = null
    // A model that says how it is meant to be guided (lucidrains' class-conditional: 6, 0.7, APG eta 0).
    const g = card.guidanceDefaults
    if (g)
      Object.assign(this, {
        guidance: g.scale,
        guidanceRescale: g.rescale,
        apgEta: g.apgEta,
        apgNormThreshold: 0,
        apgMomentum: 0,
      })
  }

  /**
   * A sampler the user picked: its spacing, eta and clipping as the model's training config states them, else
   * its own diffusers defaults, as the engine plans a sampler named without them (the CLI's `--sampler`). The
   * steps and the table's options (Karras sigmas...) stay as the user set them.
   */
  pickSampler(sampler: SamplerName, card: ModelCard | null) {
    this.sampler = sampler
    const c: Partial<SamplerConfig> = configOf(sampler, card?.samplerOptions ?? {})
    if (c.timestepSpacing !== undefined) this.timestepSpacing = c.timestepSpacing
    if (c.eta !== undefined) this.eta = c.eta
    if (c.clipSample !== undefined) this.clipSample = c.clipSample
  }

  /** The controls as they were left last session (over the current model's defaults). */
  restore(p: LastParameters, card: ModelCard | null) {
    this.#applySampler(p.sampler ?? {})
    this.#applySchedule(p.schedule ?? {}, card)
    if (p.seed !== undefined) this.seed = p.seed
    if (p.seedLocked !== undefined) this.seedLocked = p.seedLocked
    if (p.variationSeed !== undefined) this.variationSeed = p.variationSeed
    if (p.variationSeedLocked !== undefined) this.variationSeedLocked = p.variationSeedLocked
    if (p.variationStrength !== undefined) this.variationStrength = p.variationStrength
    if (p.variationWalk !== undefined) this.variationWalk = p.variationWalk
    if (p.batch !== undefined) this.batch = p.batch
    if (p.guidance !== undefined) this.guidance = Math.min(p.guidance, MAX_GUIDANCE)
    if (p.guidanceRescale !== undefined) this.guidanceRescale = p.guidanceRescale
    if (p.apgEta !== undefined) this.apgEta = p.apgEta
    if (p.apgNormThreshold !== undefined) this.apgNormThreshold = p.apgNormThreshold
    if (p.apgMomentum !== undefined) this.apgMomentum = p.apgMomentum
    if (p.classLabel !== undefined) this.classLabel = validClass(p.classLabel, card) ? p.classLabel : this.classLabel
  }

  /** A Stepwise PNG's parameters: the seed is locked so the next Generate reproduces the image. */
  applyPng(p: GenerationParametersData, card: ModelCard | null) {
    this.#applySampler(p.sampler)
    this.#applySchedule(p.schedule, card)
    this.useNoiseOf(p)
    if (p.batch !== undefined) this.batch = Math.min(p.batch, MAX_BATCH)
    if (p.guidance !== undefined) this.guidance = p.guidance
    this.guidanceRescale = p.guidanceRescale ?? 0
    this.apgEta = p.apg?.eta ?? 1
    this.apgNormThreshold = p.apg?.normThreshold ?? 0
    this.apgMomentum = p.apg?.momentum ?? 0
    const nullId = card?.classes?.nullClassId ?? null
    const label = p.classLabel === undefined || p.classLabel === nullId ? null : p.classLabel
    if (validClass(label, card)) this.classLabel = label
    // The size it was made at, where this model can take another (a size it cannot take stays: normalize).
    if (card && card.sizeFrom !== 'graph') {
      this.height = p.height === card.height ? null : p.height
      this.width = p.width === card.width ? null : p.width
    }
  }

  #applySampler(s: LastParameters['sampler'] & object) {
    if (s.sampler) this.sampler = s.sampler
    if (s.steps !== undefined) this.steps = s.steps
    if (s.eta !== undefined) this.eta = s.eta
    if (s.timestepSpacing) this.timestepSpacing = s.timestepSpacing
    if (s.predictionType) this.predictionType = s.predictionType
    if (s.clipSample !== undefined) this.clipSample = s.clipSample
    this.options = { ...this.options, ...appOptionsOf(s) }
  }

  /** A schedule over the model's: `custom` (a model's own numbers, with their T) only onto a model that has one. */
  #applySchedule(s: LastParameters['schedule'] & object, card: ModelCard | null) {
    const trained = card?.training.schedule
    if (s.schedule && schedulesFor(trained?.schedule).includes(s.schedule)) this.schedule = s.schedule
    if (s.trainSteps !== undefined) this.trainSteps = s.trainSteps
    if (this.schedule === 'custom' && trained) this.trainSteps = trained.trainSteps
    if (s.betaStart !== undefined) this.betaStart = s.betaStart
    if (s.betaEnd !== undefined) this.betaEnd = s.betaEnd
  }

  /** What settings.set keeps (plain data: no proxies cross IPC). */
  persisted(): LastParameters {
    return $state.snapshot({
      sampler: {
        sampler: this.sampler,
        steps: this.steps,
        eta: this.eta,
        timestepSpacing: this.timestepSpacing,
        predictionType: this.predictionType,
        clipSample: this.clipSample,
        ...this.options,
      },
      schedule: {
        schedule: this.schedule,
        trainSteps: this.trainSteps,
        betaStart: this.betaStart,
        betaEnd: this.betaEnd,
      },
      seed: this.seed,
      seedLocked: this.seedLocked,
      variationSeed: this.variationSeed,
      variationSeedLocked: this.variationSeedLocked,
      variationStrength: this.variationStrength,
      variationWalk: this.variationWalk,
      batch: this.batch,
      classLabel: this.classLabel,
      guidance: this.guidance,
      guidanceRescale: this.guidanceRescale,
      apgEta: this.apgEta,
      apgNormThreshold: this.apgNormThreshold,
      apgMomentum: this.apgMomentum,
    })
  }

  /** Fields a user emptied or pushed out of range (number inputs give null for empty) back into range. */
  normalize(card: ModelCard) {
    const d = card.samplerDefaults
    this.trainSteps = int(this.trainSteps, 1, MAX_TRAIN_STEPS, card.training.schedule.trainSteps)
    this.steps = int(this.steps, 1, this.trainSteps, d.steps)
    this.eta = num(this.eta, 0, 1, d.eta ?? 0)
    this.seed = int(this.seed, RANDOM_SEED, Number.MAX_SAFE_INTEGER, randomSeed())
    this.variationSeed = int(this.variationSeed, RANDOM_SEED, Number.MAX_SAFE_INTEGER, randomSeed())
    this.variationStrength = num(this.variationStrength, 0, 1, 0)
    this.batch = int(this.batch, 1, MAX_BATCH, DEFAULT_BATCH)
    this.guidance = num(this.guidance, 0, MAX_GUIDANCE, DEFAULT_GUIDANCE)
    this.guidanceRescale = num(this.guidanceRescale, 0, 1, 0)
    this.apgEta = num(this.apgEta, 0, 1, 1)
    this.apgNormThreshold = num(this.apgNormThreshold, 0, Number.MAX_VALUE, 0)
    this.apgMomentum = num(this.apgMomentum, -MAX_APG_MOMENTUM, MAX_APG_MOMENTUM, 0)
    this.betaStart = num(this.betaStart, 1e-9, 0.999, card.training.schedule.betaStart)
    this.betaEnd = num(this.betaEnd, 1e-9, 0.999, card.training.schedule.betaEnd)
    this.height = sizeWithin(this.height, card)
    this.width = sizeWithin(this.width, card)
  }

  /**
   * The sample.start request for this model; an unlocked seed is redrawn first (Generate), unless
   * `redraw` is false (a fork, a comparison, a grid or "Denoise from here" keep the seed shown). A seed of
   * RANDOM_SEED gives the run a random one and stays in the field.
   */
  request(card: ModelCard, { redraw = true }: { redraw?: boolean } = {}): SampleStartRequest {
    this.normalize(card)
    if (redraw && !this.seedLocked) this.seed = randomSeed()
    const varied = this.variationStrength > 0
    if (redraw && varied && !this.variationSeedLocked) this.variationSeed = randomSeed()
    const p = this.persisted()
    const classes = card.classes
    const own = this.ownTimesteps
    const req: SampleStartRequest = {
      sampler: settingsFor({ ...p.sampler, sampler: this.sampler, ...(own.length > 0 && { steps: own.length }) }),
      schedule: p.schedule,
      seed: this.seed === RANDOM_SEED ? randomSeed() : this.seed,
      batch: this.batch,
    }
    if (varied) {
      const seed = this.variationSeed === RANDOM_SEED ? randomSeed() : this.variationSeed
      req.variation = { seed, strength: this.variationStrength, ...(this.variationWalk && { walk: true }) }
    }
    if (this.height !== null) req.height = this.height
    if (this.width !== null) req.width = this.width
    if (classes) {
      req.classLabel = this.classLabel ?? classes.nullClassId ?? 0
      if (this.classLabel !== null && classes.nullClassId !== null) {
        req.guidance = this.guidance
        if (this.guidanceRescale > 0) req.guidanceRescale = this.guidanceRescale
        if (this.apgEta < 1 || this.apgNormThreshold > 0 || this.apgMomentum !== 0)
          req.apg = {
            eta: this.apgEta,
            normThreshold: this.apgNormThreshold,
            ...(this.apgMomentum !== 0 && { momentum: this.apgMomentum }),
          }
      }
    }
    return req
  }
}

const num = (v: number, lo: number, hi: number, fallback: number) =>
  Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback
const int = (v: number, lo: number, hi: number, fallback: number) => Math.round(num(v, lo, hi, fallback))

/**
 * A side asked for, as the model can take it: null (its own) where the graph fixes the size or the field is
 * empty, else the nearest multiple of what the graph halves by, within MAX_IMAGE_SIDE.
 */
function sizeWithin(side: number | null, card: ModelCard): number | null {
  if (side === null || card.sizeFrom === 'graph' || !Number.isFinite(side)) return null
  const m = card.sizeMultiple ?? 1
  return Math.min(Math.floor(MAX_IMAGE_SIDE / m), Math.max(1, Math.round(side / m))) * m
}

const validClass = (label: number | null, card: ModelCard | null) =>
  label === null
    ? card?.classes?.nullClassId !== null
    : !card?.classes || (Number.isInteger(label) && label >= 0 && label < card.classes.names.length)

/** Where the schedule asked for differs from the one the model was trained with (a visible warning). */
export function scheduleDiffers(p: Parameters, card: ModelCard | null): string | null {
  if (!card) return null
  const t = card.training.schedule
  if (p.schedule !== t.schedule)
    return `Sampling with the ${p.schedule} schedule; this model was trained with ${t.schedule}.`
  const betas = usesBetaRange(p.schedule)
  if (p.trainSteps !== t.trainSteps || (betas && (p.betaStart !== t.betaStart || p.betaEnd !== t.betaEnd))) {
    return `Schedule settings differ from training (T=${t.trainSteps}${betas ? `, β ${t.betaStart}…${t.betaEnd}` : ''}).`
  }
  return null
}

export const parameters = new Parameters()
export type { Parameters }
