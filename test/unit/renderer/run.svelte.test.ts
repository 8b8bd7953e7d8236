/** The run the timeline shows (lib/run.svelte.ts): starting, following its events, forks, cancel, failures, reopening. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { RunFrames, SampleStartRequest } from '../../../src-preload/contract'
import {
  fail,
  floats,
  frameEvent,
  generationParameters,
  loadRenderer,
  ok,
  type Renderer,
  runList,
  started,
  stepAnswer,
  stepPixels,
} from './fake-api'

let r: Renderer
let stopListening: () => void

beforeEach(async () => {
  vi.useFakeTimers() // the history's debounced runs.list stays unasked
  r = await loadRenderer()
  stopListening = r.run.listen()
})
afterEach(() => {
  stopListening()
  vi.useRealTimers()
})

const REQ: SampleStartRequest = { sampler: { sampler: 'ddim', steps: 4 }, seed: 1, batch: 2 }

/** Start run `id` (sample.start answering `started(id, o)`). */
async function startRun(id: string, o: Parameters<typeof started>[1] = {}, req = REQ) {
  r.api.answer('sample.start', ok(started(id, o)))
  return r.run.start(req)
}

describe('start', () => {
  it('asks the engine, then shows the new run from its first step', async () => {
    expect(r.run.status).toBe('idle')
    const pending = startRun('a', { steps: 4 })
    expect(r.run.status).toBe('starting')
    expect(r.run.running).toBe(true)
    expect(await pending).toBe(true)

    expect(r.api.requests('sample.start')).toEqual([REQ])
    expect(r.run).toMatchObject({
      runId: 'a',
      status: 'running',
      timesteps: [30, 20, 10, 0],
      step: 0,
      total: 4,
      startStep: 0,
      frames: [],
      samples: null,
      reopened: false,
    })
    expect(r.run.parameters?.seed).toBe(7)
    // ...and the history lists it at once, as a plain run, sampling.
    expect(r.history.runs.map((s) => s.runId)).toEqual(['a'])
    expect(r.kindOf(r.history.runs[0])).toBe('run')
    expect(r.history.live).toEqual(['a'])
  })

  it('names the kind from the request: a fork or an image', async () => {
    await startRun('a')
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
    await startRun('b', { startStep: 1, parent: { runId: 'a', step: 1 } }, { ...REQ, fork: { runId: 'a', step: 1 } })
    r.api.emit('done', { runId: 'b', samples: floats(1), elapsedMs: 1 })
    await startRun(
      'c',
      { parameters: generationParameters({ fromImageAt: 500 }) },
      { ...REQ, fromImage: { image: floats(0, 4), timestep: 500 } },
    )
    expect(r.history.runs.map((s) => s.parent)).toEqual([undefined, { runId: 'a', step: 1 }, undefined])
    expect(r.history.runs.map((s) => r.kindOf(s))).toEqual(['run', 'run', 'image'])
  })

  it('refuses a second start while one runs', async () => {
    await startRun('a')
    expect(await startRun('b')).toBe(false)
    expect(r.api.requests('sample.start')).toHaveLength(1)
    expect(r.run.runId).toBe('a')
  })

  it('an engine refusal leaves the run shown as it was and says why in a toast', async () => {
    await startRun('a')
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
    r.api.answer('sample.start', fail('steps: too many', 'bad-argument'))
    expect(await r.run.start(REQ)).toBe(false)
    expect(r.run).toMatchObject({ runId: 'a', status: 'done', running: false })
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'steps: too many' }])
    expect(r.history.runs).toHaveLength(1)
  })
})

