/**
 * The contract's request payloads (contract.ts ties them to their channels): each one's type and the zod
 * schema that checks it where it enters, and the settings the shell keeps. Imports nothing from electron,
 * Node or the engine: only zod and the vocabulary the engine speaks too (src-shared/).
 */
import { z } from 'zod'

import { EXPORT_KINDS, type ExportRequest } from '../src-shared/exports'
import { MAX_FIT_BATCH } from '../src-shared/fit'
import {
  DEFAULT_GIF_DELAY_MS,
  DEFAULT_GIF_FRAMES,
  DEFAULT_SHEET_COLUMNS,
  MAX_BATCH,
  MAX_EXPORT_RUNS,
  MAX_EXPORT_SCALE,
  MAX_GIF_FRAMES,
  MAX_IMAGE_BYTES,
  MAX_SHEET_COLUMNS,
  MAX_TRAIN_STEPS,
  RANDOM_SEED,
} from '../src-shared/limits'
import { CHECKPOINT_WEIGHTS, type CheckpointWeights, MODEL_HASH_LENGTH } from '../src-shared/model'
import {
  GIF_VIEWS,
  type OptionSpec,
  PROVIDER_CHOICES,
  type ProviderName,
  PROVIDERS,
  SAMPLER_OPTIONS,
  SAMPLERS,
  type ScheduleName,
  SCHEDULES,
} from '../src-shared/names'
import type { GenerationRequest, SamplerSettings, ScheduleSettings } from '../src-shared/parameters'
import type { RunGroup } from './responses'

// zod probes for eval with new Function(); the renderer's Content-Security-Policy forbids eval, so the
// probe shows up as a CSP violation. Its interpreted mode needs no eval.
z.config({ jitless: true })

const unitInterval = z.number().gt(0).lt(1)
const seed = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const variation = z.object({ seed, strength: z.number().min(0).max(1), walk: z.boolean().optional() })
const apg = z.object({
  eta: z.number().min(0).max(1),
  normThreshold: z.number().min(0).finite(),
  momentum: z.number().gt(-1).lt(1).optional(),
})
export const runId = z.string().min(1)
/** An image file's bytes (the page refuses larger files before sending them). */
const imageBytes = z
  .instanceof(ArrayBuffer)
  .refine((b) => b.byteLength <= MAX_IMAGE_BYTES, `larger than ${MAX_IMAGE_BYTES / 1024 ** 2} MiB`)

// ---- request payloads ------------------------------------------------------------------------

export interface ModelLoadRequest {
  /** An .onnx file or a diffusers-style folder; the bundled default model when absent. */
  path?: string
  /** Execution providers to try in order; the platform's default order when absent. */
  providers?: ProviderName[]
  /** A checkpoint that holds two sets: which to sample with (the EMA's when absent). */
  weights?: CheckpointWeights
}
export const modelLoadRequest = z.object({
  path: z.string().min(1).optional(),
  providers: z.array(z.enum(PROVIDERS)).min(1).optional(),
  weights: z.enum(CHECKPOINT_WEIGHTS).optional(),
}) satisfies z.ZodType<ModelLoadRequest>

/** The schema of one sampler option, from its spec in the table (SAMPLER_OPTIONS). */
function optionSchema(spec: OptionSpec): z.ZodType {
  if (spec.kind === 'boolean') return z.boolean()
  if (spec.kind === 'choice') return z.enum(spec.values as [string, ...string[]])
  if (spec.kind === 'timesteps') return z.array(z.number().int().min(0).max(spec.max)).max(spec.max + 1)
  const n = z.number().min(spec.min).max(spec.max)
  return spec.kind === 'integer' ? n.int() : n
}

/** Sampler settings over the model's training defaults; every field optional, one for each option of the table. */
export const samplerSettings = z
  .object({
    sampler: z.enum(SAMPLERS),
    steps: z.number().int().min(1),
    ...Object.fromEntries(Object.entries(SAMPLER_OPTIONS).map(([name, spec]) => [name, optionSchema(spec)])),
  })
  .partial() as unknown as z.ZodType<SamplerSettings>

/** Schedule settings over the model's training schedule; every field optional. */
export const scheduleSettings = z
  .object({
    schedule: z.enum(SCHEDULES),
    trainSteps: z.number().int().min(1).max(MAX_TRAIN_STEPS),
    betaStart: unitInterval,
    betaEnd: unitInterval,
  })
  .partial() satisfies z.ZodType<ScheduleSettings>

