/** The timeline of one image (lib/timeline.svelte.ts): following the newest step, scrubbing, playback. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { RunFrames } from '../../../src-preload/contract'
import { frameEvent, generationParameters, loadRenderer, ok, type Renderer, started, stepAnswer } from './fake-api'

let r: Renderer
let stopListening: () => void

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
  // Steps the timeline shows that did not come with their events are fetched.
  r.api.answer('runs.steps', (req) => ok({ steps: req.steps.map(stepAnswer) }))
  stopListening = r.run.listen()
})
afterEach(() => {
  stopListening()
  r.timeline.pause()
  vi.useRealTimers()
})

/** A finished run of `count` steps, as reopened from the history. */
function finished(count: number) {
  const frames: RunFrames['frames'] = Array.from({ length: count }, (_, i) => {
    const { runId: _runId, total: _total, ...f } = frameEvent('done', i, count)
    return f
  })
  r.run.open({
    runId: 'done',
    parameters: generationParameters(),
    shape: { batch: 2, channels: 1, height: 2, width: 2 },
    timesteps: frames.map((f) => f.timestep),
    frames,
    samples: new Float32Array(8).buffer,
    timeline: true,
  })
}

/** A frame event, drawn at once (the page applies them together at the next drawing). */
function frame(runId: string, index: number, total = 4) {
  r.api.emit('frame', frameEvent(runId, index, total))
  r.run.flush()
}

/** A run sampling, `count` of its `total` frames in. */
async function sampling(count: number, total = 10) {
  r.api.answer('sample.start', ok(started('live', { steps: total })))
  await r.run.start({ sampler: {}, seed: 1, batch: 2 })
  for (let i = 0; i < count; i++) frame('live', i, total)
}

describe('following and scrubbing', () => {
  it('shows the newest step as frames arrive, nothing before the first', async () => {
    await sampling(0)
    expect(r.timeline.shown).toBe(-1)
    expect(r.timeline.frame).toBeNull()
    frame('live', 0, 10)
    frame('live', 1, 10)
    expect(r.timeline.shown).toBe(1)
    expect(r.timeline.frame?.index).toBe(1)
  })

  it('scrubbing back stops following; back to the newest step while sampling follows again', async () => {
    await sampling(5)
    r.timeline.scrub(2)
    expect(r.timeline).toMatchObject({ follow: false, position: 2, shown: 2 })
    frame('live', 5, 10)
    expect(r.timeline.shown).toBe(2) // stays where the user put it

    r.timeline.scrub(99) // past the end: the newest step
    expect(r.timeline).toMatchObject({ follow: true, position: 5, shown: 5 })
    frame('live', 6, 10)
    expect(r.timeline.shown).toBe(6)

    r.timeline.scrub(-3)
    expect(r.timeline.position).toBe(0)
  })

  it('going to a step stops playback there', () => {
    finished(20)
    r.timeline.play()
    vi.advanceTimersByTime(600)
    r.timeline.scrub(10)
    expect(r.timeline).toMatchObject({ playing: false, position: 10 })
    vi.advanceTimersByTime(1000)
    expect(r.timeline.position).toBe(10)
  })

  it('a finished run is not followed, even at its last step', () => {
    finished(4)
    r.timeline.scrub(3)
    expect(r.timeline).toMatchObject({ follow: false, shown: 3 })
  })

  it('reset follows a new run from the start, keeping the image while the batch holds it', () => {
    finished(4)
    r.timeline.scrub(1)
    r.timeline.select(1)
    r.timeline.reset(2)
    expect(r.timeline).toMatchObject({ follow: true, position: 0, image: 1, shown: 3 })
    r.timeline.reset(1)
    expect(r.timeline.image).toBe(0)
  })
})

