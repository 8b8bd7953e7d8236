/**
 * The one IPC contract: every request channel with its payload schema (requests.ts) and response type
 * (responses.ts), every event with its payload. Main (Electron shell), preload, renderer and the browser host all import this file, so it
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
import type { ExportRequest } from '../src-shared/exports'
import type { FitEvent, FitResult } from '../src-shared/fit'
import { MAX_STEPS_A_REQUEST, MAX_THUMBNAILS_A_REQUEST } from '../src-shared/limits'
import type { ProviderChoice } from '../src-shared/names'
import type { GenerationParameters, SamplerSettings, ScheduleSettings, Shape } from '../src-shared/parameters'
import { type Channel, CHANNELS, type Command, type EngineChannel, type EventName, isChannel } from './channels'
import {
  type Empty,
  empty,
  exportRequest,
  type FitRequest,
  fitRequest,
  type GenerationParametersData,
  type ModelLoadRequest,
  modelLoadRequest,
  type ModelOpenRequest,
  type NoisePreviewRequest,
  noisePreviewRequest,
  type PngReadRequest,
  pngReadRequest,
  runId,
  type RunRequest,
  runRequest,
  type SampleStartRequest,
  sampleStartRequest,
  type ScheduleGetRequest,
  scheduleGetRequest,
  type Settings,
  type SettingsAnswer,
  type SettingsSetRequest,
  settingsSetRequest,
} from './requests'
import type {
  EncodedFiles,
  ModelCard,
  NoisePreview,
  PixelRequest,
  PixelSeries,
  RunFrames,
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
export * from './requests'
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

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorData }

/** Compile-time check that two name sets are equal (a channel added to one list and not the other fails). */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const same = <A, B>(ok: Same<A, B>) => ok

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
  /** One pixel at every step of a run (look closer's trajectory of the pixel clicked). */
  'runs.pixel': { request: PixelRequest; response: PixelSeries }
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
  'runs.pixel': z.object({
    runId,
    image: z.number().int().min(0),
    x: z.number().int().min(0),
    y: z.number().int().min(0),
    from: z.number().int().min(0).optional(),
  }) satisfies z.ZodType<PixelRequest>,
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
