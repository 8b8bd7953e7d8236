/** A pixel followed over a run's steps (lib/pixel-probe.svelte.ts): its series, pinned to one run and image. */
import { beforeEach, describe, expect, it } from 'vitest'

import { fail, loadRenderer, ok, type Renderer } from './fake-api'

let r: Renderer
beforeEach(async () => {
  r = await loadRenderer()
})

describe('the pixel probe', () => {
  it("averages the channels a step at a time (the engine's series is step-major)", () => {
    const t = r.trajectoryOf({
      channels: 3,
      sample: [0, 0.3, 0.6, 1, 1, 1],
      predictedX0: [-1, -1, -1, 0.5, 0, -0.5],
      alphaBars: [0.1, 0.9],
    })
    expect(t.steps).toBe(2)
    expect(t.channels).toBe(3)
    expect(t.sample[0]).toBeCloseTo(0.3, 12)
    expect(t.sample[1]).toBe(1)
    expect(t.predictedX0).toEqual([-1, 0])
  })

  it('asks the engine for the pixel clicked, and holds it for that run and image only', async () => {
    r.api.answer('runs.pixel', ok({ channels: 1, sample: [0.5, 0.25], predictedX0: [0.1, 0.2], alphaBars: [0.5, 0.9] }))
    await r.probe.pin({ runId: 'a', image: 1, x: 3, y: 4 })
    expect(r.api.requests('runs.pixel')).toEqual([{ runId: 'a', image: 1, x: 3, y: 4 }])
    expect(r.probe.trajectory).toMatchObject({ sample: [0.5, 0.25], predictedX0: [0.1, 0.2], steps: 2 })
    expect(r.probe.of('a', 1)).toMatchObject({ x: 3, y: 4 })
    expect(r.probe.of('a', 0)).toBeNull()
    expect(r.probe.of('b', 1)).toBeNull()
    r.probe.clear()
    expect(r.probe.of('a', 1)).toBeNull()
  })

  it('an answer to a pixel pinned before another is dropped; an error unpins and says why', async () => {
    let release: () => void = () => {}
    const slow = new Promise<void>((resolve) => (release = resolve))
    r.api.answer('runs.pixel', async () => {
      await slow
      return ok({ channels: 1, sample: [9], predictedX0: [9], alphaBars: [0.5] })
    })
    const first = r.probe.pin({ runId: 'a', image: 0, x: 0, y: 0 })
    r.api.answer('runs.pixel', ok({ channels: 1, sample: [1], predictedX0: [2], alphaBars: [0.5] }))
    await r.probe.pin({ runId: 'a', image: 0, x: 1, y: 1 })
    release()
    await first
    expect(r.probe.trajectory?.sample).toEqual([1])

    r.api.answer('runs.pixel', fail('runs.pixel: no run a (deleted?)', 'bad-argument'))
    await r.probe.pin({ runId: 'a', image: 0, x: 2, y: 2 })
    expect(r.probe.pinned).toBeNull()
    expect(r.toasts.items.map((t) => t.message)).toEqual([expect.stringContaining('no run a')])
  })
})