export interface SampleStartRequest extends GenerationRequest {
  /**
   * Fork: continue a run the engine holds from its step `step` (x_t entering that step), with these
   * settings. Seed, batch, size and class come from the parent; the fork's timeline shares the parent's
   * first `step` steps and its noise, so a fork with the parent's own settings reproduces it.
   */
  fork?: { runId: string; step: number }
  /**
   * Denoise from an image (SDEdit): the image (float32 [channels, height, width] in [-1, 1], e.g. from
   * noise.preview) noised with the run's seed to `timestep`, then sampled from there; every image of the
   * batch starts from it.
   */
  fromImage?: { image: ArrayBuffer; timestep: number }
  /** Started together with other runs that the history shows as one entry. */
  group?: RunGroup
}
export const sampleStartRequest = z.object({
  sampler: samplerSettings.optional(),
  schedule: scheduleSettings.optional(),
  seed,
  batch: z.number().int().min(1).max(MAX_BATCH),
  variation: variation.optional(),
  classLabel: z.number().int().min(0).optional(),
  guidance: z.number().min(0).optional(),
  guidanceRescale: z.number().min(0).max(1).optional(),
  apg: apg.optional(),
  height: z.number().int().min(1).optional(),
  width: z.number().int().min(1).optional(),
  fork: z.object({ runId, step: z.number().int().min(0) }).optional(),
  fromImage: z.object({ image: z.instanceof(ArrayBuffer), timestep: z.number().int().min(0) }).optional(),
  group: z.object({ id: z.string().min(1).max(64), kind: z.enum(['grid', 'compare']) }).optional(),
}) satisfies z.ZodType<SampleStartRequest>

/**
 * Fit the timesteps of a deterministic sampler that takes them, at its steps, to the loaded model: on a probe
 * batch (seed, batch, class, guidance), from its own timesteps or those it is given (engine/fit-timesteps.ts).
 */
export interface FitRequest extends GenerationRequest {
  sampler: SamplerSettings
}
export const fitRequest = sampleStartRequest
  .pick({
    schedule: true,
    seed: true,
    classLabel: true,
    guidance: true,
    guidanceRescale: true,
    apg: true,
    height: true,
    width: true,
  })
  .extend({
    sampler: samplerSettings,
    batch: z.number().int().min(1).max(MAX_FIT_BATCH),
  }) satisfies z.ZodType<FitRequest>

export type RunRequest = { runId: string }
export const runRequest = z.object({ runId }) satisfies z.ZodType<RunRequest>

export type ScheduleGetRequest = Required<ScheduleSettings>
export const scheduleGetRequest = scheduleSettings.required() satisfies z.ZodType<ScheduleGetRequest>

export const exportRequest = z.object({
  runId,
  kind: z.enum(EXPORT_KINDS),
  index: z.number().int().min(0).optional(),
  with: z
    .array(runId)
    .max(MAX_EXPORT_RUNS - 1)
    .optional(),
  rowLabels: z.array(z.string().max(40)).optional(),
  gifOf: z.enum(GIF_VIEWS).optional(),
  gifFrames: z.number().int().min(2).max(MAX_GIF_FRAMES).optional(),
  gifEvery: z.number().int().min(1).optional(),
  gifDelayMs: z.number().int().min(10).max(10_000).optional(),
  scale: z.number().int().min(1).max(MAX_EXPORT_SCALE).optional(),
}) satisfies z.ZodType<ExportRequest>

/** Forward noising of an image under several schedules (q(x_t | x_0), one shared noise). */
export interface NoisePreviewRequest {
  /** A PNG or JPEG file's bytes: converted to the loaded model's channels and size. */
  image: { name: string; bytes: ArrayBuffer }
  timesteps: number[]
  /** Default: linear, cosine, quadratic, sigmoid with the model's T and beta range. */
  schedules?: ScheduleName[]
  seed: number
}
export const noisePreviewRequest = z.object({
  image: z.object({ name: z.string().min(1), bytes: imageBytes }),
  timesteps: z.array(z.number().int().min(0)).min(1).max(256),
  schedules: z.array(z.enum(SCHEDULES)).min(1).optional(),
  seed,
}) satisfies z.ZodType<NoisePreviewRequest>

/** A PNG dropped onto the window: are there Stepwise parameters inside? */
export interface PngReadRequest {
  name: string
  bytes: ArrayBuffer
}
export const pngReadRequest = z.object({
  name: z.string().min(1),
  bytes: imageBytes,
}) satisfies z.ZodType<PngReadRequest>

/** The parameters Stepwise embeds in a PNG (its `stepwise` text chunk), as far as the UI restores them. */
export const generationParameters = z.object({
  model: z.string(),
  modelHash: z
    .string()
    .regex(new RegExp(`^[0-9a-f]{${MODEL_HASH_LENGTH}}$`))
    .optional(),
  sampler: samplerSettings,
  schedule: scheduleSettings,
  seed,
  variation: variation.optional(),
  height: z.number().int().min(1),
  width: z.number().int().min(1),
  classLabel: z.number().int().min(0).optional(),
  guidance: z.number().min(0).optional(),
  guidanceRescale: z.number().min(0).max(1).optional(),
  apg: apg.optional(),
  batch: z.number().int().min(1).optional(),
})
export type GenerationParametersData = z.infer<typeof generationParameters>