describe('events', () => {
  it('progress, frames and done fill in the run at the next drawing; images and etaMs follow', async () => {
    r.api.answer('runs.list', ok(runList()))
    await startRun('a', { steps: 4 })
    expect(r.run.images).toBeNull()
    expect(r.run.etaMs).toBe(0)

    r.api.emit('frame', frameEvent('a', 0))
    r.api.emit('progress', { runId: 'a', step: 1, total: 4, timestep: 30, elapsedMs: 100 })
    expect(r.run.frames).toHaveLength(0) // applied together, at most once a LIVE_UPDATE_MS
    r.run.flush()
    expect(r.run.frames).toEqual([{ index: 0, timestep: 30, alphaBar: 0.2, stats: [] }])
    // The images went to the step cache.
    const cached = r.steps.get('a', 0, false)!
    expect(cached.sample).toBeInstanceOf(Float32Array)
    // Its noise from x_t (0) and x0 (0.5) at alpha_bar 0.2: (0 - sqrt(0.2) 0.5) / sqrt(0.8).
    cached.predictedNoise.forEach((v) => expect(v).toBeCloseTo(-0.25, 6))
    expect(r.run.latest?.index).toBe(0)
    expect(r.run.images?.[0]).toBe(0.5) // the newest predicted x0 while sampling
    expect(r.run.etaMs).toBe(300) // 100 ms a step, 3 to go

    // Steps without images, then one with: the newest images are step 2's.
    r.api.emit('frame', frameEvent('a', 1, 4, false))
    r.api.emit('frame', frameEvent('a', 2))
    r.api.emit('progress', { runId: 'a', step: 3, total: 4, timestep: 10, elapsedMs: 300 })
    await vi.advanceTimersByTimeAsync(200)
    expect(r.run.frames.map((f) => f.index)).toEqual([0, 1, 2])
    expect(r.run.images?.[0]).toBe(2.5)
    expect(r.run.etaMs).toBe(100) // 100 ms a step, 1 to go
    expect(r.run.step).toBe(3)

    r.api.emit('done', { runId: 'a', samples: floats(9), elapsedMs: 640 })
    expect(r.run).toMatchObject({ status: 'done', running: false, step: 4, elapsedMs: 640, etaMs: 0 })
    expect(r.run.images?.[0]).toBe(9) // the final samples
  })

  it('images fetched while a run is drawn live wait for its next drawing; once it ends they show at once', async () => {
    r.api.answer('runs.steps', (req) => ok({ steps: req.steps.map(stepAnswer) }))
    await startRun('a', { steps: 4 })
    r.api.emit('frame', frameEvent('a', 0, 4, false))
    r.run.flush()
    const version = r.steps.version
    // A view (the film strip) asks for step 0's images: they come, and the page is not drawn for them alone.
    expect(r.steps.get('a', 0)).toBeNull()
    await vi.advanceTimersByTimeAsync(0)
    expect(r.api.requests('runs.steps')).toEqual([{ runId: 'a', steps: [0] }])
    expect(r.steps.version).toBe(version)
    // The run's next drawing shows them, with or without new images of its own.
    r.api.emit('frame', frameEvent('a', 1, 4, false))
    r.run.flush()
    expect(r.steps.version).toBe(version + 1)
    expect(r.steps.get('a', 0)?.predictedX0[0]).toBe(0.5)

    r.api.emit('done', { runId: 'a', samples: floats(9), elapsedMs: 640 })
    expect(r.steps.get('a', 2)).toBeNull()
    await vi.advanceTimersByTimeAsync(0)
    expect(r.steps.version).toBe(version + 2) // no run drawn live: shown when they come
  })

  it('a view of one image asks for that image alone, kept apart from the whole batch', async () => {
    r.api.answer('runs.steps', (req) =>
      ok({
        steps: req.steps.map((index) => ({ ...stepAnswer(index), ...stepPixels(index + 10 * (req.image ?? -1)) })),
      }),
    )
    await startRun('a', { steps: 4 })
    r.api.emit('frame', frameEvent('a', 0, 4, false))
    r.api.emit('frame', frameEvent('a', 1, 4, false))
    r.run.flush()
    // The film strip's thumbnails of image 2, and the stage's step 1 (the whole batch), asked for together.
    expect(r.steps.get('a', 0, true, 2)).toBeNull()
    expect(r.steps.get('a', 1, true, 2)).toBeNull()
    expect(r.steps.get('a', 1)).toBeNull()
    await vi.advanceTimersByTimeAsync(0)
    expect(r.api.requests('runs.steps')).toEqual([
      { runId: 'a', steps: [0, 1], image: 2 },
      { runId: 'a', steps: [1] },
    ])
    expect(r.steps.get('a', 1, true, 2)?.sample[0]).toBe(21)
    expect(r.steps.get('a', 1)?.sample[0]).toBe(-9)
    // Held: not asked for again; another image is.
    expect(r.steps.get('a', 0, true, 2)?.sample[0]).toBe(20)
    expect(r.steps.get('a', 0, true, 3)).toBeNull()
    await vi.advanceTimersByTimeAsync(0)
    expect(r.api.requests('runs.steps').slice(2)).toEqual([{ runId: 'a', steps: [0], image: 3 }])
  })

  it("ignores other runs' events", async () => {
    await startRun('a')
    r.api.emit('frame', frameEvent('other', 0))
    r.api.emit('progress', { runId: 'other', step: 3, total: 9, timestep: 0, elapsedMs: 5 })
    r.api.emit('done', { runId: 'other', samples: floats(1), elapsedMs: 5 })
    r.api.emit('failed', { runId: 'other', error: { code: 'runtime-error', message: 'boom' } })
    r.run.flush()
    expect(r.run).toMatchObject({ runId: 'a', status: 'running', step: 0, total: 4, frames: [], samples: null })
    expect(r.toasts.items).toEqual([])
  })

  it('a failure shows the error in a toast; a cancellation is no failure', async () => {
    await startRun('a')
    r.api.emit('failed', { runId: 'a', error: { code: 'runtime-error', message: 'out of memory' } })
    expect(r.run).toMatchObject({ status: 'failed', running: false, error: { message: 'out of memory' } })
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'out of memory' }])

    await startRun('b')
    expect(r.run.error).toBeNull()
    r.api.emit('failed', { runId: 'b', error: { code: 'cancelled', message: 'cancelled' } })
    expect(r.run.status).toBe('cancelled')
    expect(r.toasts.items).toHaveLength(1)
  })

  it('listens no more once unsubscribed', async () => {
    await startRun('a')
    expect(r.api.listenerCount('frame')).toBe(1)
    stopListening()
    expect(['progress', 'frame', 'done', 'failed'].map((e) => r.api.listenerCount(e as 'frame'))).toEqual([0, 0, 0, 0])
    r.api.emit('frame', frameEvent('a', 0))
    r.run.flush()
    expect(r.run.frames).toEqual([])
  })
})

