import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { batchEvents, type EventMessage } from '../../../src-main/service/event-batch'
import { EVENT_BATCH_MS } from '../../../src-shared/limits'

const progress = (runId: string, step: number, total = 100): EventMessage => ({
  event: 'progress',
  payload: { runId, step, total, calls: step, totalCalls: total, timestep: total - step, elapsedMs: step },
})
const frame = (runId: string, index: number, total = 100): EventMessage => ({
  event: 'frame',
  payload: { runId, index, total, timestep: total - index, alphaBar: 0.5, stats: [] },
})
const done = (runId: string): EventMessage => ({
  event: 'done',
  payload: { runId, samples: new ArrayBuffer(4), elapsedMs: 1 },
})

/** A run as the engine sends it: a frame then a progress a step, then done. */
function* run(runId: string, steps: number): Generator<EventMessage> {
  for (let i = 0; i < steps; i++) {
    yield frame(runId, i, steps)
    yield progress(runId, i + 1, steps)
  }
  yield done(runId)
}

describe('a page’s events gathered into batches', () => {
  let batches: EventMessage[][]
  beforeEach(() => {
    vi.useFakeTimers()
    batches = []
  })
  afterEach(() => vi.useRealTimers())

  it('sends at most one batch an interval, with every frame in order and the newest progress of each run', () => {
    const b = batchEvents((events) => batches.push(events))
    const events = [...run('a', 1000)]
    // Ten events a millisecond: 1000 steps in 200 ms.
    events.forEach((m, k) => {
      if (k % 10 === 0) vi.advanceTimersByTime(1)
      b.push(m)
    })
    const sent = batches.flat()
    // Every frame, once, in order; done last, behind the last frame.
    expect(sent.filter((m) => m.event === 'frame').map((m) => (m.payload as { index: number }).index)).toEqual(
      Array.from({ length: 1000 }, (_, i) => i),
    )
    expect(sent.at(-1)?.event).toBe('done')
    expect(sent.findLastIndex((m) => m.event === 'frame')).toBeLessThan(sent.length - 1)
    // A batch every EVENT_BATCH_MS at most, and the done at once.
    expect(batches.length).toBeLessThanOrEqual(Math.ceil(200 / EVENT_BATCH_MS) + 1)
    // Progress: one a batch at most, its counts only growing, the last one the run's end.
    const steps = sent.filter((m) => m.event === 'progress').map((m) => (m.payload as { step: number }).step)
    for (const batch of batches) expect(batch.filter((m) => m.event === 'progress').length).toBeLessThanOrEqual(1)
    expect(steps).toEqual([...steps].sort((x, y) => x - y))
    expect(steps.at(-1)).toBe(1000)
  })

  it('keeps each run’s progress apart, and sends a run’s end and an event of no run at once', () => {
    const b = batchEvents((events) => batches.push(events))
    b.push(progress('a', 1))
    b.push(progress('b', 5))
    b.push(progress('a', 2))
    expect(batches).toEqual([])
    b.push({ event: 'command', payload: { name: 'generate' } })
    expect(batches).toEqual([[progress('b', 5), progress('a', 2), { event: 'command', payload: { name: 'generate' } }]])
    b.push(frame('a', 2))
    b.push({ event: 'failed', payload: { runId: 'a', error: { code: 'cancelled', message: 'cancelled' } } })
    expect(batches[1].map((m) => m.event)).toEqual(['frame', 'failed'])
    vi.advanceTimersByTime(10 * EVENT_BATCH_MS)
    expect(batches).toHaveLength(2)
  })

  it('sends a step’s images with the progress that follows them, in one batch', () => {
    const b = batchEvents((events) => batches.push(events))
    const pixels = { sample: new ArrayBuffer(4), predictedX0: new ArrayBuffer(4), predictedNoise: new ArrayBuffer(4) }
    const withImages = (runId: string, index: number): EventMessage => {
      const m = frame(runId, index)
      return {
        event: 'frame',
        payload: { ...(m.payload as Extract<EventMessage, { event: 'frame' }>['payload']), pixels },
      }
    }
    b.push(withImages('a', 0))
    expect(batches).toEqual([])
    b.push(progress('a', 1))
    expect(batches).toEqual([[withImages('a', 0), progress('a', 1)]])
    b.push(frame('a', 1))
    b.push(progress('a', 2))
    b.push(frame('a', 2))
    vi.advanceTimersByTime(EVENT_BATCH_MS - 1)
    expect(batches).toHaveLength(1)
    // Another run's progress does not send a's images early.
    b.push(withImages('a', 3))
    b.push(progress('b', 7))
    expect(batches).toHaveLength(1)
    b.push(progress('a', 3))
    expect(batches[1].map((m) => m.event)).toEqual(['frame', 'frame', 'frame', 'progress', 'progress'])
    expect((batches[1][2].payload as { pixels?: unknown }).pixels).toBe(pixels)
    vi.advanceTimersByTime(10 * EVENT_BATCH_MS)
    expect(batches).toHaveLength(2)
    // Without its progress, the images go at the interval.
    b.push(withImages('a', 4))
    vi.advanceTimersByTime(EVENT_BATCH_MS)
    expect(batches[2]).toEqual([withImages('a', 4)])
  })

  it('sends the last step’s images with the run’s end, in one batch', () => {
    const b = batchEvents((events) => batches.push(events))
    const pixels = { sample: new ArrayBuffer(4), predictedX0: new ArrayBuffer(4) }
    const last = frame('a', 9, 10)
    const withImages: EventMessage = {
      event: 'frame',
      payload: { ...(last.payload as Extract<EventMessage, { event: 'frame' }>['payload']), pixels },
    }
    b.push(withImages)
    b.push(progress('a', 10, 10))
    expect(batches).toEqual([])
    b.push(done('a'))
    expect(batches).toEqual([[withImages, progress('a', 10, 10), done('a')]])
    // A run that dies after its last step still sends it, at the interval.
    b.push(withImages)
    b.push(progress('a', 10, 10))
    vi.advanceTimersByTime(EVENT_BATCH_MS)
    expect(batches[1]).toEqual([withImages, progress('a', 10, 10)])
  })

  it('sends what is gathered after the interval, and nothing once closed', () => {
    const b = batchEvents((events) => batches.push(events))
    b.push(frame('a', 0))
    vi.advanceTimersByTime(EVENT_BATCH_MS - 1)
    expect(batches).toEqual([])
    vi.advanceTimersByTime(1)
    expect(batches).toEqual([[frame('a', 0)]])
    b.push(frame('a', 1))
    b.close()
    b.push(done('a'))
    vi.advanceTimersByTime(10 * EVENT_BATCH_MS)
    expect(batches).toHaveLength(1)
  })
})
