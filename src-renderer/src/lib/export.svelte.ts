/** Exporting the finished run: PNGs (parameters embedded by the engine), the contact sheet, a timeline GIF. */
import type { ExportRequest } from '../../../src-preload/contract'
import { DEFAULT_GIF_FRAMES } from '../../../src-shared/limits'
import { api } from './api'
import { run } from './run.svelte'
import { timeline } from './timeline.svelte'
import { toasts } from './toasts.svelte'

/** What the export bar saves: one PNG, every PNG of the batch, the contact sheet, a GIF. */
export type SaveKind = 'png' | 'all' | 'sheet' | 'gif'
export const DEFAULT_GIF_DELAY_MS = 80

class Exporter {
  gifOf = $state<'xt' | 'x0'>('x0')
  gifFrames = $state(DEFAULT_GIF_FRAMES)
  gifDelayMs = $state(DEFAULT_GIF_DELAY_MS)
  busy = $state(false)

  /** The engine exports finished runs only (a cancelled one has no final samples). */
  ready = $derived(run.status === 'done' && run.runId !== null && !this.busy)

  async save(kind: SaveKind): Promise<void> {
    if (!this.ready || !run.runId) return
    const req: ExportRequest = { runId: run.runId, kind: kind === 'all' ? 'png' : kind }
    if (kind === 'png' || kind === 'gif') req.index = timeline.image
    if (kind === 'gif')
      Object.assign(req, { gifOf: this.gifOf, gifFrames: this.gifFrames, gifDelayMs: this.gifDelayMs })
    this.busy = true
    try {
      const r = await api.invoke('export.save', req)
      if (!r.ok) toasts.error(r.error)
      else if (r.value.paths.length === 1) toasts.info(`Saved ${r.value.paths[0]}`)
      else if (r.value.paths.length > 1) toasts.info(`Saved ${r.value.paths.length} files: ${r.value.paths.join(', ')}`)
      // No paths: the user cancelled the save dialog; nothing to say.
    } finally {
      this.busy = false
    }
  }
}

export const exporter = new Exporter()
