/**
 * The renderer's state modules against a scripted StepwiseApi in place of `src-renderer/src/lib/api`
 * (which would take `window.stepwise` or open a WebSocket). `loadRenderer()` gives each test new module
 * singletons wired to a new FakeApi.
 *
 * `answer` scripts what a channel gives back, `emit` plays an engine event to the listeners the modules
 * subscribed with `on`, `requests` lists what was asked. A channel nobody scripted rejects, so a test
 * never passes on a request it did not expect. Also: small builders of cards, starts and events.
 */
import { vi } from 'vitest'

import type {
  Channel,
  DroppedFile,
  ErrorData,
  EventName,
  Events,
  GenerationParameters,
  ModelCard,
  RequestOf,
  ResponseOf,
  Result,
  RunList,
  RunSummary,
  SampleStarted,
  StepwiseApi,
} from '../../../src-preload/contract'

type Answer<C extends Channel> = (request: RequestOf<C>) => Result<ResponseOf<C>> | Promise<Result<ResponseOf<C>>>

export class FakeApi implements StepwiseApi {
  host: 'electron' | 'browser' = 'electron'
  readonly calls: { channel: Channel; request: unknown }[] = []
  #answers = new Map<Channel, Answer<Channel>>()
  #listeners = new Map<EventName, Set<(payload: never) => void>>()
  /** What `stage` gives back. */
  staged: Result<string[]> = { ok: true, value: [] }

  /** Script a channel: every call gets this result, or what the function makes of the request. */
  answer<C extends Channel>(channel: C, answer: Result<ResponseOf<C>> | Answer<C>): this {
    this.#answers.set(channel, (typeof answer === 'function' ? answer : () => answer) as unknown as Answer<Channel>)
    return this
  }

  /** The requests made on a channel, oldest first. */
  requests<C extends Channel>(channel: C): RequestOf<C>[] {
    return this.calls.filter((c) => c.channel === channel).map((c) => c.request as RequestOf<C>)
  }

  async invoke<C extends Channel>(channel: C, request: RequestOf<C>): Promise<Result<ResponseOf<C>>> {
    this.calls.push({ channel, request })
    const answer = this.#answers.get(channel)
    if (!answer) throw new Error(`fake api: nothing scripted for ${channel}`)
    return (await answer(request)) as Result<ResponseOf<C>>
  }

  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void {
    const set = this.#listeners.get(event) ?? new Set()
    this.#listeners.set(event, set)
    set.add(listener as (payload: never) => void)
    return () => set.delete(listener as (payload: never) => void)
  }

  /** Play an event to whoever listens now. */
  emit<E extends EventName>(event: E, payload: Events[E]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) (listener as (p: Events[E]) => void)(payload)
  }

  listenerCount(event: EventName): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  stageCalls: { top: File[]; files: DroppedFile[] }[] = []
  async stage(top: File[], files: DroppedFile[]): Promise<Result<string[]>> {
    this.stageCalls.push({ top, files })
    return this.staged
  }
}

/** Each run's number (#n) as the engine gives it: one a run, in the order runs first appear. */
const numbers = new Map<string, number>()
const numberOf = (runId: string): number => {
  if (!numbers.has(runId)) numbers.set(runId, numbers.size + 1)
  return numbers.get(runId)!
}

/**
 * Every state module afresh (the modules are singletons), talking to a new FakeApi, with the Svelte runtime
 * they use: its flushSync, and `mount` for effects. Call it in beforeEach; the modules are the page's,
 * compiled for the client (vitest.config.ts, project 'svelte').
 */
export async function loadRenderer() {
  vi.resetModules()
  numbers.clear()
  const api = new FakeApi()
  vi.doMock('../../../src-renderer/src/lib/api', () => ({ api }))
  return {
    api,
    // This runtime's, not one imported before the reset (see effects.svelte.ts).
    flushSync: (await import('svelte')).flushSync,
    mount: (await import('./effects.svelte')).mount,
    ...(await import('../../../src-renderer/src/lib/toasts.svelte')),
    ...(await import('../../../src-renderer/src/lib/view.svelte')),
    ...(await import('../../../src-renderer/src/lib/parameters.svelte')),
    ...(await import('../../../src-renderer/src/lib/history.svelte')),
    ...(await import('../../../src-renderer/src/lib/run.svelte')),
    ...(await import('../../../src-renderer/src/lib/timeline.svelte')),
    ...(await import('../../../src-renderer/src/lib/model.svelte')),
    ...(await import('../../../src-renderer/src/lib/noise.svelte')),
    ...(await import('../../../src-renderer/src/lib/export.svelte')),
    ...(await import('../../../src-renderer/src/lib/compare.svelte')),
    ...(await import('../../../src-renderer/src/lib/grid.svelte')),
    ...(await import('../../../src-renderer/src/lib/side-runs')),
    ...(await import('../../../src-renderer/src/lib/steps.svelte')),
    ...(await import('../../../src-renderer/src/lib/queue.svelte')),
    ...(await import('../../../src-renderer/src/lib/fit.svelte')),
    ...(await import('../../../src-renderer/src/lib/gallery')),
    ...(await import('../../../src-renderer/src/lib/pixel-probe.svelte')),
    ...(await import('../../../src-renderer/src/lib/actions')),
  }
}
export type Renderer = Awaited<ReturnType<typeof loadRenderer>>