/** The controls as the user left them: restored at start. */
export const lastParameters = z
  .object({
    sampler: samplerSettings,
    schedule: scheduleSettings,
    // RANDOM_SEED (-1) too: the field as the user left it.
    seed: z.number().int().min(RANDOM_SEED).max(Number.MAX_SAFE_INTEGER),
    seedLocked: z.boolean(),
    variationSeed: z.number().int().min(RANDOM_SEED).max(Number.MAX_SAFE_INTEGER),
    variationSeedLocked: z.boolean(),
    variationStrength: z.number().min(0).max(1),
    variationWalk: z.boolean(),
    batch: z.number().int().min(1).max(MAX_BATCH),
    classLabel: z.number().int().min(0).nullable(),
    guidance: z.number().min(0),
    guidanceRescale: z.number().min(0).max(1),
    apgEta: z.number().min(0).max(1),
    apgNormThreshold: z.number().min(0).finite(),
    apgMomentum: z.number().gt(-1).lt(1),
  })
  .partial()
export type LastParameters = z.infer<typeof lastParameters>

export const MAX_RECENT_MODELS = 10

/**
 * Timesteps fitted in the app (fit.timesteps), kept for the model they were fitted on: the app offers them
 * again when that model runs the same sampler at as many steps. Newest first, one per model, sampler and
 * step count.
 */
export const keptFit = z.object({
  /** The model's path, as its card gives it. */
  model: z.string().min(1),
  /** Its hash, where it has one: the fit is offered for these weights wherever they lie (or were uploaded). */
  modelHash: z.string().min(1).optional(),
  sampler: z.enum(SAMPLERS),
  timesteps: z.array(z.number().int().min(0)).min(1).max(MAX_TRAIN_STEPS),
  /** RMS to the ODE's solution on the probe, fitted and from where the search started. */
  distance: z.number().min(0),
  startDistance: z.number().min(0),
  /** Probe images. */
  probe: z.number().int().min(1),
  /** When (ISO 8601). */
  savedAt: z.string().min(1),
})
export type KeptFit = z.infer<typeof keptFit>
export const MAX_KEPT_FITS = 50
const keptFits = z.array(keptFit).max(MAX_KEPT_FITS)

/** The export bar's options as last used: its scale (null: auto) and the GIF and steps sheet options. */
const exportOptions = z.object({
  scale: z.number().int().min(1).max(MAX_EXPORT_SCALE).nullable().default(null),
  gifOf: z.enum(GIF_VIEWS).default('x0'),
  gifFrames: z.number().int().min(2).max(MAX_GIF_FRAMES).default(DEFAULT_GIF_FRAMES),
  gifDelayMs: z.number().int().min(10).max(10_000).default(DEFAULT_GIF_DELAY_MS),
  sheetColumns: z.number().int().min(2).max(MAX_SHEET_COLUMNS).default(DEFAULT_SHEET_COLUMNS),
})
export type ExportOptions = z.infer<typeof exportOptions>

/**
 * Settings kept between sessions (electron-store in the app, a JSON file for the browser host). A value
 * that breaks this schema is reset to its default on its own (src-main/settings.ts repairs the file field
 * by field), so one bad field never costs the rest.
 */
export const settingsSchema = z.object({
  parameters: lastParameters.default({}),
  recentModels: z.array(z.string().min(1)).max(MAX_RECENT_MODELS).default([]),
  /** 'auto' tries the platform's order (cuda/dml/coreml, webgpu, cpu); otherwise this one first, cpu after. */
  provider: z.enum(PROVIDER_CHOICES).default('auto'),
  /** A system notification when a run longer than LONG_RUN_MS ends. */
  notifyLongRuns: z.boolean().default(false),
  fits: keptFits.default([]),
  export: exportOptions.default(exportOptions.parse({})),
  windowBounds: z
    .object({
      x: z.number().int(),
      y: z.number().int(),
      width: z.number().int().min(200),
      height: z.number().int().min(200),
      maximized: z.boolean(),
    })
    .optional(),
})
export type Settings = z.infer<typeof settingsSchema>
export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({})

/** settings.get's answer: the settings and, the first time only, what was wrong with the file at start. */
export interface SettingsAnswer extends Settings {
  /** For the user: what was reset and where the original file was kept. */
  problem?: string
}

/** What the renderer may change (recent models and window bounds are the shell's to keep). */
export const settingsSetRequest = z.object({
  parameters: lastParameters.optional(),
  provider: z.enum(PROVIDER_CHOICES).optional(),
  notifyLongRuns: z.boolean().optional(),
  fits: keptFits.optional(),
  export: exportOptions.optional(),
})
export type SettingsSetRequest = z.infer<typeof settingsSetRequest>

export type Empty = Record<string, never>
export const empty = z.object({}).strict() as z.ZodType<Empty>

/** Open Model... (a file) or Open Folder... (`folder`). */
export interface ModelOpenRequest {
  folder?: boolean
}
