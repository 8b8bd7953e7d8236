/**
 * The one IPC contract: every request channel with its payload schema and response type, every event
 * with its payload. Main (Electron shell), preload, renderer and the browser host all import this file,
 * so it imports nothing from electron or Node, and from the engine only types and one pure rule (the
 * diagnostics warnings, so the timeline and the engine flag the same steps).
 *
 * Errors cross as data (`Result`), never as rejections: across IPC only an Error's message survives.
 * Frames and samples cross as float32 ArrayBuffers (transferred, not copied into JSON arrays).
 */
import { z } from 'zod'

import type { StepStats } from '../src-main/engine/diagnostics'
import type { ErrorData } from '../src-main/engine/errors'
import type { MetadataKey, MetadataSource } from '../src-main/engine/model/metadata'
import type { ProviderName, ProviderNote } from '../src-main/engine/model/providers'
import type { GenerationParameters } from '../src-main/engine/parameters'
import type { PredictionType, SamplerConfig, SamplerName, TimestepSpacing } from '../src-main/engine/samplers/config'
import type { ScheduleConfig, ScheduleName } from '../src-main/engine/schedule'

export type { ErrorData, GenerationParameters, StepStats }
export { FAR_OUT_RANGES, OUT_OF_RANGE_FRACTION, type StatsWarning, statsWarnings } from '../src-main/engine/diagnostics'

// zod probes for eval with new Function(); the renderer's Content-Security-Policy forbids eval, so the
// probe shows up as a CSP violation. Its interpreted mode needs no eval.
z.config({ jitless: true })

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorData }

// The engine's name lists, repeated here as values (the contract imports engine types only);
// the checks below fail to compile when the two drift apart.
const SAMPLERS = ['ddim', 'ddpm'] as const
const SPACINGS = ['leading', 'trailing', 'linspace'] as const
const PREDICTION_TYPES = ['epsilon', 'sample', 'v_prediction'] as const
const SCHEDULES = ['linear', 'scaled_linear', 'cosine', 'quadratic', 'sigmoid'] as const
const PROVIDERS = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const same = <A, B>(ok: Same<A, B>) => ok
same<(typeof SAMPLERS)[number], SamplerName>(true)
same<(typeof SPACINGS)[number], TimestepSpacing>(true)
same<(typeof PREDICTION_TYPES)[number], PredictionType>(true)
same<(typeof SCHEDULES)[number], ScheduleName>(true)
same<(typeof PROVIDERS)[number], ProviderName>(true)

/** Largest batch one run may ask for. */
export const MAX_BATCH = 64

const unitInterval = z.number().gt(0).lt(1)

// ---- request payloads ------------------------------------------------------------------------

export const modelLoadRequest = z.object({
  /** An .onnx file or a diffusers-style folder; the bundled default model when absent. */
  path: z.string().min(1).optional(),
  /** Execution providers to try in order; the platform's default order when absent. */
  providers: z.array(z.enum(PROVIDERS)).min(1).optional(),
})

/** Sampler settings over the model's training defaults; every field optional. */
export const samplerSettings = z
  .object({
    sampler: z.enum(SAMPLERS),
    steps: z.number().int().min(1),
    eta: z.number().min(0).max(1),
    timestepSpacing: z.enum(SPACINGS),
    stepsOffset: z.number().int().min(0),
    predictionType: z.enum(PREDICTION_TYPES),
    clipSample: z.boolean(),
    setAlphaToOne: z.boolean(),
  })
  .partial()

/** Schedule settings over the model's training schedule; every field optional. */
export const scheduleSettings = z
  .object({
    schedule: z.enum(SCHEDULES),
    trainSteps: z.number().int().min(1).max(100_000),
    betaStart: unitInterval,
    betaEnd: unitInterval,
  })
  .partial()

