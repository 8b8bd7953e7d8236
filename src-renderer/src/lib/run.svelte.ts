/**
 * The run the timeline shows, as the renderer sees it: its timesteps, progress, every step's record (where
 * it stands and its diagnostics) and the final samples. Events of other runs are ignored by runId. It is a
 * run just started (from noise, a fork of the run shown, or an image) or one reopened from the history.
 *
 * Events are applied together at most once a LIVE_UPDATE_MS (at a display frame), however fast they come:
 * a thousand steps ten seconds long cost the page a hundred updates, not thousands. Step images live in the step cache (steps.svelte.ts):
 * the newest ones come with the events, any other step's are fetched when a view shows it.
 */
import type {
  ErrorData,
  Events,
  GenerationParameters,
  RunFrames,
  SampleStarted,
  SampleStartRequest,
  StepRecord,
} from '../../../src-preload/contract'
import { LIVE_UPDATE_MS } from '../../../src-shared/limits'
import { api } from './api'
import { onceAFrame } from './display-frame'
import { history } from './history.svelte'
import { type Pixels, pixelsOf, steps } from './steps.svelte'
import { toasts } from './toasts.svelte'

/** One step as the timeline keeps it: index, timestep, alpha_bar, diagnostics (images: the step cache). */
export type Frame = StepRecord

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
  /** The newest step whose images came with its event: what a view following the run shows. */
  latest = $state.raw<{ index: number; pixels: Pixels } | null>(null)
  samples = $state.raw<Float32Array | null>(null)
  /** Its steps' images can be fetched (false: the history dropped them for its disk budget). */
  timeline = $state(true)
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
  /**
   * The images the grid shows: final samples; the newest predicted x0 while sampling; a stopped run's last
   * step (fetched when it did not come with an event).
   */
  images = $derived(
    this.samples ??
      this.latest?.pixels.predictedX0 ??
      (this.runId && this.frames.length && this.timeline && !this.running
        ? (steps.get(this.runId, this.frames.length - 1)?.predictedX0 ?? null)
        : null),
  )

  /** Events not yet applied: applied together at the next display frame. */
  #pending: { frames: Frame[]; latest: Run['latest']; progress: Events['progress'] | null } = {
    frames: [],
    latest: null,
    progress: null,
  }
  #schedule = onceAFrame(() => this.flush(), LIVE_UPDATE_MS)

  /**
   * Start a run and show it. A fork of the run shown begins with a copy of that run's first frames (the
   * engine sends the fork's own frames only). False when the engine refused.
   */
  async start(req: SampleStartRequest): Promise<boolean> {
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
    history.started(started, req.group)
    const inherited =
      started.parent && started.parent.runId === this.runId ? this.frames.slice(0, started.startStep) : []
    this.runId = started.runId
    this.parameters = started.parameters
    this.startStep = started.startStep
    this.timesteps = started.timesteps
    this.shape = started.shape
    this.#pending = { frames: [], latest: null, progress: null }
    this.frames = inherited
    this.latest = null
    this.samples = null
    this.timeline = true
    this.step = started.startStep
    this.total = started.timesteps.length
    this.elapsedMs = 0
    this.reopened = false
    this.status = 'running'
    steps.live = true
    return true
  }

  /** Show a run of the history: its steps as runs.frames answered (their images are fetched when shown). */
  open(r: RunFrames) {
    this.#pending = { frames: [], latest: null, progress: null }
    this.#stopDrawingLive()
    this.runId = r.runId
    this.parameters = r.parameters
    this.startStep = r.parameters.forkedFrom?.step ?? 0
    this.timesteps = r.timesteps
    this.shape = r.shape
    // Without its timeline, a run is its final images.
    this.frames = r.timeline ? r.frames : []
    this.latest = null
    this.timeline = r.timeline
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
    this.latest = null
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
    this.#pending.progress = e
    this.#schedule()
  }

  #frame(e: Events['frame']) {
    if (e.runId !== this.runId) return
    const { runId: _, total: __, pixels, ...record } = e
    this.#pending.frames.push(record)
    if (pixels) {
      const p = pixelsOf(pixels, e.alphaBar)
      // Into the cache now, quietly: views hear of it with the rest at the next display frame.
      steps.put(e.runId, e.index, p, false)
      this.#pending.latest = { index: e.index, pixels: p }
    }
    this.#schedule()
  }

  /** Apply the events that came since the last display frame, at once. */
  flush() {
    const { frames, latest, progress } = this.#pending
    this.#pending = { frames: [], latest: null, progress: null }
    if (frames.length) this.frames = this.frames.concat(frames)
    if (latest) this.latest = latest
    steps.show(latest !== null)
    if (progress) {
      this.step = progress.step
      this.total = progress.total
      this.elapsedMs = progress.elapsedMs
    }
  }

  /** Images fetched from here on are shown when they come. */
  #stopDrawingLive() {
    steps.live = false
    steps.show()
  }

  #done(e: Events['done']) {
    if (e.runId !== this.runId) return
    this.flush()
    this.#stopDrawingLive()
    this.samples = new Float32Array(e.samples)
    this.elapsedMs = e.elapsedMs
    this.step = this.total
    this.status = 'done'
  }

  #failed(e: Events['failed']) {
    if (e.runId !== this.runId) return
    this.flush()
    this.#stopDrawingLive()
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
