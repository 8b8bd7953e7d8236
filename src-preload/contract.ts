/**
 * The one IPC contract: every request channel with its payload schema and response type, every event with
 * its payload. Main (Electron shell), preload, renderer and the browser host all import this file, so it
 * imports nothing from electron, Node or the engine: only zod, the channel names (channels.ts) and the
 * vocabulary the engine speaks too (src-shared/).
 *
 * Requests are validated once, where they enter (the shell that the IPC handlers and the WebSocket share:
 * parseRequest); the engine behind it trusts typed input. Errors cross as data (`Result`), never as
 * rejections: across IPC only an Error's message survives. Frames and samples cross as float32
 * ArrayBuffers (transferred, not copied into JSON arrays).
 */
import { z } from 'zod'

import type { StepStats } from '../src-shared/diagnostics'
import type { ErrorData } from '../src-shared/errors'
import { EXPORT_KINDS, type ExportRequest } from '../src-shared/exports'
import { type FitEvent, type FitResult, MAX_FIT_BATCH } from '../src-shared/fit'
import {
  MAX_BATCH,
  MAX_EXPORT_RUNS,
  MAX_EXPORT_SCALE,
  MAX_GIF_FRAMES,
  MAX_IMAGE_BYTES,
  MAX_STEPS_A_REQUEST,
  MAX_THUMBNAILS_A_REQUEST,
  MAX_TRAIN_STEPS,
  RANDOM_SEED,
} from '../src-shared/limits'
import {
  GIF_VIEWS,
  type OptionSpec,
  PROVIDER_CHOICES,
  type ProviderChoice,
  type ProviderName,
  PROVIDERS,
  SAMPLER_OPTIONS,
  SAMPLERS,
  type ScheduleName,
  SCHEDULES,
} from '../src-shared/names'
import type {
  GenerationParameters,
  GenerationRequest,
  SamplerSettings,
  ScheduleSettings,
  Shape,
} from '../src-shared/parameters'
import { type Channel, CHANNELS, type Command, type EngineChannel, type EventName, isChannel } from './channels'
import type {
  EncodedFiles,
  ModelCard,
  NoisePreview,
  RunFrames,
  RunGroup,
  RunList,
  SampleStarted,
  ScheduleTables,
  StepPixels,
  StepRecord,
  StepsRequest,
  Thumbnail,
} from './responses'

// The channel names, the answers, and the vocabulary's types this contract's messages are made of.
export * from './channels'
export type * from './responses'
export type {
  ErrorData,
  ExportRequest,
  GenerationParameters,
  ProviderChoice,
  SamplerSettings,
  ScheduleSettings,
  Shape,
  StepStats,
}

// zod probes for eval with new Function(); the renderer's Content-Security-Policy forbids eval, so the
// probe shows up as a CSP violation. Its interpreted mode needs no eval.
z.config({ jitless: true })

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorData }

/** Compile-time check that two name sets are equal (a channel added to one list and not the other fails). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const same = <A, B>(ok: Same<A, B>) => ok

const unitInterval = z.number().gt(0).lt(1)
const seed = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const runId = z.string().min(1)
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
}
export const modelLoadRequest = z.object({
  path: z.string().min(1).optional(),
  providers: z.array(z.enum(PROVIDERS)).min(1).optional(),
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
  classLabel: z.number().int().min(0).optional(),
  guidance: z.number().min(0).optional(),
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
  .pick({ schedule: true, seed: true, classLabel: true, guidance: true, height: true, width: true })
  .extend({
    sampler: samplerSettings,
    batch: z.number().int().min(1).max(MAX_FIT_BATCH),
  }) satisfies z.ZodType<FitRequest>

export type RunRequest = { runId: string }
const runRequest = z.object({ runId }) satisfies z.ZodType<RunRequest>

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
  sampler: samplerSettings,
  schedule: scheduleSettings,
  seed,
  height: z.number().int().min(1),
  width: z.number().int().min(1),
  classLabel: z.number().int().min(0).optional(),
  guidance: z.number().min(0).optional(),
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
    batch: z.number().int().min(1).max(MAX_BATCH),
    classLabel: z.number().int().min(0).nullable(),
    guidance: z.number().min(0),
  })
  .partial()
export type LastParameters = z.infer<typeof lastParameters>

export const MAX_RECENT_MODELS = 10

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
})
export type SettingsSetRequest = z.infer<typeof settingsSetRequest>

type Empty = Record<string, never>
const empty = z.object({}).strict() as z.ZodType<Empty>

/** Open Model... (a file) or Open Folder... (`folder`). */
export interface ModelOpenRequest {
  folder?: boolean
}

