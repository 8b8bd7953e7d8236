/**
 * The run the timeline shows, as the renderer sees it: its timesteps, progress, every frame of its timeline
 * (with each step's diagnostics) and the final samples. Events of other runs are ignored by runId.
 * It is a run just started (from noise, a fork of the run shown, or an image) or one reopened from the
 * history; the renderer holds the frames of this one run (plus the compare view's), others are fetched again.
 *
 * Memory: every step keeps x_t, predicted x0 and predicted noise for the whole batch as float32, i.e.
 * 3 x batch x C x H x W x 4 bytes a step: 64 x 1x28x28 x 1000 steps is about 600 MB. Acceptable for the
 * default model for now; larger models will want the engine to serve frames on demand instead.
 */
import type {
  ErrorData,
  Events,
  GenerationParameters,
  RunFrames,
  SampleStarted,
  SampleStartRequest,
  StepStats,
} from '../../../src-preload/contract'
import { api } from './api'
import { history, type RunKind } from './history.svelte'
import { toasts } from './toasts.svelte'

export interface Frame {
  index: number
  timestep: number
  alphaBar: number
  sample: Float32Array
  predictedX0: Float32Array
  predictedNoise: Float32Array
  /** Diagnostics of this step, one entry an image. */
  stats: StepStats[]
}

/** A frame event or a reopened run's frame, as the timeline keeps it. */
export const frameOf = (
  e: Omit<Frame, 'sample' | 'predictedX0' | 'predictedNoise'> & {
    sample: ArrayBuffer
    predictedX0: ArrayBuffer
    predictedNoise: ArrayBuffer
  },
): Frame => ({
  index: e.index,
  timestep: e.timestep,
  alphaBar: e.alphaBar,
  stats: e.stats,
  sample: new Float32Array(e.sample),
  predictedX0: new Float32Array(e.predictedX0),
  predictedNoise: new Float32Array(e.predictedNoise),
})

export type Shape = SampleStarted['shape']
export type RunStatus = 'idle' | 'starting' | 'running' | 'done' | 'cancelled' | 'failed'

class Run {
  runId = $state<string | null>(null)
  status = $state<RunStatus>('idle')
  shape = $state.raw<Shape | null>(null)
  /** The timesteps the sampler visits, as sample.start answered (marked on the schedule plot). */
  timesteps = $state.raw<number[]>([])
  /** The settings the engine resolved for this run (seed, sampler...; a fork's parent, an image's timestep). */
  parameters = $state.raw<GenerationParameters | null>(null)
  /** The first step this run computed itself (a fork's earlier frames are its parent's); 0 unless forked. */
  startStep = $state(0)
  frames = $state.raw<Frame[]>([])
  samples = $state.raw<Float32Array | null>(null)
  step = $state(0)
  total = $state(0)
  elapsedMs = $state(0)
  /** Reopened from the history (not sampled while the renderer watched: no timing to show). */
  reopened = $state(false)
  error = $state.raw<ErrorData | null>(null)

  running = $derived(this.status === 'starting' || this.status === 'running')
  /** Milliseconds left, from the pace so far. */
  etaMs = $derived(
    this.step > 0 && this.total > this.step ? (this.elapsedMs / this.step) * (this.total - this.step) : 0,
  )
  /** The images the grid shows: final samples, or the newest predicted x0 while sampling. */
  images = $derived(this.samples ?? this.frames.at(-1)?.predictedX0 ?? null)

  /**
   * Start a run and show it. A fork of the run shown begins with a copy of that run's first frames (the
   * engine sends the fork's own frames only). False when the engine refused.
   */
  async start(
    req: SampleStartRequest,
    kind: RunKind = req.fork ? 'fork' : req.fromImage ? 'image' : 'run',
  ): Promise<boolean> {
    if (this.running) return false
    const before = this.status
    this.status = 'starting'
    this.error = null
    const r = await api.invoke('sample.start', req)
    if (!r.ok) {
      this.status = before
      toasts.error(r.error)
      return false
    }
    const started: SampleStarted = r.value
    history.started(started, kind)
    const inherited =
      started.parent && started.parent.runId === this.runId ? this.frames.slice(0, started.startStep) : []
    this.runId = started.runId
    this.parameters = started.parameters
    this.startStep = started.startStep
    this.timesteps = started.timesteps
    this.shape = started.shape
    this.frames = inherited
    this.samples = null
    this.step = started.startStep
    this.total = started.timesteps.length
    this.elapsedMs = 0
    this.reopened = false
    this.status = 'running'
    return true
  }

  /** Show a run of the history: its whole timeline, as runs.frames answered. */
  open(r: RunFrames) {
    this.runId = r.runId
    this.parameters = r.parameters
    this.startStep = r.parameters.forkedFrom?.step ?? 0
    this.timesteps = r.timesteps
    this.shape = r.shape
    this.frames = r.frames.map(frameOf)
    this.samples = r.samples ? new Float32Array(r.samples) : null
    this.step = this.total = r.timesteps.length
    if (!r.samples) this.step = r.frames.length
    this.elapsedMs = 0
    this.error = null
    this.reopened = true
    this.status = r.samples ? 'done' : 'cancelled'
  }

  /** Forget the run shown (it was deleted). */
  clear() {
    if (this.running) return
    this.runId = null
    this.parameters = null
    this.startStep = 0
    this.timesteps = []
    this.shape = null
    this.frames = []
    this.samples = null
    this.step = this.total = 0
    this.status = 'idle'
  }

  async cancel(): Promise<void> {
    if (!this.runId || !this.running) return
    const r = await api.invoke('sample.cancel', { runId: this.runId })
    if (!r.ok) toasts.error(r.error)
  }

  /** Subscribe to the run events; returns the unsubscribe (call from an $effect). */
  listen(): () => void {
    const offs = [
      api.on('progress', (e) => this.#progress(e)),
      api.on('frame', (e) => this.#frame(e)),
      api.on('done', (e) => this.#done(e)),
      api.on('failed', (e) => this.#failed(e)),
    ]
    return () => offs.forEach((off) => off())
  }

  #progress(e: Events['progress']) {
    if (e.runId !== this.runId) return
    this.step = e.step
    this.total = e.total
    this.elapsedMs = e.elapsedMs
  }

  #frame(e: Events['frame']) {
    if (e.runId !== this.runId) return
    this.frames = [...this.frames, frameOf(e)]
  }

  #done(e: Events['done']) {
    if (e.runId !== this.runId) return
    this.samples = new Float32Array(e.samples)
    this.elapsedMs = e.elapsedMs
    this.step = this.total
    this.status = 'done'
  }

  #failed(e: Events['failed']) {
    if (e.runId !== this.runId) return
    if (e.error.code === 'cancelled') {
      this.status = 'cancelled'
      return
    }
    this.status = 'failed'
    this.error = e.error
    toasts.error(e.error)
  }
}

export const run = new Run()

export const formatMs = (ms: number) =>
  ms < 1000
    ? `${Math.round(ms)} ms`
    : ms < 60_000
      ? `${(ms / 1000).toFixed(1)} s`
      : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`
