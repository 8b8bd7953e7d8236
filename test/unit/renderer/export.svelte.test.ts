/** Exporting the run shown (lib/export.svelte.ts): PNGs, sheet, GIF at a scale; a cancelled run's GIF. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { Result } from '../../../src-preload/contract'
import { fail, floats, frameEvent, loadRenderer, ok, type Renderer, started } from './fake-api'

let r: Renderer
let stopListening: () => void

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
  stopListening = r.run.listen()
})
afterEach(() => {
  stopListening()
  vi.useRealTimers()
})

async function runTo(end: 'done' | 'cancelled' | 'running') {
  r.api.answer('sample.start', ok(started('a', { parameters: { ...started('a').parameters, seed: 5 } })))
  await r.run.start({ sampler: {}, seed: 5, batch: 2 })
  if (end === 'done') r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
  if (end === 'cancelled') r.api.emit('failed', { runId: 'a', error: { code: 'cancelled', message: 'cancelled' } })
}

describe('exporter', () => {
  it('is ready for a finished run only', async () => {
    expect(r.exporter.ready).toBe(false)
    await runTo('running')
    expect(r.exporter.ready).toBe(false)
    r.api.emit('failed', { runId: 'a', error: { code: 'cancelled', message: 'cancelled' } })
    expect(r.exporter.ready).toBe(false) // no final samples
    await runTo('done')
    expect(r.exporter.ready).toBe(true)
  })

  it('asks nothing of the engine before the run is done', async () => {
    await runTo('running')
    await r.exporter.save('png')
    expect(r.api.requests('export.save')).toEqual([])
  })

  it('saves the image the timeline shows, or all of them, a sheet, a GIF of the chosen view or a steps sheet', async () => {
    await runTo('done')
    r.timeline.select(1)
    r.api.answer('export.save', ok({ paths: ['/out/x'] }))
    r.exporter.gifOf = 'xt'
    r.exporter.gifFrames = 30
    r.exporter.gifDelayMs = 120
    r.exporter.sheetColumns = 6
    for (const kind of ['png', 'all', 'sheet', 'gif', 'steps-sheet'] as const) await r.exporter.save(kind)
    // No scale chosen (auto): none asked for, so the engine's own (PNGs 1x, GIFs and sheets enlarged).
    expect(r.exporter.scale).toBe(null)
    expect(r.api.requests('export.save')).toEqual([
      { runId: 'a', kind: 'png', index: 1 },
      { runId: 'a', kind: 'png' },
      { runId: 'a', kind: 'sheet' },
      { runId: 'a', kind: 'gif', index: 1, gifOf: 'xt', gifFrames: 30, gifDelayMs: 120 },
      // The steps sheet: the selected image at the steps asked for, its own count.
      { runId: 'a', kind: 'steps-sheet', index: 1, gifFrames: 6 },
    ])
  })

  it('takes back the options a session left, and gives them as settings keep them', () => {
    r.exporter.restore({ scale: 4, gifOf: 'xt', gifFrames: 12, gifDelayMs: 120, sheetColumns: 6 })
    expect(r.exporter).toMatchObject({ scale: 4, gifOf: 'xt', gifFrames: 12, gifDelayMs: 120, sheetColumns: 6 })
    r.exporter.sheetColumns = 8
    expect(r.exporter.options()).toEqual({ scale: 4, gifOf: 'xt', gifFrames: 12, gifDelayMs: 120, sheetColumns: 8 })
  })

  it('exports at the scale chosen; one image by its index (a tile menu)', async () => {
    await runTo('done')
    r.api.answer('export.save', ok({ paths: ['/out/x'] }))
    r.exporter.scale = 8
    await r.exporter.save('png', 0)
    await r.exporter.save('sheet')
    expect(r.api.requests('export.save')).toEqual([
      { runId: 'a', kind: 'png', index: 0, scale: 8 },
      { runId: 'a', kind: 'sheet', scale: 8 },
    ])
  })

  it("a cancelled run's steps export as a GIF or a steps sheet; its PNGs and sheet wait for a finished run", async () => {
    await runTo('running')
    expect(r.exporter.gifReady).toBe(false)
    r.api.emit('frame', frameEvent('a', 0))
    r.api.emit('failed', { runId: 'a', error: { code: 'cancelled', message: 'cancelled' } })
    expect(r.exporter.ready).toBe(false)
    expect(r.exporter.gifReady).toBe(true)
    r.api.answer('export.save', ok({ paths: ['/out/x.gif'] }))
    await r.exporter.save('png')
    await r.exporter.save('gif')
    await r.exporter.save('steps-sheet')
    expect(r.api.requests('export.save').map((q) => q.kind)).toEqual(['gif', 'steps-sheet'])
  })

  it("the engine's PNG of one image, with its parameters, as a file (the browser's download)", async () => {
    await runTo('done')
    const bytes = new Uint8Array([137, 80, 78, 71]).buffer
    r.api.answer('export.encode', ok({ files: [{ name: 'seed-8.png', bytes }] }))
    const f = await r.exporter.pngFile(1)
    expect(r.api.requests('export.encode')).toEqual([{ runId: 'a', kind: 'png', index: 1 }])
    expect([f?.name, f?.type, f?.size]).toEqual(['seed-8.png', 'image/png', 4])
  })

  it('says where the files went; nothing when the save dialog was cancelled; errors in a toast', async () => {
    await runTo('done')
    const messages = () => r.toasts.items.map((t) => `${t.kind}: ${t.message}`)
    r.api.answer('export.save', ok({ paths: ['/out/seed-5.png'] }))
    await r.exporter.save('png')
    r.api.answer('export.save', ok({ paths: ['/out/seed-5.png', '/out/seed-6.png'] }))
    await r.exporter.save('all')
    r.api.answer('export.save', ok({ paths: [] }))
    await r.exporter.save('sheet')
    r.api.answer('export.save', fail('disk full'))
    await r.exporter.save('gif')
    expect(messages()).toEqual([
      'info: Saved /out/seed-5.png',
      'info: Saved 2 files: /out/seed-5.png, /out/seed-6.png',
      'error: disk full',
    ])
  })

  it('one export at a time', async () => {
    await runTo('done')
    let answer!: (r: Result<{ paths: string[] }>) => void
    r.api.answer('export.save', () => new Promise((resolve) => (answer = resolve)))
    const first = r.exporter.save('gif')
    expect(r.exporter).toMatchObject({ busy: true, ready: false })
    await r.exporter.save('png')
    answer(ok({ paths: [] }))
    await first
    expect(r.api.requests('export.save')).toHaveLength(1)
    expect(r.exporter).toMatchObject({ busy: false, ready: true })
  })
})