export const sampleStartRequest = z.object({
  sampler: samplerSettings,
  schedule: scheduleSettings.optional(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  batch: z.number().int().min(1).max(MAX_BATCH),
  classLabel: z.number().int().min(0).optional(),
  /** Classifier-free guidance scale; 1 = plain conditional. */
  guidance: z.number().min(0).optional(),
  height: z.number().int().min(1).optional(),
  width: z.number().int().min(1).optional(),
  /**
   * Fork: continue a run the engine holds from its step `step` (x_t entering that step), with these
   * settings. Seed, batch, size and class come from the parent; the fork's timeline shares the parent's
   * first `step` steps and its noise, so a fork with the parent's own settings reproduces it.
   */
  fork: z.object({ runId: z.string().min(1), step: z.number().int().min(0) }).optional(),
  /**
   * Denoise from an image (SDEdit): the image (float32 [channels, height, width] in [-1, 1], e.g. from
   * noise.preview) noised with the run's seed to `timestep`, then sampled from there; every image of the
   * batch starts from it.
   */
  fromImage: z.object({ image: z.instanceof(ArrayBuffer), timestep: z.number().int().min(0) }).optional(),
})

export const sampleCancelRequest = z.object({ runId: z.string().min(1) })
const runRequest = z.object({ runId: z.string().min(1) })

export const scheduleGetRequest = z.object({
  schedule: z.enum(SCHEDULES),
  trainSteps: z.number().int().min(1).max(100_000),
  betaStart: unitInterval,
  betaEnd: unitInterval,
})

/** What to export from a run the engine still holds. */
export const exportRequest = z.object({
  runId: z.string().min(1),
  /** png: the image `index`, or every image of the batch (one file each); sheet: the batch on one PNG;
   *  gif: the denoising of image `index`, or of the whole batch tiled. */
  kind: z.enum(['png', 'sheet', 'gif', 'compare-sheet', 'compare-gif', 'grid-sheet']),
  index: z.number().int().min(0).optional(),
  /**
   * compare-sheet / compare-gif: the runs side by side (image `index` of each, default 0), `runId` first.
   * grid-sheet: one row a run (e.g. one a class), one column an image of its batch (a seed).
   */
  with: z.array(z.string().min(1)).max(63).optional(),
  /** grid-sheet: a label a row (e.g. the class names); default each run's class. */
  rowLabels: z.array(z.string().max(40)).optional(),
  /** Which view the GIF animates: x_t (the sample) or the predicted x0. Default x_t. */
  gifOf: z.enum(['xt', 'x0']).optional(),
  /** At most this many frames, evenly picked (the last step always kept). Default: every step up to MAX_GIF_FRAMES. */
  gifFrames: z.number().int().min(2).max(1000).optional(),
  gifDelayMs: z.number().int().min(10).max(10_000).optional(),
})

/** Forward noising of an image under several schedules (q(x_t | x_0), one shared noise). */
export const noisePreviewRequest = z.object({
  /** A PNG or JPEG file's bytes: converted to the loaded model's channels and size. */
  image: z.object({ name: z.string().min(1), bytes: z.instanceof(ArrayBuffer) }),
  timesteps: z.array(z.number().int().min(0)).min(1).max(256),
  /** Default: linear, cosine, quadratic, sigmoid with the model's T and beta range. */
  schedules: z.array(z.enum(SCHEDULES)).min(1).optional(),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
})

/** A PNG dropped onto the window: are there Stepwise parameters inside? */
export const pngReadRequest = z.object({
  name: z.string().min(1),
  bytes: z.instanceof(ArrayBuffer),
})

/** The parameters Stepwise embeds in a PNG (its `stepwise` text chunk), as far as the UI restores them. */
export const generationParameters = z.object({
  model: z.string(),
  sampler: samplerSettings,
  schedule: scheduleSettings,
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  height: z.number().int().min(1),
  width: z.number().int().min(1),
  classLabel: z.number().int().min(0).optional(),
  guidance: z.number().min(0).optional(),
  batch: z.number().int().min(1).optional(),
})

/** The controls as the user left them: restored at start. */
export const lastParameters = z
  .object({
    sampler: samplerSettings,
    schedule: scheduleSettings,
    seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    seedLocked: z.boolean(),
    batch: z.number().int().min(1).max(MAX_BATCH),
    classLabel: z.number().int().min(0).nullable(),
    guidance: z.number().min(0),
  })
  .partial()

export const PROVIDER_CHOICES = ['auto', ...PROVIDERS] as const
export const MAX_RECENT_MODELS = 10

/**
 * Settings kept between sessions (electron-store in the app, a JSON file for the browser host). Every
 * field falls back to its default on its own when the stored value is bad, so one bad field never costs
 * the rest.
 */
export const settingsSchema = z.object({
  parameters: lastParameters.catch({}),
  recentModels: z.array(z.string().min(1)).max(MAX_RECENT_MODELS).catch([]),
  /** 'auto' tries the platform's order (cuda/dml/coreml, webgpu, cpu); otherwise this one first, cpu after. */
  provider: z.enum(PROVIDER_CHOICES).catch('auto'),
  windowBounds: z
    .object({
      x: z.number().int(),
      y: z.number().int(),
      width: z.number().int().min(200),
      height: z.number().int().min(200),
      maximized: z.boolean(),
    })
    .optional()
    .catch(undefined),
})
export type Settings = z.infer<typeof settingsSchema>
export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({})

/** What the renderer may change (recent models and window bounds are the shell's to keep). */
export const settingsSetRequest = z.object({
  parameters: lastParameters.optional(),
  provider: z.enum(PROVIDER_CHOICES).optional(),
})

const empty = z.object({})

export type ModelLoadRequest = z.infer<typeof modelLoadRequest>
export type SamplerSettings = z.infer<typeof samplerSettings>
export type ScheduleSettings = z.infer<typeof scheduleSettings>
export type SampleStartRequest = z.infer<typeof sampleStartRequest>
export type SampleCancelRequest = z.infer<typeof sampleCancelRequest>
export type ScheduleGetRequest = z.infer<typeof scheduleGetRequest>
export type ExportRequest = z.infer<typeof exportRequest>
export type NoisePreviewRequest = z.infer<typeof noisePreviewRequest>
export type PngReadRequest = z.infer<typeof pngReadRequest>
export type GenerationParametersData = z.infer<typeof generationParameters>
export type LastParameters = z.infer<typeof lastParameters>
export type SettingsSetRequest = z.infer<typeof settingsSetRequest>
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number]

