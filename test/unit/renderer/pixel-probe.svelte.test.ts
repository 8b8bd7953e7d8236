/** A pixel followed over a run's steps (lib/pixel-probe.svelte.ts): its series, pinned to one run and image. */
import { beforeEach, describe, expect, it, vi } from 'vitest'

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

  it('plots one channel when asked, named R, G, B for three channels and by number otherwise', () => {
    const series = {
      channels: 3,
      sample: [0, 0.3, 0.6, 1, 0.5, 0],
      predictedX0: [1, 2, 3, 4, 5, 6],
      alphaBars: [0.1, 0.9],
    }
    expect(r.trajectoryOf(series, 1).sample).toEqual([0.3, 0.5])
    expect(r.trajectoryOf(series, 2).predictedX0).toEqual([3, 6])
    // A channel the image does not have (a choice left from another model): the mean.
    expect(r.trajectoryOf(series, 5).predictedX0).toEqual([2, 5])
    expect([0, 1, 2].map((k) => r.channelName(k, 3))).toEqual(['R', 'G', 'B'])
    expect(r.channelName(3, 4)).toBe('channel 4')
    expect(r.channelName('mean', 4)).toBe('mean of 4 channels')
  })

  it('reads a sampling run again as steps come: the new steps, one read at a time, one more for those meanwhile', async () => {
    const answers: (() => void)[] = []
    let steps = 1
    // Step i of the run: x_t i, predicted x0 10 + i.
    r.api.answer('runs.pixel', async (req) => {
      const n = steps
      const from = req.from ?? 0
      await new Promise<void>((resolve) => answers.push(resolve))
      const range = Array.from({ length: n - from }, (_, i) => from + i)
      return ok({ channels: 1, sample: range, predictedX0: range.map((i) => 10 + i), alphaBars: range.map(() => 0.5) })
    })
    const pinned = r.probe.pin({ runId: 'a', image: 0, x: 0, y: 0 })
    await Promise.resolve()
    answers.shift()?.()
    await pinned
    expect(r.probe.trajectory?.steps).toBe(1)

    steps = 2
    const first = r.probe.refresh()
    steps = 4
    // Two more refreshes while the first is read: they make one read after it, not two.
    await r.probe.refresh()
    await r.probe.refresh()
    await Promise.resolve()
    answers.shift()?.()
    await vi.waitFor(() => expect(answers.length).toBe(1))
    expect(r.probe.trajectory?.steps).toBe(2)
    answers.shift()?.()
    await first
    expect(r.probe.trajectory).toMatchObject({ sample: [0, 1, 2, 3], predictedX0: [10, 11, 12, 13], steps: 4 })
    expect(r.api.requests('runs.pixel').map((q) => q.from)).toEqual([undefined, 1, 2])
  })

  it('copies as tab-separated lines: a header, then step, t, alpha_bar and the three values a step', () => {
    const t = r.trajectoryOf({ channels: 1, sample: [1, 0.5], predictedX0: [0.25, 0.5], alphaBars: [0.5, 1] })
    const lines = r.trajectoryText(t, [999, 0], [0.5, 1]).trimEnd().split('\n')
    expect(lines[0].split('\t')).toEqual(['step', 't', 'alpha_bar', 'x_t', 'pred_x0', 'pred_eps'])
    expect(lines.slice(1).map((l) => l.split('\t').slice(0, 5).map(Number))).toEqual([
      [1, 999, 0.5, 1, 0.25],
      [2, 0, 1, 0.5, 0.5],
    ])
    expect(Number(lines[1].split('\t')[5])).toBeCloseTo(t.predictedNoise[0], 12)
  })

  it('asks the engine for the pixel clicked, and holds it for that run and image only', async () => {
    r.api.answer('runs.pixel', ok({ channels: 1, sample: [0.5, 0.25], predictedX0: [0.1, 0.2], alphaBars: [0.5, 0.9] }))
    await r.probe.pin({ runId: 'a', image: 1, x: 3, y: 4 })
    expect(r.api.requests('runs.pixel')).toEqual([{ runId: 'a', image: 1, x: 3, y: 4 }])
    expect(r.probe.trajectory).toMatchObject({ sample: [0.5, 0.25], predictedX0: [0.1, 0.2], steps: 2 })
    // The noise they imply: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps, solved for eps at each step's alpha_bar.
    const noise = r.probe.trajectory!.predictedNoise
    expect(noise[0]).toBeCloseTo((0.5 - Math.sqrt(0.5) * 0.1) / Math.sqrt(0.5), 6)
    expect(noise[1]).toBeCloseTo((0.25 - Math.sqrt(0.9) * 0.2) / Math.sqrt(0.1), 6)
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
