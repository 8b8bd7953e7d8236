/**
 * The one IPC contract: every request channel with its payload schema and response type, every event
 * with its payload. Main (Electron shell), preload, renderer and the browser host all import this file,
 * so it imports nothing from electron or Node, and from the engine only types.
 *
 * Errors cross as data (`Result`), never as rejections: across IPC only an Error's message survives.
 * Frames and samples cross as float32 ArrayBuffers (transferred, not copied into JSON arrays).
 */
import { z } from 'zod'
import type { ErrorData } from '../src-main/engine/errors'
import type { MetadataKey, MetadataSource } from '../src-main/engine/model/metadata'
import type { ProviderName, ProviderNote } from '../src-main/engine/model/providers'
import type { PredictionType, SamplerConfig, SamplerName, TimestepSpacing } from '../src-main/engine/samplers/config'
import type { ScheduleConfig, ScheduleName } from '../src-main/engine/schedule'

export type { ErrorData }

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
export const samplerSettings = z.object({
  sampler: z.enum(SAMPLERS),
  steps: z.number().int().min(1),
  eta: z.number().min(0).max(1),
  timestepSpacing: z.enum(SPACINGS),
  stepsOffset: z.number().int().min(0),
  predictionType: z.enum(PREDICTION_TYPES),
  clipSample: z.boolean(),
  setAlphaToOne: z.boolean(),
}).partial()

/** Schedule settings over the model's training schedule; every field optional. */
export const scheduleSettings = z.object({
  schedule: z.enum(SCHEDULES),
  trainSteps: z.number().int().min(1).max(100_000),
  betaStart: unitInterval,
  betaEnd: unitInterval,
}).partial()

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
})

export const sampleCancelRequest = z.object({ runId: z.string().min(1) })

export const scheduleGetRequest = z.object({
  schedule: z.enum(SCHEDULES),
  trainSteps: z.number().int().min(1).max(100_000),
  betaStart: unitInterval,
  betaEnd: unitInterval,
})

export type ModelLoadRequest = z.infer<typeof modelLoadRequest>
export type SamplerSettings = z.infer<typeof samplerSettings>
export type ScheduleSettings = z.infer<typeof scheduleSettings>
export type SampleStartRequest = z.infer<typeof sampleStartRequest>
export type SampleCancelRequest = z.infer<typeof sampleCancelRequest>
export type ScheduleGetRequest = z.infer<typeof scheduleGetRequest>

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
  timesteps: number[]
  shape: { batch: number; channels: number; height: number; width: number }
}

export interface ScheduleTables {
  betas: number[]
  alphasCumprod: number[]
}

/** Each channel's request payload and response value. */
export interface Requests {
  'model.load': { request: ModelLoadRequest; response: ModelCard }
  'sample.start': { request: SampleStartRequest; response: SampleStarted }
  'sample.cancel': { request: SampleCancelRequest; response: { cancelled: boolean } }
  'schedule.get': { request: ScheduleGetRequest; response: ScheduleTables }
}
export type Channel = keyof Requests
export type RequestOf<C extends Channel> = Requests[C]['request']
export type ResponseOf<C extends Channel> = Requests[C]['response']

export const requestSchemas: { [C in Channel]: z.ZodType<RequestOf<C>> } = {
  'model.load': modelLoadRequest,
  'sample.start': sampleStartRequest,
  'sample.cancel': sampleCancelRequest,
  'schedule.get': scheduleGetRequest,
}
export const CHANNELS = Object.keys(requestSchemas) as Channel[]

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
  }
  /** The final samples, float32 [batch, channels, height, width], nominally in [-1, 1]. */
  done: { runId: string; samples: ArrayBuffer; elapsedMs: number }
  failed: { runId: string; error: ErrorData }
}
export type EventName = keyof Events
export const EVENTS = ['progress', 'frame', 'done', 'failed'] as const satisfies readonly EventName[]
same<(typeof EVENTS)[number], EventName>(true)

// ---- checks ----------------------------------------------------------------------------------

export const isChannel = (name: unknown): name is Channel => typeof name === 'string' && Object.hasOwn(requestSchemas, name)

export const badArgument = (message: string): { ok: false; error: ErrorData } => ({ ok: false, error: { code: 'bad-argument', message } })

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