// ---- responses -------------------------------------------------------------------------------

/** What the UI shows about a loaded model: plain JSON. */
export interface ModelCard {
  name: string
  /** What was asked for, and the .onnx file actually loaded. */
  path: string
  onnxPath: string
  layout: 'onnx' | 'onnx+sidecar' | 'diffusers-folder'
  channels: number
  height: number
  width: number
  /** Where the size came from: fixed in the graph, the metadata, or the smallest assumed. */
  sizeFrom: 'graph' | 'metadata' | 'smallest'
  classes: { names: string[]; nullClassId: number | null } | null
  training: { schedule: ScheduleConfig; predictionType: PredictionType }
  /** Sampler settings that follow from the training config (the start of every run). */
  samplerDefaults: SamplerConfig
  /** Which source gave each metadata key. */
  metadataOrigin: Partial<Record<MetadataKey, MetadataSource>>
  /** Keys no source gave, so defaults were assumed. */
  assumed: MetadataKey[]
  provider: ProviderName
  skippedProviders: ProviderNote[]
}

export interface SampleStarted {
  runId: string
  /** Every step's timestep; for a fork, the parent's first `startStep` and then the fork's own. */
  timesteps: number[]
  shape: { batch: number; channels: number; height: number; width: number }
  /** The first step this run computes (frames before it are the parent's); 0 unless forked. */
  startStep: number
  parent?: { runId: string; step: number }
  /** The settings the engine resolved (model defaults + request), as exported PNGs record them. */
  parameters: GenerationParameters
}

export interface RunSummary {
  runId: string
  parameters: GenerationParameters
  shape: SampleStarted['shape']
  steps: number
  finished: boolean
  /** Its frames were moved to disk to keep memory within the budget (they come back when asked for). */
  spilled: boolean
  bytes: number
}

export interface RunFrames {
  runId: string
  parameters: GenerationParameters
  shape: SampleStarted['shape']
  timesteps: number[]
  /** The timeline as the frame events carried it (float32 [batch, channels, height, width] each). */
  frames: {
    index: number
    timestep: number
    alphaBar: number
    sample: ArrayBuffer
    predictedX0: ArrayBuffer
    predictedNoise: ArrayBuffer
    stats: StepStats[]
  }[]
  /** The final samples; null for a cancelled or failed run. */
  samples: ArrayBuffer | null
}

export interface NoisePreview {
  channels: number
  height: number
  width: number
  /** The image as the model sees it: float32 [channels, height, width] in [-1, 1]. */
  image: ArrayBuffer
  rows: { schedule: ScheduleName; frames: { timestep: number; alphaBar: number; snr: number; sample: ArrayBuffer }[] }[]
}

export interface ScheduleTables {
  betas: number[]
  alphasCumprod: number[]
}

/** Files made by the engine, not yet written anywhere: the shell decides where they go. */
export interface EncodedFiles {
  files: { name: string; bytes: ArrayBuffer }[]
}

