/** The queue (lib/queue.svelte.ts): runs asked for while one samples wait, start in order, move, cancel; notifications. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { SampleStartRequest } from '../../../src-preload/contract'
import { DEFAULT_SETTINGS } from '../../../src-preload/contract'
import { floats, loadRenderer, ok, type Renderer, runList, started } from './fake-api'

let r: Renderer
let stop: () => void

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
  const offs = [r.run.listen(), r.queue.listen()]
  stop = () => offs.forEach((off) => off())
  r.api.answer('runs.list', ok(runList()))
  let n = 0
  r.api.answer('sample.start', () => ok(started(`r${n++}`)))
})
afterEach(() => {
  stop()
  vi.unstubAllGlobals()
  vi.useRealTimers()
})

const req = (seed: number): SampleStartRequest => ({ sampler: { sampler: 'ddim', steps: 4 }, seed, batch: 2 })
const seedsStarted = () => r.api.requests('sample.start').map((q) => q.seed)

describe('the queue', () => {
  it('starts at once when nothing samples; what comes while one samples waits, then starts in order', async () => {
    await r.queue.submit([req(1), req(2), req(3)])
    expect(seedsStarted()).toEqual([1])
    expect(r.queue.items.map((q) => q.label)).toEqual(['DDIM 4 · seed 2 ×2', 'DDIM 4 · seed 3 ×2'])
    r.api.emit('done', { runId: 'r0', samples: floats(1), elapsedMs: 5 })
    await vi.advanceTimersByTimeAsync(0)
    expect(seedsStarted()).toEqual([1, 2])
    // A cancelled or failed run lets the next one go too.
    r.api.emit('failed', { runId: 'r1', error: { code: 'cancelled', message: 'cancelled' } })
    await vi.advanceTimersByTimeAsync(0)
    expect(seedsStarted()).toEqual([1, 2, 3])
    expect(r.queue.items).toEqual([])
  })

  it('waiting runs can be moved and cancelled before they start', async () => {
    await r.queue.submit([req(1), req(2), req(3), req(4)])
    const [two, three, four] = r.queue.items
    r.queue.move(four.id, -1)
    r.queue.move(two.id, -1) // already first
    r.queue.cancel(three.id)
    expect(r.queue.items.map((q) => q.request.seed)).toEqual([2, 4])
    r.api.emit('done', { runId: 'r0', samples: floats(1), elapsedMs: 5 })
    await vi.advanceTimersByTimeAsync(0)
    expect(seedsStarted()).toEqual([1, 2])
    r.queue.clear()
    r.api.emit('done', { runId: 'r1', samples: floats(1), elapsedMs: 5 })
    await vi.advanceTimersByTimeAsync(0)
    expect(seedsStarted()).toEqual([1, 2])
  })

  it("other runs' ends (a comparison's, a grid's) start nothing", async () => {
    await r.queue.submit([req(1), req(2)])
    r.api.emit('done', { runId: 'elsewhere', samples: floats(1), elapsedMs: 5 })
    await vi.advanceTimersByTimeAsync(0)
    expect(seedsStarted()).toEqual([1])
  })
})

describe('notifications of long runs in the browser', () => {
  class FakeNotification {
    static permission: NotificationPermission = 'default'
    static asked = 0
    static shown: { title: string; options?: NotificationOptions }[] = []
    /** What the user answers when asked. */
    static answer: NotificationPermission = 'granted'
    static async requestPermission() {
      FakeNotification.asked++
      FakeNotification.permission = FakeNotification.answer
      return FakeNotification.permission
    }
    constructor(title: string, options?: NotificationOptions) {
      FakeNotification.shown.push({ title, options })
    }
  }
  beforeEach(() => {
    FakeNotification.permission = 'default'
    FakeNotification.answer = 'granted'
    FakeNotification.asked = 0
    FakeNotification.shown = []
    vi.stubGlobal('Notification', FakeNotification)
    r.api.host = 'browser'
    r.api.answer('settings.set', (patch) => ok({ ...DEFAULT_SETTINGS, ...patch }))
  })

  it('asks for permission only when turned on, keeps the choice, and notifies of runs over 10 s', async () => {
    await r.queue.submit([req(1)])
    r.api.emit('done', { runId: 'r0', samples: floats(1), elapsedMs: 60_000 })
    expect(FakeNotification.asked).toBe(0) // off: nothing asked, nothing shown
    expect(FakeNotification.shown).toEqual([])

    await r.queue.setNotify(true) // the user allows them
    expect(FakeNotification.asked).toBe(1)
    expect(r.api.requests('settings.set')).toEqual([{ notifyLongRuns: true }])
    await r.queue.submit([req(2)])
    r.api.emit('done', { runId: 'r1', samples: floats(1), elapsedMs: 10_000 }) // not longer than 10 s
    await r.queue.submit([req(3)])
    r.api.emit('done', { runId: 'r2', samples: floats(1), elapsedMs: 12_400 })
    expect(FakeNotification.shown).toEqual([
      { title: 'Stepwise: run finished', options: { body: 'DDIM 50 steps, seed 7 took 12 s', tag: 'stepwise-r2' } },
    ])
  })

  it('a refused permission leaves them off and says how to allow them', async () => {
    FakeNotification.answer = 'denied'
    await r.queue.setNotify(true)
    expect(r.queue.notify).toBe(false)
    expect(r.toasts.items[0].message).toMatch(/blocked for this page/)
    expect(r.api.requests('settings.set')).toEqual([])
  })

  it('in Electron the main process notifies: the page asks for nothing and shows nothing', async () => {
    r.api.host = 'electron'
    FakeNotification.permission = 'granted'
    await r.queue.setNotify(true)
    expect(FakeNotification.asked).toBe(0)
    await r.queue.submit([req(1)])
    r.api.emit('done', { runId: 'r0', samples: floats(1), elapsedMs: 60_000 })
    expect(FakeNotification.shown).toEqual([])
  })
})
