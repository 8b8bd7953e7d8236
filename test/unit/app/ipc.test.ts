/**
 * The contract over Electron's IPC (17. Validate the sender of all IPC messages), run against a mocked
 * electron: the handlers' own checks, and the events from main's batcher through the preload to the page's
 * listeners (the mock's webContents.send hands them to the preload's ipcRenderer), not Electron's delivery.
 */

import '../../../src-preload/index'

import type { BrowserWindow as ElectronWindow } from 'electron'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'

import { handleRequests, windowEvents } from '../../../src-main/app/ipc'
import { isTrustedSender } from '../../../src-main/app/sender'
import type { EventMessage } from '../../../src-main/service/event-batch'
import { CHANNELS, type EventName, EVENTS_CHANNEL, type Result, type StepwiseApi } from '../../../src-preload/contract'
import { EVENT_BATCH_MS } from '../../../src-shared/limits'
import { BrowserWindow, contextBridge, ipcMain, WebContentsMock } from './mock-electron'

vi.mock('electron', () => import('./mock-electron'))

const OUR_PAGE = 'app://stepwise/index.html#timeline'
const asElectron = (w: BrowserWindow | undefined) => w as unknown as ElectronWindow | undefined

let win: BrowserWindow | undefined
const handle = vi.fn(async (channel: string, payload: unknown): Promise<Result<unknown>> => ({
  ok: true,
  value: { channel, payload },
}))

/** An invoke from a frame: by default our window's main frame on our page. */
const fromFrame = (over: { sender?: unknown; senderFrame?: { url: string; parent: unknown } | null } = {}) => ({
  sender: win?.webContents,
  senderFrame: { url: OUR_PAGE, parent: null },
  ...over,
})

beforeAll(() => {
  handleRequests({ window: () => asElectron(win), isOurPage: (url) => isTrustedSender(url, {}), handle })
})

beforeEach(() => {
  win = new BrowserWindow()
  handle.mockClear()
})

describe('the IPC handlers', () => {
  it('are one a contract channel, and no other', () => {
    expect(ipcMain.handle).toHaveBeenCalledTimes(CHANNELS.length)
    expect([...ipcMain.handlers.keys()].sort()).toEqual([...CHANNELS].sort())
  })

  it("hand a request from our window's main frame on our page to the shell, and its Result back", async () => {
    const answer = await ipcMain.invoke('settings.set', fromFrame(), { provider: 'cpu' })
    expect(handle).toHaveBeenCalledExactlyOnceWith('settings.set', { provider: 'cpu' })
    expect(answer).toEqual({ ok: true, value: { channel: 'settings.set', payload: { provider: 'cpu' } } })
  })

  const refused: [string, () => object][] = [
    ['a subframe of our page', () => fromFrame({ senderFrame: { url: OUR_PAGE, parent: {} } })],
    ['another webContents', () => fromFrame({ sender: new WebContentsMock() })],
    ['a page navigated elsewhere', () => fromFrame({ senderFrame: { url: 'https://example.com/', parent: null } })],
    ['a file:// page', () => fromFrame({ senderFrame: { url: 'file:///home/me/evil.html', parent: null } })],
    ['a frame already gone', () => fromFrame({ senderFrame: null })],
    ['a destroyed window', () => (win?.destroy(), fromFrame({ sender: win?.webContents }))],
    ['no window at all', () => ((win = undefined), fromFrame({ sender: new WebContentsMock() }))],
  ]
  it.each(refused)('refuse %s with a bad-argument Result naming the channel', async (_what, event) => {
    const answer = await ipcMain.invoke('sample.cancel', event(), { runId: 'r1' })
    expect(answer).toEqual({
      ok: false,
      error: { code: 'bad-argument', message: expect.stringMatching(/^sample\.cancel: refused/) },
    })
    expect(handle).not.toHaveBeenCalled()
  })

  it('answer a shell that throws with a runtime-error Result naming the channel', async () => {
    handle.mockRejectedValueOnce(new Error('EACCES: settings.json'))
    expect(await ipcMain.invoke('settings.get', fromFrame(), {})).toEqual({
      ok: false,
      error: { code: 'runtime-error', message: 'settings.get: EACCES: settings.json' },
    })
  })

  it('answer with a Result even for a thrown value that is no Error', async () => {
    handle.mockRejectedValueOnce(undefined)
    expect(await ipcMain.invoke('settings.get', fromFrame(), {})).toEqual({
      ok: false,
      error: { code: 'runtime-error', message: 'settings.get: undefined' },
    })
  })
})

