/**
 * Exporting the run shown: PNGs (parameters embedded by the engine), the contact sheet, a timeline GIF,
 * each scaled 1x-16x (nearest); and one image copied to the clipboard or downloaded (the browser's way
 * to drag an image out as a PNG with its parameters).
 */
import type { ExportOptions, ExportRequest } from '../../../src-preload/contract'
import {
  DEFAULT_GIF_DELAY_MS,
  DEFAULT_GIF_FRAMES,
  DEFAULT_SHEET_COLUMNS,
  MAX_EXPORT_SCALE,
  MAX_SHEET_COLUMNS,
} from '../../../src-shared/limits'
import { imageSeedText } from '../../../src-shared/parameters'
import { api } from './api'
import { imageDataOf, SAMPLE_RANGE } from './draw'
import { run } from './run.svelte'
import { timeline } from './timeline.svelte'
import { toasts } from './toasts.svelte'

/**
 * What the export bar saves: one PNG, every PNG of the batch, the contact sheet, a GIF or an APNG, a walk's
 * GIF, or the selected image's steps sheet (its x_t, x̂0 and ε̂ at `sheetColumns` steps).
 */
export type SaveKind = 'png' | 'all' | 'sheet' | 'gif' | 'apng' | 'walk-gif' | 'steps-sheet'
export { MAX_EXPORT_SCALE, MAX_SHEET_COLUMNS }
/** The scales offered: powers of two up to MAX_EXPORT_SCALE. */
export const EXPORT_SCALES = [1, 2, 4, 8, 16].filter((s) => s <= MAX_EXPORT_SCALE)

class Exporter {
  gifOf = $state<'xt' | 'x0'>('x0')
  gifFrames = $state(DEFAULT_GIF_FRAMES)
  gifDelayMs = $state(DEFAULT_GIF_DELAY_MS)
  /** The steps a steps sheet shows, a column each (first and last in). */
  sheetColumns = $state(DEFAULT_SHEET_COLUMNS)
  /**
   * Nearest-neighbour enlargement of every export (and of copied images); 1 keeps the model's size. null is
   * auto: PNGs and copies at the model's size, GIFs, APNGs and sheets as large as the engine makes them when
   * no scale is asked for (at least 256 px: a 28 px digit's GIF is a visible one; engine/export/gif.ts).
   */
  scale = $state<number | null>(null)
  busy = $state(false)

  /** The run shown is a walk: its images make a GIF of their own. */
  walk = $derived(!!run.parameters?.variation?.walk)
  /** A finished run exports everything; a cancelled one the GIF of the steps it made. */
  ready = $derived(run.status === 'done' && run.runId !== null && !this.busy)
  gifReady = $derived(
    (run.status === 'done' || (run.status === 'cancelled' && run.frames.length > 0)) &&
      run.runId !== null &&
      !this.busy,
  )

  /** The request for `kind`, of image `index` (default: the one the timeline shows). */
  request(kind: SaveKind, index = timeline.image): ExportRequest | null {
    if (!run.runId) return null
    const req: ExportRequest = { runId: run.runId, kind: kind === 'all' ? 'png' : kind }
    if (this.scale !== null) req.scale = this.scale
    const animation = kind === 'gif' || kind === 'apng'
    if (kind === 'png' || kind === 'steps-sheet' || animation) req.index = index
    if (animation) Object.assign(req, { gifOf: this.gifOf, gifFrames: this.gifFrames, gifDelayMs: this.gifDelayMs })
    if (kind === 'walk-gif') req.gifDelayMs = this.gifDelayMs
    if (kind === 'steps-sheet') req.gifFrames = this.sheetColumns
    return req
  }

  /** The options as settings keep them (plain data: no proxies cross IPC). */
  options(): ExportOptions {
    const { scale, gifOf, gifFrames, gifDelayMs, sheetColumns } = this
    return { scale, gifOf, gifFrames, gifDelayMs, sheetColumns }
  }

  /** The options as the last session left them (settings.get's `export`). */
  restore(o: ExportOptions): void {
    Object.assign(this, o)
  }

  async save(kind: SaveKind, index?: number): Promise<void> {
    if (!(kind === 'gif' || kind === 'apng' || kind === 'steps-sheet' ? this.gifReady : this.ready)) return
    const req = this.request(kind, index)
    if (!req) return
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

  /** The engine's PNG of image `index` (parameters inside), as a file to hand to the browser. */
  async pngFile(index: number): Promise<File | null> {
    const req = this.ready ? this.request('png', index) : null
    if (!req) return null
    const r = await api.invoke('export.encode', req)
    if (!r.ok) {
      toasts.error(r.error)
      return null
    }
    const [f] = r.value.files
    return new File([f.bytes], f.name, { type: 'image/png' })
  }

  /**
   * Download image `index` as the engine's PNG with its parameters: in the browser host the way to take an
   * image out of the page (a drag out of a browser can only carry a URL).
   */
  async download(index: number): Promise<void> {
    const file = await this.pngFile(index)
    if (!file) return
    const url = URL.createObjectURL(file)
    const a = Object.assign(document.createElement('a'), { href: url, download: file.name })
    a.click()
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
  }

  /** Image `index` of the final samples onto the clipboard as a PNG, at the export scale. */
  async copy(index: number): Promise<void> {
    const values = run.samples
    const shape = run.shape
    if (!values || !shape) return
    const canvas = document.createElement('canvas')
    const scale = this.scale ?? 1
    canvas.width = shape.width * scale
    canvas.height = shape.height * scale
    const context = canvas.getContext('2d')!
    const small = document.createElement('canvas')
    small.width = shape.width
    small.height = shape.height
    small.getContext('2d')!.putImageData(imageDataOf(values, shape, index, SAMPLE_RANGE), 0, 0)
    context.imageSmoothingEnabled = false
    context.drawImage(small, 0, 0, canvas.width, canvas.height)
    try {
      // The promise, not the blob: Safari wants the ClipboardItem made inside the user's gesture.
      const png = new Promise<Blob>((resolve, reject) =>
        canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the image could not be encoded'))), 'image/png'),
      )
      await navigator.clipboard.write([new ClipboardItem({ 'image/png': png })])
      const seed = run.parameters ? ` (${imageSeedText(run.parameters, index, run.shape?.batch ?? 1)})` : ''
      toasts.info(`Copied image ${index + 1}${seed} to the clipboard`)
    } catch (e) {
      toasts.error(`Copy failed: ${(e as Error).message}`)
    }
  }
}

export const exporter = new Exporter()
