/**
 * The contract's answers: what each request channel's response and each event's payload hold, as the UI
 * shows them. Plain types (no schema: the engine makes them, nothing from outside is checked against them);
 * contract.ts ties them to their channels.
 */
import type { StepStats } from '../src-shared/diagnostics'
import type {
  Adapter,
  CheckpointWeights,
  GuidanceDefaults,
  MetadataKey,
  MetadataSource,
  ModelLayout,
  ProviderNote,
  SourceFact,
} from '../src-shared/model'
import type { ProviderName, ScheduleName } from '../src-shared/names'
import type {
  GenerationParameters,
  SamplerConfig,
  SamplerSettings,
  ScheduleConfig,
  Shape,
} from '../src-shared/parameters'

/** What the UI shows about a loaded model: plain JSON. */
export interface ModelCard {
  name: string
  /** The weights file's model hash (MODEL_HASH_LENGTH hex digits of its SHA-256, as A1111 writes it). */
  hash: string | null
  /** A training checkpoint's set of weights taken, and whether it holds the other (EMA and online); else null. */
  weights: { taken: CheckpointWeights; both: boolean } | null
  /** What was asked for, and the .onnx file actually loaded. */
  path: string
  onnxPath: string
  layout: ModelLayout
  /** The source format as the card names it ("ONNX", "diffusers UNet2DModel"), and the weights' parameter count when read. */
  sourceFormat: string
  parameters: number | null
  /** The network's facts (its config's options, or what its weights imply) and where each came from. */
  facts: SourceFact[]
  /** What was ignored or converted on the way (unknown keys, half-precision weights...). */
  notes: string[]
  channels: number
  height: number
  width: number
  /** Where the size came from: fixed in the graph, the metadata, or the smallest assumed. */
  sizeFrom: 'graph' | 'metadata' | 'smallest'
  /** What a size the graph leaves open must be a multiple of (a U-Net built from weights); null: not known. */
  sizeMultiple: number | null
  classes: { names: string[]; nullClassId: number | null } | null
  /**
   * `described`: the schedule said as its format knows it (a named schedule a checkpoint's numbers match, an
   * EDM or continuous-time model's virtual one); null: the schedule's name and T say it.
   */
  training: { schedule: ScheduleConfig; described: string | null; predictionType: SamplerConfig['predictionType'] }
  /** How the model is meant to be guided (its metadata's guidance_scale & co.), where it says; null: not. */
  guidanceDefaults: GuidanceDefaults | null
  /** Sampler settings that follow from the training config (the start of every run). */
  samplerDefaults: SamplerConfig
  /**
   * The options the training config states (clip_sample, timestep_spacing...): a sampler picked by name
   * starts from them, the rest from its diffusers defaults (as the planner's requestedSampler does).
   */
  samplerOptions: SamplerSettings
  /** Which source gave each metadata key. */
  metadataOrigin: Partial<Record<MetadataKey, MetadataSource>>
  /** Keys no source gave, so defaults were assumed. */
  assumed: MetadataKey[]
  provider: ProviderName
  /** The device the provider runs on, where it can be told (a software one is a CPU). */
  adapter: Adapter | null
  skippedProviders: ProviderNote[]
}

export interface SampleStarted {
  runId: string
  /** Its number in the history (#n): given once, kept across sessions. */
  number: number
  /** Every step's timestep; for a fork, the parent's first `startStep` and then the fork's own. */
  timesteps: number[]
  shape: Shape
  /** The first step this run computes (frames before it are the parent's); 0 unless forked. */
  startStep: number
  parent?: { runId: string; step: number }
  /** The settings the engine resolved (model defaults + request), as exported PNGs record them. */
  parameters: GenerationParameters
}

/** Where a run stands: recording, or how it stopped. */
export type RunStatus = 'running' | 'done' | 'cancelled' | 'failed'

/** Runs started together that the history shows as one entry (a class x seed grid, a comparison). */
export interface RunGroup {
  id: string
  kind: 'grid' | 'compare'
}