/** The engine's channels: each one's request and response. */
export interface EngineRequests {
  'model.load': { request: ModelLoadRequest; response: ModelCard }
  'sample.start': { request: SampleStartRequest; response: SampleStarted }
  'sample.cancel': { request: RunRequest; response: { cancelled: boolean } }
  'schedule.get': { request: ScheduleGetRequest; response: ScheduleTables }
  /** PNG / sheet / GIF bytes of a run the engine still holds, with suggested file names. */
  'export.encode': { request: ExportRequest; response: EncodedFiles }
  /** The Stepwise parameters inside a PNG ('bad-png' when it has none). */
  'png.read': { request: PngReadRequest; response: GenerationParametersData }
  'noise.preview': { request: NoisePreviewRequest; response: NoisePreview }
  /** Every run of the history, and what their frames take in memory and on disk. */
  'runs.list': { request: Empty; response: RunList }
  /** A run's steps (from memory or from disk), to reopen it: records only, images through runs.steps. */
  'runs.frames': { request: RunRequest; response: RunFrames }
  /** The images of some steps of a run (the timeline fetches the steps it shows). */
  'runs.steps': { request: StepsRequest; response: { steps: (StepPixels & { index: number; alphaBar: number })[] } }
  'runs.delete': { request: RunRequest; response: { deleted: boolean } }
  /** Thumbnails of finished runs (those that have none are left out). */
  'runs.thumbnails': { request: { runIds: string[] }; response: { thumbnails: Thumbnail[] } }
  /** The disk budget of the history's timelines: past it the oldest go now. */
  'runs.budget': { request: { diskBudgetBytes: number }; response: RunList }
  /**
   * Fit timesteps to the loaded model: answers when the search ends or is stopped (fit.cancel: the best
   * found by then), with 'fit' events meanwhile. One fit at a time.
   */
  'fit.timesteps': { request: FitRequest; response: FitResult & { elapsedMs: number } }
  /** Stop the fit under way: it answers with the best timesteps found so far (none before its reference ends). */
  'fit.cancel': { request: Empty; response: { cancelled: boolean } }
}

/** The shell's own channels (Electron main, browser host), using the engine where needed. */
export interface ShellRequests {
  /** Encode, then write where the user says (save dialog; the browser host's export folder). No paths = cancelled. */
  'export.save': { request: ExportRequest; response: { paths: string[] } }
  /**
   * Drag image `index` out of the window as its PNG (kind png; the file the OS drag carries, parameters
   * inside). Electron only: the browser host's page drags a download.
   */
  'image.drag': { request: ExportRequest; response: { started: boolean } }
  /**
   * The Open Model... dialog (Open Folder... with `folder`: a diffusers folder, where the platform's dialog
   * picks files or folders, not both), then model.load; null when the user cancelled (Electron only).
   */
  'model.open': { request: ModelOpenRequest; response: ModelCard | null }
  'settings.get': { request: Empty; response: SettingsAnswer }
  'settings.set': { request: SettingsSetRequest; response: Settings }
}

/** Each channel's request payload and response value. */
export interface Requests extends EngineRequests, ShellRequests {}
same<keyof EngineRequests, EngineChannel>(true)
same<keyof Requests, Channel>(true)
export type RequestOf<C extends Channel> = Requests[C]['request']
export type ResponseOf<C extends Channel> = Requests[C]['response']

