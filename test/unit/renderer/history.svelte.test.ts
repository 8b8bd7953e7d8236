/** The session's runs (lib/history.svelte.ts): numbering, origins, runs.list refreshes, thumbnails, deleting. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { RunSummary } from '../../../src-preload/contract'
import { fail, floats, generationParameters, loadRenderer, ok, type Renderer, started } from './fake-api'

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

const summary = (runId: string, o: Partial<RunSummary> = {}): RunSummary => ({
  runId,
  parameters: generationParameters(),
  shape: { batch: 2, channels: 1, height: 2, width: 2 },
  steps: 4,
  finished: true,
  spilled: false,
  bytes: 1000,
  ...o,
})

const listed = (runs: RunSummary[], memoryBytes = 0, budgetBytes = 1 << 30) => ok({ runs, memoryBytes, budgetBytes })

describe('started', () => {
  it('numbers, lists and marks live each run started here, with how it came to be', () => {
    r.history.started(started('a'), 'run')
    r.history.started(started('b', { startStep: 2, parent: { runId: 'a', step: 2 } }), 'fork')
    expect(r.history.number('a')).toBe(1)
    expect(r.history.number('b')).toBe(2)
    expect(r.history.number('never')).toBeUndefined()
    expect(r.history.origins).toEqual({ a: { kind: 'run' }, b: { kind: 'fork', parent: { runId: 'a', step: 2 } } })
    expect(r.history.live).toEqual(['a', 'b'])
    expect(r.history.runs).toMatchObject([
      { runId: 'a', steps: 0, finished: false, bytes: 0 },
      { runId: 'b', steps: 2, finished: false },
    ])
    expect(r.history.newestFirst.map((s) => s.runId)).toEqual(['b', 'a'])
  })

  it('asks runs.list once for starts in a row, 150 ms after the last', async () => {
    r.api.answer('runs.list', listed([summary('a', { finished: false, bytes: 64 })], 64, 1024))
    r.history.started(started('a'), 'compare')
    vi.advanceTimersByTime(100)
    r.history.started(started('b'), 'compare')
    vi.advanceTimersByTime(149)
    expect(r.api.requests('runs.list')).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    expect(r.api.requests('runs.list')).toEqual([{}])
    // The engine's list is the truth: b is not in it (e.g. already deleted).
    expect(r.history.runs.map((s) => s.runId)).toEqual(['a'])
    expect(r.history).toMatchObject({ memoryBytes: 64, budgetBytes: 1024 })
  })

  it('numbers runs listed by the engine that this renderer did not start, and keeps numbers when runs go', async () => {
    r.api.answer('runs.list', listed([summary('x'), summary('y')]))
    r.history.refresh()
    await vi.runAllTimersAsync()
    r.history.started(started('z'), 'run')
    expect(['x', 'y', 'z'].map((id) => r.history.number(id))).toEqual([1, 2, 3])

    r.api.answer('runs.delete', ok({ deleted: true }))
    r.api.answer('runs.list', listed([summary('y'), summary('z')]))
    await r.history.remove('x')
    await vi.runAllTimersAsync()
    expect(r.history.runs.map((s) => s.runId)).toEqual(['y', 'z'])
    expect(r.history.number('z')).toBe(3)
  })

  it('a failed runs.list leaves the list as it was and says why', async () => {
    r.history.started(started('a'), 'run')
    r.api.answer('runs.list', fail('engine gone'))
    await vi.advanceTimersByTimeAsync(150) // not all timers: the toast's own would dismiss it
    expect(r.history.runs.map((s) => s.runId)).toEqual(['a'])
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'engine gone' }])
  })
})

describe('events', () => {
  it('done keeps the first image as the thumbnail, marks the run finished and no longer live', async () => {
    r.api.answer('runs.list', listed([summary('a')]))
    r.history.started(started('a'), 'run') // batch 2 of 1x2x2
    const samples = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8])
    r.api.emit('done', { runId: 'a', samples: samples.buffer, elapsedMs: 10 })
    const thumb = r.history.thumbnails.a
    expect([...thumb.values]).toEqual([1, 2, 3, 4])
    expect(thumb.shape).toEqual({ batch: 1, channels: 1, height: 2, width: 2 })
    samples[0] = 99
    expect(thumb.values[0]).toBe(1) // a copy: the event's buffer may be reused or transferred
    expect(r.history.runs[0].finished).toBe(true)
    expect(r.history.live).toEqual([])
    await vi.runAllTimersAsync()
    expect(r.api.requests('runs.list')).toHaveLength(1)
  })

  it('a failed run is no longer live, and has no thumbnail', () => {
    r.history.started(started('a'), 'run')
    r.history.started(started('b'), 'run')
    r.api.emit('failed', { runId: 'a', error: { code: 'cancelled', message: 'cancelled' } })
    expect(r.history.live).toEqual(['b'])
    expect(r.history.thumbnails).toEqual({})
  })

  it('no thumbnail for a run this renderer did not start (its shape is unknown)', () => {
    r.api.emit('done', { runId: 'stranger', samples: floats(1), elapsedMs: 1 })
    expect(r.history.thumbnails).toEqual({})
  })

  it('listens no more once unsubscribed', () => {
    stopListening()
    expect(r.api.listenerCount('done') + r.api.listenerCount('failed')).toBe(0)
  })
})

describe('frames and remove', () => {
  it("fetches a run's timeline, or says why not", async () => {
    const frames = {
      runId: 'a',
      parameters: generationParameters(),
      shape: { batch: 1, channels: 1, height: 2, width: 2 },
      timesteps: [0],
      frames: [],
      samples: null,
    }
    r.api.answer('runs.frames', ok(frames))
    expect(await r.history.frames('a')).toBe(frames)
    expect(r.api.requests('runs.frames')).toEqual([{ runId: 'a' }])
    r.api.answer('runs.frames', fail('spilled file missing'))
    expect(await r.history.frames('a')).toBeNull()
    expect(r.toasts.items).toMatchObject([{ message: 'spilled file missing' }])
  })

  it('removes a run and its thumbnail once the engine deleted it', async () => {
    r.api.answer('runs.list', listed([summary('b')]))
    r.history.started(started('a'), 'run')
    r.history.started(started('b'), 'run')
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
    r.api.answer('runs.delete', fail('busy'))
    expect(await r.history.remove('a')).toBe(false)
    expect(r.history.runs.map((s) => s.runId)).toEqual(['a', 'b'])
    expect(r.history.thumbnails.a).toBeDefined()

    r.api.answer('runs.delete', ok({ deleted: true }))
    expect(await r.history.remove('a')).toBe(true)
    expect(r.api.requests('runs.delete')).toEqual([{ runId: 'a' }, { runId: 'a' }])
    expect(r.history.runs.map((s) => s.runId)).toEqual(['b'])
    expect(r.history.thumbnails.a).toBeUndefined()
  })
})

it('formats byte counts', () => {
  expect(r.formatBytes(512)).toBe('512 B')
  expect(r.formatBytes(2048)).toBe('2 KB')
  expect(r.formatBytes(12.34 * 1024 ** 2)).toBe('12.3 MB')
  expect(r.formatBytes(600 * 1024 ** 2)).toBe('600 MB')
  expect(r.formatBytes(3 * 1024 ** 3)).toBe('3.00 GB')
})