/** Channels the engine answers (in its worker), whoever carries them. */
export interface EngineRequests {
  'model.load': { request: ModelLoadRequest; response: ModelCard }
  'sample.start': { request: SampleStartRequest; response: SampleStarted }
  'sample.cancel': { request: SampleCancelRequest; response: { cancelled: boolean } }
  'schedule.get': { request: ScheduleGetRequest; response: ScheduleTables }
  /** PNG / sheet / GIF bytes of a run the engine still holds, with suggested file names. */
  'export.encode': { request: ExportRequest; response: EncodedFiles }
  /** The Stepwise parameters inside a PNG ('bad-png' when it has none). */
  'png.read': { request: PngReadRequest; response: GenerationParametersData }
  'noise.preview': { request: NoisePreviewRequest; response: NoisePreview }
  /** The session's runs (the history), and how much of the frame memory budget they use. */
  'runs.list': {
    request: Record<string, never>
    response: { runs: RunSummary[]; memoryBytes: number; budgetBytes: number }
  }
  /** A run's whole timeline (from memory or from disk), to reopen it. */
  'runs.frames': { request: { runId: string }; response: RunFrames }
  'runs.delete': { request: { runId: string }; response: { deleted: boolean } }
}

/** Channels the shell (Electron main, browser host) answers itself, using the engine where needed. */
export interface ShellRequests {
  /** Encode, then write where the user says (save dialog; the browser host's export folder). No paths = cancelled. */
  'export.save': { request: ExportRequest; response: { paths: string[] } }
  /** The Open Model... dialog, then model.load; null when the user cancelled (Electron only). */
  'model.open': { request: Record<string, never>; response: ModelCard | null }
  'settings.get': { request: Record<string, never>; response: Settings }
  'settings.set': { request: SettingsSetRequest; response: Settings }
}

/** Each channel's request payload and response value. */
export interface Requests extends EngineRequests, ShellRequests {}
export type Channel = keyof Requests
export type EngineChannel = keyof EngineRequests
export type RequestOf<C extends Channel> = Requests[C]['request']
export type ResponseOf<C extends Channel> = Requests[C]['response']

export const requestSchemas: { [C in Channel]: z.ZodType<RequestOf<C>> } = {
  'model.load': modelLoadRequest,
  'sample.start': sampleStartRequest,
  'sample.cancel': sampleCancelRequest,
  'schedule.get': scheduleGetRequest,
  'export.encode': exportRequest,
  'png.read': pngReadRequest,
  'noise.preview': noisePreviewRequest,
  'runs.list': empty.strict() as z.ZodType<Record<string, never>>,
  'runs.frames': runRequest,
  'runs.delete': runRequest,
  'export.save': exportRequest,
  'model.open': empty.strict() as z.ZodType<Record<string, never>>,
  'settings.get': empty.strict() as z.ZodType<Record<string, never>>,
  'settings.set': settingsSetRequest,
}
export const CHANNELS = Object.keys(requestSchemas) as Channel[]
export const ENGINE_CHANNELS = [
  'model.load',
  'sample.start',
  'sample.cancel',
  'schedule.get',
  'export.encode',
  'png.read',
  'noise.preview',
  'runs.list',
  'runs.frames',
  'runs.delete',
] as const satisfies readonly EngineChannel[]
same<(typeof ENGINE_CHANNELS)[number], EngineChannel>(true)
export const isEngineChannel = (name: string): name is EngineChannel =>
  (ENGINE_CHANNELS as readonly string[]).includes(name)

// ---- events ----------------------------------------------------------------------------------

export interface Events {
  progress: { runId: string; step: number; total: number; timestep: number; elapsedMs: number }
  /** One denoising step; the buffers hold float32 values laid out [batch, channels, height, width]. */
  frame: {
    runId: string
    index: number
    total: number
    timestep: number
    alphaBar: number
    /** x_t, the sample entering this step. */
    sample: ArrayBuffer
    predictedX0: ArrayBuffer
    predictedNoise: ArrayBuffer
    /** Diagnostics of this step, one entry an image. */
    stats: StepStats[]
  }
  /** The final samples, float32 [batch, channels, height, width], nominally in [-1, 1]. */
  done: { runId: string; samples: ArrayBuffer; elapsedMs: number }
  failed: { runId: string; error: ErrorData }
  /** A model the shell loaded on its own (menu, file association, second instance). */
  model: { card: ModelCard }
  /** A native menu item or shortcut the renderer carries out. */
  command: { name: Command }
}
export type EventName = keyof Events
export const EVENTS = [
  'progress',
  'frame',
  'done',
  'failed',
  'model',
  'command',
] as const satisfies readonly EventName[]
/** Menu commands the renderer carries out (the menu lives in the shell, the state in the renderer). */
export const COMMANDS = [
  'open-model',
  'export-png',
  'export-all',
  'export-sheet',
  'export-gif',
  'generate',
  'cancel',
] as const
export type Command = (typeof COMMANDS)[number]
same<(typeof EVENTS)[number], EventName>(true)

// ---- checks ----------------------------------------------------------------------------------

export const isChannel = (name: unknown): name is Channel =>
  typeof name === 'string' && Object.hasOwn(requestSchemas, name)

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