describe('playback', () => {
  it('plays from the start when at the end, a step each 4000 / steps ms, and stops at the last', async () => {
    finished(20) // 200 ms a step
    expect(r.timeline.shown).toBe(19)
    r.timeline.play()
    expect(r.timeline).toMatchObject({ playing: true, follow: false, position: 0, shown: 0 })
    vi.advanceTimersByTime(199)
    expect(r.timeline.position).toBe(0)
    vi.advanceTimersByTime(1)
    expect(r.timeline.position).toBe(1)
    vi.advanceTimersByTime(200 * 18)
    expect(r.timeline.position).toBe(19)
    expect(r.timeline.playing).toBe(true)
    vi.advanceTimersByTime(200)
    expect(r.timeline.playing).toBe(false)
    vi.advanceTimersByTime(10_000)
    expect(r.timeline.position).toBe(19)
    // Its steps' images were asked for ahead of it, together (at the next microtask).
    await Promise.resolve()
    expect(r.api.requests('runs.steps')[0]).toEqual({ runId: 'done', steps: Array.from({ length: 20 }, (_, i) => i) })
  })

  it('plays on from the step shown; frame delays stay within 16..250 ms', () => {
    finished(4) // 4000 / 4 = 1000 ms, capped at 250
    r.timeline.scrub(1)
    r.timeline.play()
    expect(r.timeline.position).toBe(1)
    vi.advanceTimersByTime(250)
    expect(r.timeline.position).toBe(2)

    finished(1000) // 4 ms, raised to 16
    r.timeline.reset(2)
    r.timeline.play()
    vi.advanceTimersByTime(16 * 10)
    expect(r.timeline.position).toBe(10)
  })

  it('pause stops it where it is; one frame is nothing to play', () => {
    finished(10)
    r.timeline.play()
    vi.advanceTimersByTime(800)
    r.timeline.pause()
    const at = r.timeline.position
    vi.advanceTimersByTime(5000)
    expect(r.timeline).toMatchObject({ playing: false, position: at })

    finished(1)
    r.timeline.reset(2)
    r.timeline.play()
    expect(r.timeline.playing).toBe(false)
  })
})

describe('speed and modes', () => {
  it('speed scales the step delay: 2x halves it, 0.25x makes it four times as long', () => {
    finished(20) // 200 ms a step at 1x
    r.timeline.scrub(0)
    r.timeline.setSpeed(2)
    r.timeline.play()
    vi.advanceTimersByTime(100)
    expect(r.timeline.position).toBe(1)
    r.timeline.setSpeed(0.25) // takes effect at once, from where it is
    vi.advanceTimersByTime(799)
    expect(r.timeline.position).toBe(1)
    vi.advanceTimersByTime(1)
    expect(r.timeline.position).toBe(2)
  })

  it('past one display frame a step, it skips steps instead of ticking faster', () => {
    finished(1000) // 16 ms a step at 1x; 4 ms at 4x
    r.timeline.scrub(0)
    r.timeline.setSpeed(4)
    r.timeline.play()
    vi.advanceTimersByTime(16)
    expect(r.timeline.position).toBe(4)
  })

  it('loop starts again at the first step; ping-pong turns at either end', () => {
    finished(4) // 250 ms a step
    r.timeline.setMode('loop')
    r.timeline.scrub(2)
    r.timeline.play()
    vi.advanceTimersByTime(250 * 2)
    expect([r.timeline.position, r.timeline.playing]).toEqual([0, true])

    r.timeline.setMode('pingpong')
    const seen: number[] = []
    for (let i = 0; i < 8; i++) {
      vi.advanceTimersByTime(250)
      seen.push(r.timeline.position)
    }
    expect(seen).toEqual([1, 2, 3, 2, 1, 0, 1, 2])
    expect(r.timeline.playing).toBe(true)
  })

  it('the last step of a finished run is its end (the final sample); not while sampling', async () => {
    finished(4)
    expect(r.timeline.atEnd).toBe(true)
    r.timeline.scrub(2)
    expect(r.timeline.atEnd).toBe(false)
    await sampling(3)
    expect(r.timeline.atEnd).toBe(false)
  })
})
