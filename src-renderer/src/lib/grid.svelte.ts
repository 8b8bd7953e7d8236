/**
 * Class x seed grid of a class-conditional model: one batch a class (N seeds from the sidebar's seed),
 * the sidebar's sampler and guidance; rows are the classes, columns the seeds. Exported as one labelled
 * PNG (export.save grid-sheet). Only the newest predicted x0, then the final samples, are kept.
 */
import type { ModelCard, RunSummary, SampleStartRequest } from '../../../src-preload/contract'
import { LIVE_UPDATE_MS } from '../../../src-shared/limits'
import type { GenerationParameters } from '../../../src-shared/parameters'
import { api } from './api'
import { onceAFrame } from './display-frame'
import type { Parameters } from './parameters.svelte'
import type { Shape } from './run.svelte'
import { cancelRuns, startRuns, updateRun } from './side-runs'
import { toasts } from './toasts.svelte'

export const DEFAULT_GRID_SEEDS = 4
export const MAX_GRID_SEEDS = 16

export interface GridRow {
  classLabel: number
  name: string
  runId: string
  shape: Shape
  /** The final samples, or the newest predicted x0 while sampling. */
  images: Float32Array | null
  step: number
  total: number
  status: 'running' | 'done' | 'failed'
}

class Grid {
  seeds = $state(DEFAULT_GRID_SEEDS)
  rows = $state.raw<GridRow[]>([])
  /** The seed (and variation) of the grid shown: its columns are that batch's images. */
  noise = $state<Pick<GenerationParameters, 'seed' | 'variation'> | null>(null)
  starting = $state(false)
  exporting = $state(false)

  running = $derived(this.starting || this.rows.some((r) => r.status === 'running'))
  ready = $derived(this.rows.length > 0 && this.rows.every((r) => r.status === 'done') && !this.exporting)
  progress = $derived(
    this.rows.reduce((n, r) => n + r.step, 0) /
      Math.max(
        1,
        this.rows.reduce((n, r) => n + r.total, 0),
      ),
  )

  async start(card: ModelCard, p: Parameters) {
    if (this.running || !card.classes) return
    const seeds = Math.min(
      MAX_GRID_SEEDS,
      Math.max(1, Math.round(Number.isFinite(this.seeds) ? this.seeds : DEFAULT_GRID_SEEDS)),
    )
    this.seeds = seeds
    const base = p.request(card, { redraw: false })
    const guided = card.classes.nullClassId !== null
    const names = card.classes.names
    const requests = names.map((_, k): SampleStartRequest => {
      const req: SampleStartRequest = { ...base, batch: seeds, classLabel: k }
      if (guided) req.guidance = p.guidance
      return req
    })
    this.starting = true
    this.rows = []
    this.noise = { seed: base.seed, ...(base.variation && { variation: base.variation }) }
    try {
      this.rows = (await startRuns(requests, 'grid')).map(({ index: k, started }) => ({
        classLabel: k,
        name: names[k],
        runId: started.runId,
        shape: started.shape,
        images: null,
        step: 0,
        total: started.timesteps.length,
        status: 'running' as const,
      }))
    } finally {
      this.starting = false
    }
  }

  /** Show a grid of the history again: each row's final images (or its state when it did not finish). */
  async reopen(runs: RunSummary[], card: ModelCard | null) {
    if (this.running) return
    const answers = await Promise.all(runs.map((r) => api.invoke('runs.frames', { runId: r.runId })))
    this.noise = runs[0]?.parameters ?? null
    this.seeds = runs[0]?.shape.batch ?? this.seeds
    this.rows = runs.map((r, i) => {
      const a = answers[i]
      const classLabel = r.parameters.classLabel ?? 0
      const samples = a.ok ? a.value.samples : null
      return {
        classLabel,
        name: card?.classes?.names[classLabel] ?? `class ${classLabel}`,
        runId: r.runId,
        shape: r.shape,
        images: samples ? new Float32Array(samples) : null,
        step: samples ? r.steps : 0,
        total: r.steps,
        status: samples ? 'done' : 'failed',
      }
    })
  }

  #update(runId: string, change: (r: GridRow) => GridRow) {
    this.rows = updateRun(this.rows, runId, change)
  }

  /** The newest frame event of each row not yet applied (applied once a display frame). */
  #pending = new Map<string, { step: number; total: number; images?: Float32Array }>()
  #schedule = onceAFrame(() => this.flush(), LIVE_UPDATE_MS)

  flush() {
    const pending = this.#pending
    this.#pending = new Map()
    for (const [runId, p] of pending)
      this.#update(runId, (r) => ({ ...r, step: p.step, total: p.total, images: p.images ?? r.images }))
  }

  listen(): () => void {
    const offs = [
      api.on('frame', (e) => {
        if (!this.rows.some((r) => r.runId === e.runId)) return
        const images = e.pixels ? new Float32Array(e.pixels.predictedX0) : this.#pending.get(e.runId)?.images
        this.#pending.set(e.runId, { step: e.index + 1, total: e.total, images })
        this.#schedule()
      }),
      api.on('done', (e) => {
        this.flush()
        this.#update(e.runId, (r) => ({ ...r, images: new Float32Array(e.samples), step: r.total, status: 'done' }))
      }),
      api.on('failed', (e) =>
        this.#update(e.runId, (r) => {
          if (e.error.code !== 'cancelled') toasts.error(e.error)
          return { ...r, status: 'failed' }
        }),
      ),
    ]
    return () => offs.forEach((off) => off())
  }

  async cancel() {
    await cancelRuns(this.rows)
  }

  async save() {
    if (!this.ready) return
    const [first, ...rest] = this.rows
    this.exporting = true
    try {
      const r = await api.invoke('export.save', {
        runId: first.runId,
        with: rest.map((x) => x.runId),
        kind: 'grid-sheet',
        rowLabels: this.rows.map((x) => x.name.slice(0, 40)),
      })
      if (!r.ok) toasts.error(r.error)
      else if (r.value.paths.length) toasts.info(`Saved ${r.value.paths.join(', ')}`)
    } finally {
      this.exporting = false
    }
  }
}

export const grid = new Grid()
