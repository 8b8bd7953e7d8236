/**
 * The sampling controls as state: what the sidebar edits, what Generate sends, what is persisted between
 * sessions and what a dropped Stepwise PNG restores. Defaults follow the loaded model's card.
 */
import {
  type GenerationParametersData,
  type LastParameters,
  MAX_BATCH,
  type ModelCard,
  samplerSettings,
  type SampleStartRequest,
  scheduleSettings,
} from '../../../src-preload/contract'

// Option lists come from the contract's schemas, the renderer's one source for the engine's names.
export const SAMPLERS = samplerSettings.shape.sampler.unwrap().options
export const SPACINGS = samplerSettings.shape.timestepSpacing.unwrap().options
export const PREDICTION_TYPES = samplerSettings.shape.predictionType.unwrap().options
export const SCHEDULES = scheduleSettings.shape.schedule.unwrap().options
export type SamplerName = (typeof SAMPLERS)[number]
export type SpacingName = (typeof SPACINGS)[number]
export type PredictionTypeName = (typeof PREDICTION_TYPES)[number]
export type ScheduleName = (typeof SCHEDULES)[number]

export { MAX_BATCH }
/** Classifier-free guidance: the default model was tuned at 3 (resources/models/README.md). */
export const DEFAULT_GUIDANCE = 3
export const MAX_GUIDANCE = 15
export const DEFAULT_BATCH = 4
/** Seeds stay below 2^32 so they read well and match other tools' habits. */
export const randomSeed = () => Math.floor(Math.random() * 2 ** 32)

class Parameters {
  sampler = $state<SamplerName>('ddim')
  steps = $state(50)
  eta = $state(0)
  timestepSpacing = $state<SpacingName>('leading')
  predictionType = $state<PredictionTypeName>('epsilon')
  clipSample = $state(false)
  schedule = $state<ScheduleName>('linear')
  trainSteps = $state(1000)
  betaStart = $state(0.0001)
  betaEnd = $state(0.02)
  seed = $state(randomSeed())
  /** Locked: Generate keeps the seed. Unlocked (the default): each Generate draws a new one first. */
  seedLocked = $state(false)
  batch = $state(DEFAULT_BATCH)
  /** A class index, or null for unconditional (the model's null class). */
  classLabel = $state<number | null>(null)
  guidance = $state(DEFAULT_GUIDANCE)

  /** Sampler and schedule defaults of a newly loaded model; seed, batch and guidance stay. */
  adoptCard(card: ModelCard) {
    const d = card.samplerDefaults
    this.sampler = d.sampler
    this.steps = d.steps
    this.eta = d.eta
    this.timestepSpacing = d.timestepSpacing
    this.predictionType = d.predictionType
    this.clipSample = d.clipSample
    const s = card.training.schedule
    this.schedule = s.schedule
    this.trainSteps = s.trainSteps
    this.betaStart = s.betaStart
    this.betaEnd = s.betaEnd
    this.classLabel = card.classes && card.classes.nullClassId === null ? 0 : null
  }

  /** The controls as they were left last session (over the current model's defaults). */
  restore(p: LastParameters, card: ModelCard | null) {
    this.#applySampler(p.sampler ?? {})
    this.#applySchedule(p.schedule ?? {})
    if (p.seed !== undefined) this.seed = p.seed
    if (p.seedLocked !== undefined) this.seedLocked = p.seedLocked
    if (p.batch !== undefined) this.batch = p.batch
    if (p.guidance !== undefined) this.guidance = Math.min(p.guidance, MAX_GUIDANCE)
    if (p.classLabel !== undefined) this.classLabel = validClass(p.classLabel, card) ? p.classLabel : this.classLabel
  }