export const requestSchemas: { [C in Channel]: z.ZodType<RequestOf<C>> } = {
  'model.load': modelLoadRequest,
  'sample.start': sampleStartRequest,
  'sample.cancel': runRequest,
  'schedule.get': scheduleGetRequest,
  'export.encode': exportRequest,
  'png.read': pngReadRequest,
  'noise.preview': noisePreviewRequest,
  'runs.list': empty,
  'runs.frames': runRequest,
  'runs.steps': z.object({
    runId,
    steps: z.array(z.number().int().min(0)).min(1).max(MAX_STEPS_A_REQUEST),
    image: z.number().int().min(0).optional(),
  }) satisfies z.ZodType<StepsRequest>,
  'runs.delete': runRequest,
  'runs.thumbnails': z.object({ runIds: z.array(runId).max(MAX_THUMBNAILS_A_REQUEST) }),
  'runs.budget': z.object({ diskBudgetBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }),
  'fit.timesteps': fitRequest,
  'fit.cancel': empty,
  'export.save': exportRequest,
  'image.drag': exportRequest,
  'model.open': z.object({ folder: z.boolean().optional() }).strict(),
  'settings.get': empty,
  'settings.set': settingsSetRequest,
}

// ---- events ----------------------------------------------------------------------------------

export interface Events {
  /** Steps finished of the run's steps, and model calls made of those it makes (a Heun step makes two). */
  progress: {
    runId: string
    step: number
    total: number
    calls?: number
    totalCalls?: number
    timestep: number
    elapsedMs: number
  }
  /**
   * One denoising step of a run: every step's record, and its images only when it is the newest step at
   * the end of LIVE_UPDATE_MS or the last step; runs.steps gives the others.
   */
  frame: StepRecord & { runId: string; total: number; pixels?: StepPixels }
  /** The final samples, float32 [batch, channels, height, width], nominally in [-1, 1]. */
  done: { runId: string; samples: ArrayBuffer; elapsedMs: number }
  failed: { runId: string; error: ErrorData }
  /** How the fit under way (fit.timesteps) gets on: the reference's model calls, then each better distance. */
  fit: FitEvent & { elapsedMs: number }
  /** A model the shell loaded on its own (menu, file association, second instance). */
  model: { card: ModelCard }
  /** A native menu item or shortcut the renderer carries out. */
  command: { name: Command }
}
same<keyof Events, EventName>(true)

// ---- checks ----------------------------------------------------------------------------------

export const badArgument = (message: string): { ok: false; error: ErrorData } => ({
  ok: false,
  error: { code: 'bad-argument', message },
})

/** A payload checked against its channel's schema: the parsed request, or 'bad-argument' naming the field. */
export function parseRequest<C extends Channel>(channel: C, payload: unknown): Result<RequestOf<C>>
export function parseRequest(channel: string, payload: unknown): Result<unknown>
export function parseRequest(channel: string, payload: unknown): Result<unknown> {
  if (!isChannel(channel)) return badArgument(`unknown channel "${String(channel)}" (one of ${CHANNELS.join(', ')})`)
  const parsed = requestSchemas[channel].safeParse(payload)
  if (parsed.success) return { ok: true, value: parsed.data }
  const issue = parsed.error.issues[0]
  const field = issue.path.length ? issue.path.join('.') : 'payload'
  return badArgument(`${channel}: ${field}: ${issue.message}`)
}

// ---- the object the renderer talks to ----------------------------------------------------------

/** A file dropped onto the window, with its path inside a dropped folder ('' for a top-level file). */
export interface DroppedFile {
  file: File
  relativePath: string
}

/**
 * `window.stepwise` in Electron (built by the preload), and the same object over a WebSocket in the
 * browser host. The renderer talks to nothing else.
 */
export interface StepwiseApi {
  readonly host: 'electron' | 'browser'
  invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>>
  /** Listen to one event; returns the unsubscribe. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
  /**
   * Paths the engine can open for top-level items dropped onto the window: their own paths in Electron
   * (webUtils.getPathForFile), copies uploaded to the host in the browser (`files` then lists every file,
   * folders walked, with relative paths).
   */
  stage(top: File[], files: DroppedFile[]): Promise<Result<string[]>>
}
