/**
 * One sampling run as the renderer sees it: its timesteps, progress, every frame of its timeline and the
 * final samples. Events of other (older, cancelled) runs are ignored by runId.
 *
 * Memory: every step keeps x_t, predicted x0 and predicted noise for the whole batch as float32, i.e.
 * 3 x batch x C x H x W x 4 bytes a step: 64 x 1x28x28 x 1000 steps is about 600 MB. Acceptable for the
 * default model for now; larger models will want the engine to serve frames on demand instead.
 */
import type { ErrorData, Events, SampleStartRequest, SampleStarted } from '../../../src-preload/contract'
import { api } from './api'
import { toasts } from './toasts.svelte'

export interface Frame {
  index: number
  timestep: number
  alphaBar: number
  sample: Float32Array
  predictedX0: Float32Array
  predictedNoise: Float32Array
}

export type Shape = SampleStarted['shape']
export type RunStatus = 'idle' | 'starting' | 'running' | 'done' | 'cancelled' | 'failed'

class Run {
  runId = $state<string | null>(null)
  status = $state<RunStatus>('idle')
  shape = $state.raw<Shape | null>(null)
  /** The timesteps the sampler visits, as sample.start answered (marked on the schedule plot). */
  timesteps = $state.raw<number[]>([])
  /** The request that started this run (its parameters, for the export names and the UI). */
  request = $state.raw<SampleStartRequest | null>(null)
  frames = $state.raw<Frame[]>([])
  samples = $state.raw<Float32Array | null>(null)
  step = $state(0)
  total = $state(0)
  elapsedMs = $state(0)
  error = $state.raw<ErrorData | null>(null)

  running = $derived(this.status === 'starting' || this.status === 'running')
  /** Milliseconds left, from the pace so far. */
  etaMs = $derived(this.step > 0 && this.total > this.step ? (this.elapsedMs / this.step) * (this.total - this.step) : 0)
  /** The images the grid shows: final samples, or the newest predicted x0 while sampling. */
  images = $derived(this.samples ?? this.frames.at(-1)?.predictedX0 ?? null)

  async start(req: SampleStartRequest): Promise<void> {
    if (this.running) return
    this.status = 'starting'
    this.error = null
    const r = await api.invoke('sample.start', req)
    if (!r.ok) {
      this.status = this.samples ? 'done' : 'idle'
      toasts.error(r.error)
      return
    }
    const { runId, timesteps, shape } = r.value
    this.runId = runId
    this.request = req
    this.timesteps = timesteps
    this.shape = shape
    this.frames = []
    this.samples = null
    this.step = 0
    this.total = timesteps.length
    this.elapsedMs = 0
    this.status = 'running'
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
    const frame: Frame = {
      index: e.index, timestep: e.timestep, alphaBar: e.alphaBar,
      sample: new Float32Array(e.sample), predictedX0: new Float32Array(e.predictedX0), predictedNoise: new Float32Array(e.predictedNoise),
    }
    this.frames = [...this.frames, frame]
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

export const formatMs = (ms: number) => (ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`)