describe('fork', () => {
  it("begins with a copy of the parent's frames before the fork step, then its own", async () => {
    await startRun('parent', { steps: 4 })
    for (let i = 0; i < 4; i++) r.api.emit('frame', frameEvent('parent', i))
    r.api.emit('done', { runId: 'parent', samples: floats(9), elapsedMs: 40 })
    const parentFrames = r.run.frames

    await startRun(
      'fork',
      { steps: 4, startStep: 2, parent: { runId: 'parent', step: 2 } },
      { ...REQ, fork: { runId: 'parent', step: 2 } },
    )
    expect(r.run).toMatchObject({ runId: 'fork', startStep: 2, step: 2, total: 4, samples: null })
    expect(r.run.frames).toEqual(parentFrames.slice(0, 2))
    expect(r.run.frames[1]).toBe(parentFrames[1])

    r.api.emit('frame', frameEvent('fork', 2))
    r.run.flush()
    expect(r.run.frames.map((f) => f.index)).toEqual([0, 1, 2])
    expect(r.history.runs[1].parent).toEqual({ runId: 'parent', step: 2 })
  })

  it('inherits nothing when the parent is not the run shown', async () => {
    await startRun('shown')
    r.api.emit('frame', frameEvent('shown', 0))
    r.api.emit('done', { runId: 'shown', samples: floats(1), elapsedMs: 1 })
    await startRun('fork', { startStep: 1, parent: { runId: 'elsewhere', step: 1 } })
    expect(r.run.frames).toEqual([])
    expect(r.run.step).toBe(1)
  })
})