export const ok = <T>(value: T): Result<T> => ({ ok: true, value })
export const fail = (message: string, code: ErrorData['code'] = 'runtime-error'): { ok: false; error: ErrorData } => ({
  ok: false,
  error: { code, message },
})

// ---- builders ---------------------------------------------------------------------------------

type CardOptions = Partial<Omit<ModelCard, 'samplerDefaults' | 'training'>> & {
  samplerDefaults?: Partial<ModelCard['samplerDefaults']>
  schedule?: Partial<ModelCard['training']['schedule']>
}

/** A 1x8x8 unconditional model trained on the linear schedule, DDIM 50 by default. */
export function card(o: CardOptions = {}): ModelCard {
  const { samplerDefaults, schedule, guidanceDefaults = null, ...rest } = o
  return {
    name: 'tiny',
    guidanceDefaults,
    hash: '0123456789',
    weights: null,
    path: '/models/tiny.onnx',
    onnxPath: '/models/tiny.onnx',
    layout: 'onnx',
    sourceFormat: 'ONNX',
    facts: [],
    notes: [],
    parameters: null,
    channels: 1,
    height: 8,
    width: 8,
    sizeFrom: 'graph',
    sizeMultiple: null,
    classes: null,
    training: {
      schedule: { schedule: 'linear', trainSteps: 1000, betaStart: 0.0001, betaEnd: 0.02, ...schedule },
      described: null,
      predictionType: 'epsilon',
    },
    samplerDefaults: {
      sampler: 'ddim',
      steps: 50,
      eta: 0,
      timestepSpacing: 'leading',
      stepsOffset: 0,
      predictionType: 'epsilon',
      clipSample: false,
      clipSampleRange: 1,
      thresholding: false,
      dynamicThresholdingRatio: 0.995,
      sampleMaxValue: 1,
      setAlphaToOne: true,
      varianceType: 'fixed_small',
      ...samplerDefaults,
    },
    samplerOptions: { clipSample: false },
    metadataOrigin: {},
    assumed: [],
    provider: 'cpu',
    adapter: null,
    skippedProviders: [],
    ...rest,
  }
}

/** Ten digit classes; the null class (guidance possible) unless `nullClassId` says otherwise. */
export const classCard = (nullClassId: number | null = 10, o: CardOptions = {}) =>
  card({ classes: { names: [...'0123456789'].map((d) => `digit ${d}`), nullClassId }, ...o })

export function generationParameters(o: Partial<GenerationParameters> = {}): GenerationParameters {
  const c = card()
  return {
    model: c.name,
    sampler: c.samplerDefaults,
    schedule: c.training.schedule,
    seed: 7,
    height: c.height,
    width: c.width,
    ...o,
  }
}

/** What sample.start answers: `steps` timesteps counting down, a batch of 1x2x2 images. */
export function started(runId: string, o: Partial<SampleStarted> & { steps?: number } = {}): SampleStarted {
  const { steps = 4, ...rest } = o
  return {
    runId,
    number: numberOf(runId),
    timesteps: Array.from({ length: steps }, (_, i) => (steps - 1 - i) * 10),
    shape: { batch: 2, channels: 1, height: 2, width: 2 },
    startStep: 0,
    parameters: generationParameters(),
    ...rest,
  }
}

const ELEMENTS = 2 * 1 * 2 * 2

/** A buffer of `n` float32 values, all `value`. */
export const floats = (value: number, n = ELEMENTS) => new Float32Array(n).fill(value).buffer

/** Step `index`'s images: x_t filled with index, predicted x0 with index + 0.5. */
export const stepPixels = (index: number) => ({
  sample: floats(index),
  predictedX0: floats(index + 0.5),
})

/** Step `index` of a run of `total` steps: its alpha_bar, as the frame events give it. */
export const alphaBarOf = (index: number, total = 4) => (index + 1) / (total + 1)

/** Step `index` as runs.steps answers it. */
export const stepAnswer = (index: number) => ({ index, alphaBar: alphaBarOf(index), ...stepPixels(index) })

/** Step `index` of a run, with its images (`pixels` false: its record alone, as most steps come). */
export function frameEvent(runId: string, index: number, total = 4, pixels = true): Events['frame'] {
  return {
    runId,
    index,
    total,
    timestep: (total - 1 - index) * 10,
    alphaBar: alphaBarOf(index, total),
    stats: [],
    ...(pixels && { pixels: stepPixels(index) }),
  }
}

/** runs.list's answer around these runs. */
export const runList = (runs: RunSummary[] = [], o: Partial<RunList> = {}): RunList => ({
  runs,
  memoryBytes: 0,
  budgetBytes: 1024,
  diskBytes: 0,
  diskBudgetBytes: 2048,
  persistent: false,
  ...o,
})

/** A run as runs.list lists it. */
export function summary(runId: string, o: Partial<RunSummary> = {}): RunSummary {
  return {
    runId,
    number: numberOf(runId),
    createdAt: Date.UTC(2025, 2, 14, 9, 26),
    parameters: generationParameters(),
    shape: { batch: 2, channels: 1, height: 2, width: 2 },
    steps: 4,
    status: 'done',
    timeline: true,
    bytes: 64,
    ...o,
  }
}
