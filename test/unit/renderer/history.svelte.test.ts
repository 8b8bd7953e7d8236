/**
 * The history (lib/history.svelte.ts) and its gallery (lib/gallery.ts): numbering, runs.list refreshes,
 * thumbnails, groups as one entry, search and filters, delete with undo, the disk budget.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { RunSummary } from '../../../src-preload/contract'
import {
  fail,
  floats,
  generationParameters,
  loadRenderer,
  ok,
  type Renderer,
  runList,
  started,
  summary,
} from './fake-api'

let r: Renderer
let stopListening: () => void

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
  stopListening = r.history.listen()
})
afterEach(() => {
  stopListening()
  vi.useRealTimers()
})

const listed = (runs: RunSummary[], o = {}) => ok(runList(runs, o))

describe('started', () => {
  it('numbers and lists each run started here at once, sampling, newest entry first', () => {
    r.history.started(started('a'))
    r.history.started(started('b', { startStep: 2, parent: { runId: 'a', step: 2 } }))
    expect(r.history.number('a')).toBe(1)
    expect(r.history.number('b')).toBe(2)
    expect(r.history.number('never')).toBeUndefined()
    expect(r.history.live).toEqual(['a', 'b'])
    expect(r.history.runs).toMatchObject([
      { runId: 'a', steps: 0, status: 'running', bytes: 0 },
      { runId: 'b', steps: 2, status: 'running', parent: { runId: 'a', step: 2 } },
    ])
    expect(r.history.entries.map((e) => e.id)).toEqual(['b', 'a'])
    expect(r.history.startedCount).toBe(2)
  })

  it('asks runs.list once for starts in a row, 150 ms after the last, and takes its word', async () => {
    r.api.answer('runs.list', listed([summary('a', { status: 'running', bytes: 64 })], { memoryBytes: 64 }))
    r.history.started(started('a'))
    vi.advanceTimersByTime(100)
    r.history.started(started('b'))
    vi.advanceTimersByTime(149)
    expect(r.api.requests('runs.list')).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(r.api.requests('runs.list')).toEqual([{}])
    // The engine's list is the truth: b is not in it (e.g. already deleted).
    expect(r.history.runs.map((s) => s.runId)).toEqual(['a'])
    expect(r.history).toMatchObject({ memoryBytes: 64, budgetBytes: 1024, diskBudgetBytes: 2048, persistent: false })
  })

  it("shows the engine's numbers: runs of earlier sessions keep theirs, and a deleted one's is not given again", async () => {
    r.api.answer('runs.list', listed([summary('x', { number: 4 }), summary('y', { number: 9 })], { persistent: true }))
    r.history.refresh()
    await vi.runAllTimersAsync()
    expect(r.history.persistent).toBe(true)
    r.history.started(started('z', { number: 11 }))
    expect(['x', 'y', 'z'].map((id) => r.history.number(id))).toEqual([4, 9, 11])
    r.api.answer('runs.list', listed([summary('y', { number: 9 }), summary('z', { number: 11 })]))
    r.history.refresh()
    await vi.runAllTimersAsync()
    expect(r.history.number('z')).toBe(11)
    expect(r.history.number('x')).toBeUndefined()
  })

  it('a failed runs.list leaves the list as it was and says why', async () => {
    r.history.started(started('a'))
    r.api.answer('runs.list', fail('engine gone'))
    await vi.advanceTimersByTimeAsync(150) // not all timers: the toast's own would dismiss it
    expect(r.history.runs.map((s) => s.runId)).toEqual(['a'])
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'engine gone' }])
  })
})

describe('events and thumbnails', () => {
  it('done keeps the first image as the thumbnail and marks the run done', async () => {
    r.api.answer('runs.list', listed([summary('a')]))
    r.history.started(started('a')) // batch 2 of 1x2x2
    const samples = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8])
    r.api.emit('done', { runId: 'a', samples: samples.buffer, elapsedMs: 10 })
    const thumb = r.history.thumbnails.a
    expect([...thumb.values]).toEqual([1, 2, 3, 4])
    expect(thumb.shape).toEqual({ batch: 1, channels: 1, height: 2, width: 2 })
    samples[0] = 99
    expect(thumb.values[0]).toBe(1) // a copy: the event's buffer may be reused or transferred
    expect(r.history.runs[0].status).toBe('done')
    expect(r.history.live).toEqual([])
    await vi.runAllTimersAsync()
    expect(r.api.requests('runs.list')).toHaveLength(1)
  })

  it('a cancelled run is no longer live, and has no thumbnail', () => {
    r.history.started(started('a'))
    r.history.started(started('b'))
    r.api.emit('failed', { runId: 'a', error: { code: 'cancelled', message: 'cancelled' } })
    expect(r.history.live).toEqual(['b'])
    expect(r.history.runs[0].status).toBe('cancelled')
    expect(r.history.thumbnails).toEqual({})
  })

  it('fetches the thumbnails of runs of earlier sessions once', async () => {
    r.api.answer('runs.thumbnails', (req) =>
      ok({
        thumbnails: req.runIds
          .filter((id) => id !== 'cut')
          .map((runId) => ({ runId, shape: { batch: 1, channels: 1, height: 1, width: 2 }, values: floats(0.5, 2) })),
      }),
    )
    await r.history.wantThumbnails(['x', 'cut'])
    await r.history.wantThumbnails(['x', 'cut', 'y'])
    expect(r.api.requests('runs.thumbnails')).toEqual([{ runIds: ['x', 'cut'] }, { runIds: ['y'] }])
    expect(Object.keys(r.history.thumbnails).sort()).toEqual(['x', 'y'])
    expect([...r.history.thumbnails.x.values]).toEqual([0.5, 0.5])
  })

  it('listens no more once unsubscribed', () => {
    stopListening()
    expect(r.api.listenerCount('done') + r.api.listenerCount('failed')).toBe(0)
  })
})

describe('frames, delete with undo, the disk budget', () => {
  it("fetches a run's steps, or says why not", async () => {
    const frames = {
      runId: 'a',
      parameters: generationParameters(),
      shape: { batch: 1, channels: 1, height: 2, width: 2 },
      timesteps: [0],
      frames: [],
      samples: null,
      timeline: true,
    }
    r.api.answer('runs.frames', ok(frames))
    expect(await r.history.frames('a')).toBe(frames)
    expect(r.api.requests('runs.frames')).toEqual([{ runId: 'a' }])
    r.api.answer('runs.frames', fail('file missing'))
    expect(await r.history.frames('a')).toBeNull()
    expect(r.toasts.items).toMatchObject([{ message: 'file missing' }])
  })

  it('hides a deleted entry at once, deletes it in the engine when its undo expires', async () => {
    r.history.started(started('a'))
    r.history.started(started('b'))
    r.api.answer('runs.list', listed([summary('b')]))
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
    r.api.emit('done', { runId: 'b', samples: floats(1), elapsedMs: 1 })
    const gone: string[][] = []
    r.history.remove(r.history.entries[1], (ids) => gone.push(ids))
    expect(r.history.entries.map((e) => e.id)).toEqual(['b'])
    expect(r.toasts.items).toMatchObject([{ kind: 'info', message: 'Deleted run #1', action: { label: 'Undo' } }])
    expect(r.api.requests('runs.delete')).toEqual([])
    r.api.answer('runs.delete', ok({ deleted: true }))
    await vi.advanceTimersByTimeAsync(r.UNDO_MS)
    expect(r.api.requests('runs.delete')).toEqual([{ runId: 'a' }])
    expect(gone).toEqual([['a']])
    expect(r.history.runs.map((s) => s.runId)).toEqual(['b'])
    expect(r.history.thumbnails.a).toBeUndefined()
    expect(r.history.hidden).toEqual([])
  })

  it('undo brings the entry back and the engine deletes nothing', async () => {
    r.api.answer('runs.list', listed([summary('a')]))
    r.history.started(started('a'))
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
    r.history.remove(r.history.entries[0])
    expect(r.history.entries).toEqual([])
    r.toasts.items[0].action!.run()
    expect(r.history.entries.map((e) => e.id)).toEqual(['a'])
    await vi.advanceTimersByTimeAsync(r.UNDO_MS + 1000)
    expect(r.api.requests('runs.delete')).toEqual([])
  })

  it('a group goes as one entry; a delete the engine refuses brings it back with the reason', async () => {
    const grid = { id: 'g', kind: 'grid' as const }
    r.api.answer('runs.list', listed([summary('r0', { group: grid }), summary('r1', { group: grid })]))
    r.history.refresh()
    await vi.advanceTimersByTimeAsync(150)
    expect(r.history.entries).toHaveLength(1)
    r.history.remove(r.history.entries[0])
    expect(r.toasts.items[0].message).toBe('Deleted grid of 2 runs')
    r.api.answer('runs.delete', (req) => (req.runId === 'r1' ? fail('busy') : ok({ deleted: true })))
    r.api.answer('runs.list', listed([summary('r1', { group: grid })]))
    await vi.advanceTimersByTimeAsync(r.UNDO_MS)
    expect(r.api.requests('runs.delete')).toEqual([{ runId: 'r0' }, { runId: 'r1' }])
    expect(r.toasts.items.map((t) => t.message)).toContain('busy')
    expect(r.history.entries.map((e) => e.runs.map((s) => s.runId))).toEqual([['r1']])
  })

  it('sets the disk budget and shows what the engine answers', async () => {
    r.api.answer('runs.budget', (req) => ok(runList([], { diskBudgetBytes: req.diskBudgetBytes, diskBytes: 5 })))
    await r.history.setDiskBudget(1024 ** 3)
    expect(r.api.requests('runs.budget')).toEqual([{ diskBudgetBytes: 1024 ** 3 }])
    expect(r.history).toMatchObject({ diskBudgetBytes: 1024 ** 3, diskBytes: 5 })
  })
})

describe('the gallery', () => {
  const day = Date.UTC(2025, 2, 14, 12)
  const ctx = {
    classNames: [...'0123456789'].map((d) => `digit ${d}`),
    nullClassId: 10,
    number: (id: string) => Number(id.replace(/\D/g, '')) || undefined,
    now: day,
  }
  const p = (o: Partial<RunSummary['parameters']>) => generationParameters(o)
  const runs = [
    summary('r1', { createdAt: day - 40 * 86_400_000, parameters: p({ seed: 100, classLabel: 3, guidance: 3 }) }),
    summary('r2', {
      createdAt: day - 3 * 86_400_000,
      parameters: p({ seed: 42, sampler: { ...p({}).sampler, sampler: 'ddpm', steps: 1000 } }),
    }),
    summary('r3', { createdAt: day, group: { id: 'g', kind: 'grid' }, parameters: p({ seed: 7, classLabel: 0 }) }),
    summary('r4', { createdAt: day, group: { id: 'g', kind: 'grid' }, parameters: p({ seed: 7, classLabel: 1 }) }),
    summary('r5', { createdAt: day, parameters: { ...p({ seed: 5 }), model: 'other.onnx', modelHash: '5eed5eed12' } }),
  ]
  const entries = () => r.entriesOf(runs)
  const find = (q: Partial<typeof r.EMPTY_QUERY>) =>
    entries()
      .filter((e) => r.matches(e, { ...r.EMPTY_QUERY, ...q }, ctx))
      .map((e) => e.id)

  it('shows a grid run as one entry, newest first', () => {
    expect(entries().map((e) => [e.id, e.kind, e.runs.length])).toEqual([
      ['r5', 'run', 1],
      ['g', 'grid', 2],
      ['r2', 'run', 1],
      ['r1', 'run', 1],
    ])
  })

  it('searches seeds (any image of a batch), samplers, classes by name, dates, numbers and model hashes', () => {
    expect(find({ text: 'seed 42' })).toEqual(['r2'])
    expect(find({ text: '43' })).toEqual(['r2']) // image 2 of the batch of 2
    expect(find({ text: 'DDPM 1000' })).toEqual(['r2'])
    expect(find({ text: 'digit 1' })).toEqual(['g'])
    expect(find({ text: 'unconditional' })).toEqual(['r5', 'r2'])
    expect(find({ text: '2025-02' })).toEqual(['r1'])
    expect(find({ text: '#1' })).toEqual(['r1'])
    expect(find({ text: 'grid' })).toEqual(['g'])
    expect(find({ text: '5eed5eed' })).toEqual(['r5']) // the start of a model hash
    expect(find({ text: 'nothing like it' })).toEqual([])
  })

  it("finds a variation's batch by its seed or any image's variation seed, not by seed + k", () => {
    const varied = summary('v1', {
      createdAt: day,
      parameters: p({ seed: 300, variation: { seed: 600, strength: 0.2 } }),
    })
    const hit = (text: string) => r.entriesOf([varied]).some((e) => r.matches(e, { ...r.EMPTY_QUERY, text }, ctx))
    expect(varied.shape.batch).toBeGreaterThan(1)
    expect([hit('300'), hit('600'), hit(String(600 + varied.shape.batch - 1))]).toEqual([true, true, true])
    expect([hit('301'), hit(String(600 + varied.shape.batch))]).toEqual([false, false])
    // A walk goes to the one variation seed: found by its two ends.
    const walk = summary('w1', {
      createdAt: day,
      parameters: p({ seed: 300, variation: { seed: 600, strength: 1, walk: true } }),
    })
    const found = (text: string) => r.entriesOf([walk]).some((e) => r.matches(e, { ...r.EMPTY_QUERY, text }, ctx))
    expect([found('300'), found('600'), found('601')]).toEqual([true, true, false])
  })

  it('filters by model, sampler, class and date', () => {
    expect(find({ model: 'other.onnx' })).toEqual(['r5'])
    expect(find({ sampler: 'ddpm' })).toEqual(['r2'])
    expect(find({ classLabel: '3' })).toEqual(['r1'])
    expect(find({ classLabel: 'none' })).toEqual(['r5', 'r2'])
    expect(find({ date: 'today' })).toEqual(['r5', 'g'])
    expect(find({ date: 'week' })).toEqual(['r5', 'g', 'r2'])
    expect(find({ date: 'month', text: 'ddim' })).toEqual(['r5', 'g'])
    expect(r.filterChoices(runs, 10)).toEqual({
      models: ['other.onnx', 'tiny'],
      samplers: ['ddim', 'ddpm'],
      classes: [null, 0, 1, 3],
    })
  })
})

it('formats byte counts', () => {
  expect(r.formatBytes(512)).toBe('512 B')
  expect(r.formatBytes(2048)).toBe('2 KB')
  expect(r.formatBytes(12.34 * 1024 ** 2)).toBe('12.3 MB')
  expect(r.formatBytes(600 * 1024 ** 2)).toBe('600 MB')
  expect(r.formatBytes(3 * 1024 ** 3)).toBe('3.00 GB')
})