describe('a fit whose page goes before its answer', () => {
  /** fit.timesteps held open until `answer()`; fit.cancel answered at once. */
  const fitting = () => {
    let answer!: () => void
    handle.mockImplementation(async (channel, payload) => {
      if (channel === 'fit.timesteps') await new Promise<void>((resolve) => (answer = resolve))
      return { ok: true, value: { channel, payload } }
    })
    const reply = ipcMain.invoke('fit.timesteps', fromFrame(), { seed: 1 })
    return { reply, answer: () => answer() }
  }
  const cancels = () => handle.mock.calls.filter(([channel]) => channel === 'fit.cancel').length
  const navigation = (over: object = {}) => ({ isMainFrame: true, isSameDocument: false, ...over })
  afterEach(() => handle.mockImplementation(async (channel, payload) => ({ ok: true, value: { channel, payload } })))

  it.each([
    ['the page reloads', (w: BrowserWindow) => w.webContents.emit('did-start-navigation', navigation())],
    [
      "the page's renderer is gone",
      (w: BrowserWindow) => w.webContents.emit('render-process-gone', {}, { reason: 'crashed' }),
    ],
    ["the page's webContents is destroyed", (w: BrowserWindow) => w.webContents.emit('destroyed')],
  ])('is stopped when %s', async (_what, go) => {
    const { reply, answer } = fitting()
    await vi.waitFor(() => expect(handle).toHaveBeenCalledWith('fit.timesteps', { seed: 1 }))
    go(win!)
    expect(cancels()).toBe(1)
    answer()
    await reply
  })

  it('goes on through a change of route or a subframe navigation, and nothing is stopped after its answer', async () => {
    const { reply, answer } = fitting()
    await vi.waitFor(() => expect(handle).toHaveBeenCalledWith('fit.timesteps', { seed: 1 }))
    win!.webContents.emit('did-start-navigation', navigation({ isSameDocument: true }))
    win!.webContents.emit('did-start-navigation', navigation({ isMainFrame: false }))
    expect(cancels()).toBe(0)
    answer()
    expect(await reply).toEqual({ ok: true, value: { channel: 'fit.timesteps', payload: { seed: 1 } } })
    win!.webContents.emit('did-start-navigation', navigation())
    expect(cancels()).toBe(0)
    expect(win!.webContents.listenerCount('did-start-navigation')).toBe(0)
  })
})

describe('events to the window', () => {
  const api = () => contextBridge.exposed.stepwise as StepwiseApi
  const frame = (runId: string, index: number, total: number): EventMessage => ({
    event: 'frame',
    payload: { runId, index, total, timestep: total - index, alphaBar: 0.5, stats: [] },
  })
  const progress = (runId: string, step: number, total: number): EventMessage => ({
    event: 'progress',
    payload: { runId, step, total, calls: step, totalCalls: total, timestep: total - step, elapsedMs: step },
  })
  const done = (runId: string): EventMessage => ({
    event: 'done',
    payload: { runId, samples: new Float32Array([1, 2]).buffer, elapsedMs: 1 },
  })

  let received: EventMessage[]
  let unsubscribe: (() => void)[]
  beforeEach(() => {
    vi.useFakeTimers()
    win!.webContents.connectToPreload()
    received = []
    // The page's listeners, subscribed as the renderer does: one a name.
    const names: EventName[] = ['done', 'progress', 'frame', 'failed']
    unsubscribe = names.map((event) => api().on(event, (payload) => received.push({ event, payload } as EventMessage)))
  })
  afterEach(() => {
    unsubscribe.forEach((off) => off())
    vi.useRealTimers()
  })

  it("reach the page's listeners in order, every frame, in a handful of IPC messages for 1000 steps", () => {
    const events = windowEvents(asElectron(win)!)
    // The engine's order, ten events a millisecond: a frame and a progress a step, 1000 steps in 200 ms.
    const sent = Array.from({ length: 1000 }, (_, i) => [frame('r1', i, 1000), progress('r1', i + 1, 1000)])
    sent.flat().forEach((m, k) => {
      if (k % 10 === 0) vi.advanceTimersByTime(1)
      events.push(m)
    })
    events.push(done('r1'))

    const send = win!.webContents.send
    expect(send.mock.calls.length).toBeLessThanOrEqual(Math.ceil(200 / EVENT_BATCH_MS) + 1)
    for (const [channel] of send.mock.calls) expect(channel).toBe(EVENTS_CHANNEL)
    const indices = received.filter((m) => m.event === 'frame').map((m) => (m.payload as { index: number }).index)
    expect(indices).toEqual(Array.from({ length: 1000 }, (_, i) => i))
    const steps = received.filter((m) => m.event === 'progress').map((m) => (m.payload as { step: number }).step)
    expect(steps.length).toBeGreaterThan(0)
    expect(steps).toEqual([...new Set(steps)].sort((a, b) => a - b))
    expect(steps.at(-1)).toBe(1000)
    expect(received.at(-1)).toEqual(done('r1'))
    expect(received.filter((m) => m.event === 'done')).toHaveLength(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('stop when the window closes: what is gathered is dropped, no timer is left', () => {
    const events = windowEvents(asElectron(win)!)
    events.push(frame('r1', 0, 10))
    expect(vi.getTimerCount()).toBe(1)
    win!.destroy()
    expect(vi.getTimerCount()).toBe(0)
    events.push(frame('r1', 1, 10))
    events.push(done('r1'))
    vi.advanceTimersByTime(10 * EVENT_BATCH_MS)
    expect(win!.webContents.send).not.toHaveBeenCalled()
    expect(received).toEqual([])
  })

  it('are not sent to a page destroyed before its window', () => {
    const events = windowEvents(asElectron(win)!)
    events.push(frame('r1', 0, 10))
    win!.webContents.destroyed = true
    vi.advanceTimersByTime(EVENT_BATCH_MS)
    events.push(done('r1'))
    expect(win!.webContents.send).not.toHaveBeenCalled()
  })
})