export interface RunSummary {
  runId: string
  /** Its number in the history (#n): given once, kept across sessions. */
  number: number
  /** When it started, ms since 1970. */
  createdAt: number
  parameters: GenerationParameters
  shape: Shape
  steps: number
  status: RunStatus
  /**
   * Every step can be shown (its timeline is in memory or on disk); false once the history dropped it to
   * stay within its disk budget (the final images and parameters stay).
   */
  timeline: boolean
  /** Bytes of the frames it computed itself. */
  bytes: number
  /** A fork's parent run and the step it went on from. */
  parent?: { runId: string; step: number }
  group?: RunGroup
}

/** runs.list's answer: every run, oldest first, and what their frames take. */
export interface RunList {
  runs: RunSummary[]
  /** Frames of recording runs held in memory, and the budget past which they move to disk. */
  memoryBytes: number
  budgetBytes: number
  /** The timelines on disk, and the user's budget for them. */
  diskBytes: number
  diskBudgetBytes: number
  /** The history outlives the session (the app and the browser host keep it in their folders). */
  persistent: boolean
}

/** A history thumbnail: the first final image, small, float32 [1, channels, height, width]. */
export interface Thumbnail {
  runId: string
  shape: Shape
  values: ArrayBuffer
}

/** One step of a timeline, as every step reaches the page: where it stands and its diagnostics. */
export interface StepRecord {
  index: number
  timestep: number
  alphaBar: number
  /** Diagnostics of this step, one entry an image. */
  stats: StepStats[]
}

/**
 * One step's images: float32 buffers laid out [batch, channels, height, width]. Its predicted noise follows
 * from them and the step's alpha_bar (src-shared/noise.ts), and is not sent.
 */
export interface StepPixels {
  /** x_t, the sample entering this step. */
  sample: ArrayBuffer
  predictedX0: ArrayBuffer
}

export interface RunFrames {
  runId: string
  parameters: GenerationParameters
  shape: Shape
  timesteps: number[]
  /** Every step the run has, without images (runs.steps gives any step's images). */
  frames: StepRecord[]
  /** The final samples; null for a cancelled or failed run. */
  samples: ArrayBuffer | null
  /** Its steps' images can be fetched; false once the history dropped them for its disk budget. */
  timeline: boolean
}

/** runs.pixel: one pixel of one image of a run, at every step on hand (from step `from` on: 0 unless given). */
export interface PixelRequest {
  runId: string
  image: number
  x: number
  y: number
  /** The first step wanted (a plot that has the earlier ones asks for the new steps alone). */
  from?: number
}

/**
 * One pixel's values over a run's steps (from the step asked for), step-major ([steps, channels]): x_t
 * entering each step and that step's predicted x0, and the step's alpha_bar (the predicted noise follows
 * from the three).
 */
export interface PixelSeries {
  channels: number
  sample: number[]
  predictedX0: number[]
  alphaBars: number[]
}

/** runs.steps: the images of some steps of a run, asked for by index. */
export interface StepsRequest {
  runId: string
  steps: number[]
  /**
   * Only this image of the batch (its buffers then hold [1, channels, height, width]): what a view of one
   * image asks for (the film strip), a batch-th of the bytes. The whole batch when absent.
   */
  image?: number
}

export interface NoisePreview {
  channels: number
  height: number
  width: number
  /** The image as the model sees it: float32 [channels, height, width] in [-1, 1]. */
  image: ArrayBuffer
  rows: {
    schedule: ScheduleName
    frames: { timestep: number; alphaBar: number; snr: number; sample: ArrayBuffer }[]
  }[]
}

export interface ScheduleTables {
  betas: number[]
  alphasCumprod: number[]
}

/** Files made by the engine, not yet written anywhere: the shell decides where they go. */
export interface EncodedFiles {
  files: { name: string; bytes: ArrayBuffer }[]
}
