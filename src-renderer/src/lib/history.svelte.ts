/**
 * The session's runs, as the engine lists them (runs.list): a number each, how each came to be, a
 * thumbnail of its first image, and the engine's frame memory against its budget. The frames themselves
 * stay in the engine (older ones spilled to disk); reopening a run fetches them (runs.frames).
 */
import type { RunFrames, RunSummary, SampleStarted } from '../../../src-preload/contract'
import { api } from './api'
import { toasts } from './toasts.svelte'

/** How a run came to be, as the history names it. */
export type RunKind = 'run' | 'fork' | 'image' | 'compare' | 'grid'

export interface Thumbnail {
  /** The first image's final sample, float32 [1, channels, height, width]. */
  values: Float32Array
  shape: SampleStarted['shape']
}

/** Refreshes of runs.list closer together than this are merged. */
const REFRESH_DEBOUNCE_MS = 150

class History {
  runs = $state.raw<RunSummary[]>([])
  memoryBytes = $state(0)
  budgetBytes = $state(0)
  /** Runs this renderer started, by id: how, and the fork's parent. */
  origins = $state.raw<Record<string, { kind: RunKind; parent?: { runId: string; step: number } }>>({})
  thumbnails = $state.raw<Record<string, Thumbnail>>({})
  /** Runs still sampling (started here, no done or failed event yet). */
  live = $state.raw<string[]>([])
  /** #1 for the session's first run, kept when runs before it are deleted. */
  #numbers = new Map<string, number>()
  #next = 1
  #shapes = new Map<string, SampleStarted['shape']>()
  #timer: ReturnType<typeof setTimeout> | undefined

  /** Newest first. */
  newestFirst = $derived([...this.runs].reverse())

  number(runId: string): number | undefined {
    return this.#numbers.get(runId)
  }

  #numberOf(runId: string) {
    if (!this.#numbers.has(runId)) this.#numbers.set(runId, this.#next++)
  }

  /** A run just started here (by Generate, a fork, an image, the compare view or the grid). */
  started(s: SampleStarted, kind: RunKind) {
    this.#numberOf(s.runId)
    this.#shapes.set(s.runId, s.shape)
    this.origins = { ...this.origins, [s.runId]: { kind, parent: s.parent } }
    this.live = [...this.live, s.runId]
    // Listed at once; runs.list then says how much memory it takes.
    if (!this.runs.some((r) => r.runId === s.runId)) {
      this.runs = [
        ...this.runs,
        {
          runId: s.runId,
          parameters: s.parameters,
          shape: s.shape,
          steps: s.startStep,
          finished: false,
          spilled: false,
          bytes: 0,
        },
      ]
    }
    this.refresh()
  }

  /** Ask the engine for the list again (soon; several asks in a row make one request). */
  refresh() {
    clearTimeout(this.#timer)
    this.#timer = setTimeout(() => void this.#load(), REFRESH_DEBOUNCE_MS)
  }

  async #load() {
    const r = await api.invoke('runs.list', {})
    if (!r.ok) {
      toasts.error(r.error)
      return
    }
    r.value.runs.forEach((s) => this.#numberOf(s.runId))
    this.runs = r.value.runs
    this.memoryBytes = r.value.memoryBytes
    this.budgetBytes = r.value.budgetBytes
  }

  /** Subscribe to the run events every run sends; returns the unsubscribe (call from an $effect). */
  listen(): () => void {
    const offs = [
      api.on('done', (e) => {
        const shape = this.#shapes.get(e.runId)
        if (shape) this.keepThumbnail(e.runId, e.samples, shape)
        this.runs = this.runs.map((s) => (s.runId === e.runId ? { ...s, finished: true } : s))
        this.#ended(e.runId)
      }),
      api.on('failed', (e) => this.#ended(e.runId)),
    ]
    return () => offs.forEach((off) => off())
  }

  /** The first image of a run's final samples, as its thumbnail. */
  keepThumbnail(runId: string, samples: ArrayBuffer, shape: SampleStarted['shape']) {
    const per = shape.channels * shape.height * shape.width
    const values = new Float32Array(samples, 0, per).slice()
    this.thumbnails = { ...this.thumbnails, [runId]: { values, shape: { ...shape, batch: 1 } } }
  }

  #ended(runId: string) {
    this.live = this.live.filter((id) => id !== runId)
    this.refresh()
  }

  /** A run's whole timeline from the engine (memory or disk). */
  async frames(runId: string): Promise<RunFrames | null> {
    const r = await api.invoke('runs.frames', { runId })
    if (!r.ok) {
      toasts.error(r.error)
      return null
    }
    return r.value
  }

  /** Delete a run in the engine (its frames, in memory or on disk). */
  async remove(runId: string): Promise<boolean> {
    const r = await api.invoke('runs.delete', { runId })
    if (!r.ok) {
      toasts.error(r.error)
      return false
    }
    const { [runId]: _gone, ...thumbnails } = this.thumbnails
    this.thumbnails = thumbnails
    this.runs = this.runs.filter((s) => s.runId !== runId)
    this.refresh()
    return true
  }
}

export const history = new History()

/** "12.3 MB" */
export const formatBytes = (n: number) =>
  n < 1024
    ? `${n} B`
    : n < 1024 ** 2
      ? `${(n / 1024).toFixed(0)} KB`
      : n < 1024 ** 3
        ? `${(n / 1024 ** 2).toFixed(n < 100 * 1024 ** 2 ? 1 : 0)} MB`
        : `${(n / 1024 ** 3).toFixed(2)} GB`