describe('cancel', () => {
  it('asks the engine to cancel the run while it runs', async () => {
    r.api.answer('sample.cancel', ok({ cancelled: true }))
    await r.run.cancel()
    expect(r.api.requests('sample.cancel')).toEqual([])

    await startRun('a')
    await r.run.cancel()
    expect(r.api.requests('sample.cancel')).toEqual([{ runId: 'a' }])
    expect(r.run.status).toBe('running') // until the engine's failed (cancelled) event

    r.api.answer('sample.cancel', fail('no such run'))
    await r.run.cancel()
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'no such run' }])
  })
})

describe('open and clear', () => {
  const reopened = (o: Partial<RunFrames> = {}): RunFrames => ({
    runId: 'old',
    parameters: generationParameters({ forkedFrom: { step: 1, parameters: generationParameters() } }),
    shape: { batch: 2, channels: 1, height: 2, width: 2 },
    timesteps: [30, 20, 10, 0],
    frames: [0, 1, 2, 3].map((i) => {
      const { runId: _runId, total: _total, ...f } = frameEvent('old', i, 4, false)
      return f
    }),
    samples: floats(9),
    timeline: true,
    ...o,
  })

  it('shows a finished run of the history with its whole timeline', () => {
    r.run.open(reopened())
    expect(r.run).toMatchObject({
      runId: 'old',
      status: 'done',
      reopened: true,
      startStep: 1,
      step: 4,
      total: 4,
      elapsedMs: 0,
    })
    expect(r.run.frames.map((f) => f.index)).toEqual([0, 1, 2, 3])
    expect(r.run.images?.[0]).toBe(9)
    expect(r.api.requests('runs.steps')).toEqual([]) // images only as they are shown
  })

  it('a run without final samples reopens as cancelled; the grid shows its last step, fetched', async () => {
    r.api.answer('runs.steps', (req) => ok({ steps: req.steps.map(stepAnswer) }))
    r.run.open(reopened({ samples: null, frames: reopened().frames.slice(0, 3) }))
    expect(r.run).toMatchObject({ status: 'cancelled', step: 3, total: 4, samples: null })
    expect(r.run.images).toBeNull()
    await vi.advanceTimersByTimeAsync(0)
    expect(r.api.requests('runs.steps')).toEqual([{ runId: 'old', steps: [2] }])
    expect(r.run.images?.[0]).toBe(2.5)
  })

  it('a run whose timeline the history dropped reopens as its final images', () => {
    r.run.open(reopened({ timeline: false }))
    expect(r.run).toMatchObject({ status: 'done', frames: [], timeline: false })
    expect(r.run.images?.[0]).toBe(9)
  })

  it('clear forgets the run shown, but not one still running', async () => {
    await startRun('a')
    r.run.clear()
    expect(r.run.runId).toBe('a')
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
    r.run.clear()
    expect(r.run).toMatchObject({ runId: null, status: 'idle', frames: [], samples: null, images: null, total: 0 })
  })
})

describe('as components use it', () => {
  it('an $effect subscribes while mounted, and reruns on each new frame', async () => {
    stopListening() // the effect below subscribes instead
    const seen: (number | undefined)[] = []
    const unmount = r.mount(
      () => r.run.listen(),
      () => {
        seen.push(r.run.images?.[0])
      },
    )
    r.flushSync()
    expect(r.api.listenerCount('frame')).toBe(1)

    await startRun('a')
    r.api.emit('frame', frameEvent('a', 0))
    r.run.flush()
    r.flushSync()
    r.api.emit('frame', frameEvent('a', 1))
    r.api.emit('progress', { runId: 'a', step: 2, total: 4, timestep: 20, elapsedMs: 10 }) // images unchanged
    r.run.flush()
    r.flushSync()
    expect(seen).toEqual([undefined, 0.5, 1.5])

    unmount()
    expect(r.api.listenerCount('frame')).toBe(0)
    stopListening = () => {}
  })
})

it('formats durations', () => {
  expect(r.formatMs(850.4)).toBe('850 ms')
  expect(r.formatMs(12_345)).toBe('12.3 s')
  expect(r.formatMs(125_000)).toBe('2 min 5 s')
})
