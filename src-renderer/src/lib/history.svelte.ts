/**
 * Every run the engine keeps (runs.list): this session's and, in the app and the browser host, those of
 * earlier sessions. A number each, thumbnails fetched for the entries in view, the gallery's query, the
 * frames' memory and the timelines' disk budget, and delete with undo: a deleted entry disappears at once
 * and is deleted in the engine when its undo has expired.
 */
import type { RunFrames, RunList, RunSummary, SampleStarted } from '../../../src-preload/contract'
import { MAX_THUMBNAILS_A_REQUEST } from '../../../src-shared/limits'
import { api } from './api'
import { EMPTY_QUERY, entriesOf, type Entry, type Query, type RunKind } from './gallery'
import { steps } from './steps.svelte'
import { toasts } from './toasts.svelte'

export type { RunKind }

export interface Thumbnail {
  /** The first image's final sample, small: float32 [1, channels, height, width]. */
  values: Float32Array
  shape: SampleStarted['shape']
}

/** Refreshes of runs.list closer together than this are merged. */
const REFRESH_DEBOUNCE_MS = 150
/** How long a deleted entry can be brought back. */
export const UNDO_MS = 8000

class History {
  runs = $state.raw<RunSummary[]>([])
  memoryBytes = $state(0)
  budgetBytes = $state(0)
  diskBytes = $state(0)
  diskBudgetBytes = $state(0)
  /** The runs outlive the session (false in tests and hosts without a history folder). */
  persistent = $state(false)
  thumbnails = $state.raw<Record<string, Thumbnail>>({})
  query = $state<Query>({ ...EMPTY_QUERY })
  /** Runs deleted and waiting for their undo to expire: hidden already. */
  hidden = $state.raw<string[]>([])
  /** Runs started here: when it grows, the gallery scrolls its newest entry into view. */
  startedCount = $state(0)
  #timer: ReturnType<typeof setTimeout> | undefined
  #thumbsAsked = new Set<string>()

  /** Entries (a group one entry), newest first, without those deleted a moment ago. */
  entries = $derived(entriesOf(this.runs.filter((r) => !this.hidden.includes(r.runId))))
  /** Runs still sampling. */
  live = $derived(this.runs.filter((r) => r.status === 'running').map((r) => r.runId))

  /** A run's number (#n), as the engine gave it: kept across sessions. */
  number(runId: string): number | undefined {
    return this.runs.find((r) => r.runId === runId)?.number
  }

  /** A run just started here (by Generate, a fork, an image, the compare view or the grid). */
  started(s: SampleStarted, group?: RunSummary['group']) {
    // Listed at once; runs.list then says the rest.
    if (!this.runs.some((r) => r.runId === s.runId)) {
      this.runs = [
        ...this.runs,
        {
          runId: s.runId,
          number: s.number,
          createdAt: Date.now(),
          parameters: s.parameters,
          shape: s.shape,
          steps: s.startStep,
          status: 'running',
          timeline: true,
          bytes: 0,
          ...(s.parent && { parent: s.parent }),
          ...(group && { group }),
        },
      ]
    }
    this.startedCount++
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
    this.#adopt(r.value)
  }

  #adopt(list: RunList) {
    this.runs = list.runs
    this.memoryBytes = list.memoryBytes
    this.budgetBytes = list.budgetBytes
    this.diskBytes = list.diskBytes
    this.diskBudgetBytes = list.diskBudgetBytes
    this.persistent = list.persistent
  }

  /** Subscribe to the run events every run sends; returns the unsubscribe (call from an $effect). */
  listen(): () => void {
    const ended = (runId: string, status: RunSummary['status']) => {
      this.runs = this.runs.map((s) => (s.runId === runId ? { ...s, status } : s))
      this.refresh()
    }
    const offs = [
      api.on('done', (e) => {
        const run = this.runs.find((s) => s.runId === e.runId)
        if (run) this.keepThumbnail(e.runId, e.samples, run.shape)
        ended(e.runId, 'done')
      }),
      api.on('failed', (e) => ended(e.runId, e.error.code === 'cancelled' ? 'cancelled' : 'failed')),
    ]
    return () => offs.forEach((off) => off())
  }

  /** The first image of a run's final samples, as its thumbnail. */
  keepThumbnail(runId: string, samples: ArrayBuffer, shape: SampleStarted['shape']) {
    const per = shape.channels * shape.height * shape.width
    const values = new Float32Array(samples, 0, per).slice()
    this.thumbnails = { ...this.thumbnails, [runId]: { values, shape: { ...shape, batch: 1 } } }
  }

  /** Fetch the thumbnails of these finished runs that are not here yet (the entries in view). */
  async wantThumbnails(runIds: string[]) {
    const missing = runIds.filter((id) => !this.thumbnails[id] && !this.#thumbsAsked.has(id))
    if (missing.length === 0) return
    missing.forEach((id) => this.#thumbsAsked.add(id))
    const r = await api.invoke('runs.thumbnails', { runIds: missing.slice(0, MAX_THUMBNAILS_A_REQUEST) })
    if (!r.ok) return
    const got = Object.fromEntries(
      r.value.thumbnails.map((t) => [t.runId, { values: new Float32Array(t.values), shape: t.shape }]),
    )
    this.thumbnails = { ...this.thumbnails, ...got }
  }

  /** A run's steps from the engine (memory or disk). */
  async frames(runId: string): Promise<RunFrames | null> {
    const r = await api.invoke('runs.frames', { runId })
    if (!r.ok) {
      toasts.error(r.error)
      return null
    }
    return r.value
  }

  /**
   * Delete runs (an entry's): hidden at once, a toast offers to undo it, and when that has expired the
   * engine deletes them. `deleted` is told which went.
   */
  remove(e: Pick<Entry, 'kind' | 'runs'>, deleted: (runIds: string[]) => void = () => {}) {
    const ids = e.runs.map((r) => r.runId)
    this.hidden = [...this.hidden, ...ids]
    const what = ids.length > 1 ? `${e.kind} of ${ids.length} runs` : `run #${this.number(ids[0])}`
    let undone = false
    const unhide = () => (this.hidden = this.hidden.filter((id) => !ids.includes(id)))
    const timer = setTimeout(async () => {
      if (undone) return
      const results = await Promise.all(ids.map((runId) => api.invoke('runs.delete', { runId })))
      const failed = results.find((r) => !r.ok)
      if (failed && !failed.ok) toasts.error(failed.error)
      const gone = ids.filter((_, i) => results[i].ok)
      gone.forEach((id) => steps.forget(id))
      const { ...thumbnails } = this.thumbnails
      gone.forEach((id) => delete thumbnails[id])
      this.thumbnails = thumbnails
      this.runs = this.runs.filter((s) => !gone.includes(s.runId))
      unhide()
      deleted(gone)
      this.refresh()
    }, UNDO_MS)
    toasts.push('info', `Deleted ${what}`, {
      label: 'Undo',
      ms: UNDO_MS,
      run: () => {
        undone = true
        clearTimeout(timer)
        unhide()
      },
    })
  }

  /** A new disk budget for the timelines. */
  async setDiskBudget(bytes: number) {
    const r = await api.invoke('runs.budget', { diskBudgetBytes: bytes })
    if (!r.ok) toasts.error(r.error)
    else this.#adopt(r.value)
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