  /** A Stepwise PNG's parameters: the seed is locked so the next Generate reproduces the image. */
  applyPng(p: GenerationParametersData, card: ModelCard | null) {
    this.#applySampler(p.sampler)
    this.#applySchedule(p.schedule)
    this.seed = p.seed
    this.seedLocked = true
    if (p.batch !== undefined) this.batch = Math.min(p.batch, MAX_BATCH)
    if (p.guidance !== undefined) this.guidance = p.guidance
    const nullId = card?.classes?.nullClassId ?? null
    const label = p.classLabel === undefined || p.classLabel === nullId ? null : p.classLabel
    if (validClass(label, card)) this.classLabel = label
  }

  #applySampler(s: LastParameters['sampler'] & object) {
    if (s.sampler) this.sampler = s.sampler
    if (s.steps !== undefined) this.steps = s.steps
    if (s.eta !== undefined) this.eta = s.eta
    if (s.timestepSpacing) this.timestepSpacing = s.timestepSpacing
    if (s.predictionType) this.predictionType = s.predictionType
    if (s.clipSample !== undefined) this.clipSample = s.clipSample
  }

  #applySchedule(s: LastParameters['schedule'] & object) {
    if (s.schedule) this.schedule = s.schedule
    if (s.trainSteps !== undefined) this.trainSteps = s.trainSteps
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
      },
      schedule: {
        schedule: this.schedule,
        trainSteps: this.trainSteps,
        betaStart: this.betaStart,
        betaEnd: this.betaEnd,
      },
      seed: this.seed,
      seedLocked: this.seedLocked,
      batch: this.batch,
      classLabel: this.classLabel,
      guidance: this.guidance,
    })
  }

  /** Fields a user emptied or pushed out of range (number inputs give null for empty) back into range. */
  normalize(card: ModelCard) {
    const d = card.samplerDefaults
    this.trainSteps = int(this.trainSteps, 1, 100_000, card.training.schedule.trainSteps)
    this.steps = int(this.steps, 1, this.trainSteps, d.steps)
    this.eta = num(this.eta, 0, 1, d.eta)
    this.seed = int(this.seed, 0, Number.MAX_SAFE_INTEGER, randomSeed())
    this.batch = int(this.batch, 1, MAX_BATCH, DEFAULT_BATCH)
    this.guidance = num(this.guidance, 0, MAX_GUIDANCE, DEFAULT_GUIDANCE)
    this.betaStart = num(this.betaStart, 1e-9, 0.999, card.training.schedule.betaStart)
    this.betaEnd = num(this.betaEnd, 1e-9, 0.999, card.training.schedule.betaEnd)
  }

  /**
   * The sample.start request for this model; an unlocked seed is redrawn first (Generate), unless
   * `redraw` is false (a fork, a comparison or a grid keeps the seed shown).
   */
  request(card: ModelCard, { redraw = true }: { redraw?: boolean } = {}): SampleStartRequest {
    this.normalize(card)
    if (redraw && !this.seedLocked) this.seed = randomSeed()
    const p = this.persisted()
    const classes = card.classes
    // eta means something to DDIM only.
    const { eta: _eta, ...notDdim } = p.sampler ?? {}
    const req: SampleStartRequest = {
      sampler: this.sampler === 'ddim' ? (p.sampler ?? {}) : notDdim,
      schedule: p.schedule,
      seed: this.seed,
      batch: this.batch,
    }
    if (classes) {
      req.classLabel = this.classLabel ?? classes.nullClassId ?? 0
      if (this.classLabel !== null && classes.nullClassId !== null) req.guidance = this.guidance
    }
    return req
  }
}

const num = (v: number, lo: number, hi: number, fallback: number) =>
  Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : fallback
const int = (v: number, lo: number, hi: number, fallback: number) => Math.round(num(v, lo, hi, fallback))

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
  if (p.trainSteps !== t.trainSteps || p.betaStart !== t.betaStart || p.betaEnd !== t.betaEnd) {
    return `Schedule settings differ from training (T=${t.trainSteps}, β ${t.betaStart}…${t.betaEnd}).`
  }
  return null
}

export const parameters = new Parameters()
export type { Parameters }
