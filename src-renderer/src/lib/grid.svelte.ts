/**
 * Class x seed grid of a class-conditional model: one batch a class (N seeds from the sidebar's seed),
 * the sidebar's sampler and guidance; rows are the classes, columns the seeds. Exported as one labelled
 * PNG (export.save grid-sheet). Only the newest predicted x0, then the final samples, are kept.
 */
import type { ModelCard, SampleStartRequest } from '../../../src-preload/contract'
import { api } from './api'
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
  seed = $state<number | null>(null)
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
    this.seed = base.seed
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

  #update(runId: string, change: (r: GridRow) => GridRow) {
    this.rows = updateRun(this.rows, runId, change)
  }

  listen(): () => void {
    const offs = [
      api.on('frame', (e) =>
        this.#update(e.runId, (r) => ({
          ...r,
          images: new Float32Array(e.predictedX0),
          step: e.index + 1,
          total: e.total,
        })),
      ),
      api.on('done', (e) =>
        this.#update(e.runId, (r) => ({ ...r, images: new Float32Array(e.samples), step: r.total, status: 'done' })),
      ),
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
