/**
 * The preload (window.stepwise in the Electron app) against a mocked electron: how it hands the events
 * main sends to the page's listeners, and which requests it lets through. Not Electron's own delivery.
 */
import '../../../src-preload/index'

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { EVENTS_CHANNEL, type StepwiseApi } from '../../../src-preload/contract'
import { contextBridge, ipcRenderer } from '../app/mock-electron'

vi.mock('electron', () => import('../app/mock-electron'))

const api = contextBridge.exposed.stepwise as StepwiseApi
/** What main sends: one message of the events gathered, in order. */
const deliver = (batch: { event: string; payload: unknown }[]) => ipcRenderer.emit(EVENTS_CHANNEL, {}, batch)

const frame = (index: number) => ({ runId: 'r1', index, total: 3, timestep: 3 - index, alphaBar: 0.5, stats: [] })
const progress = (step: number) => ({
  runId: 'r1',
  step,
  total: 3,
  calls: step,
  totalCalls: 3,
  timestep: 0,
  elapsedMs: 1,
})
const done = { runId: 'r1', samples: new ArrayBuffer(8), elapsedMs: 5 }

describe('the preload', () => {
  let log: string[]
  let off: (() => void)[]
  beforeEach(() => {
    log = []
    off = []
  })
  afterEach(() => off.forEach((f) => f()))

  it('exposes window.stepwise as the Electron host', () => {
    expect(contextBridge.exposeInMainWorld).toHaveBeenCalledExactlyOnceWith('stepwise', api)
    expect(api.host).toBe('electron')
  })

  it("hands a batch's events to the listeners of their names, one event at a time, in order", () => {
    // Subscribed in an order unlike the events': each listener must still have an event before any has the next.
    off.push(api.on('done', (e) => log.push(`done ${e.runId} ${e.samples.byteLength}`)))
    off.push(api.on('frame', (e) => log.push(`frame ${e.index}`)))
    off.push(api.on('progress', (e) => log.push(`progress ${e.step}`)))
    off.push(api.on('frame', (e) => log.push(`frame ${e.index} again`)))
    deliver([
      { event: 'frame', payload: frame(0) },
      { event: 'frame', payload: frame(1) },
      { event: 'progress', payload: progress(2) },
      { event: 'frame', payload: frame(2) },
      { event: 'done', payload: done },
    ])
    expect(log).toEqual([
      'frame 0',
      'frame 0 again',
      'frame 1',
      'frame 1 again',
      'progress 2',
      'frame 2',
      'frame 2 again',
      'done r1 8',
    ])
  })

  it('hands an event to each of its listeners with its payload, and nothing more once unsubscribed', () => {
    const payloads: unknown[] = []
    const stop = api.on('command', (e) => payloads.push(e))
    off.push(api.on('model', (e) => payloads.push(e)))
    deliver([{ event: 'command', payload: { name: 'generate' } }])
    stop()
    deliver([{ event: 'command', payload: { name: 'cancel' } }])
    expect(payloads).toEqual([{ name: 'generate' }])
  })

  it('reports a listener that throws and goes on with the others and the rest of the batch', () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    off.push(
      api.on('frame', (e) => {
        if (e.index === 0) throw new Error('boom')
      }),
    )
    off.push(api.on('frame', (e) => log.push(`frame ${e.index}`)))
    deliver([
      { event: 'frame', payload: frame(0) },
      { event: 'frame', payload: frame(1) },
    ])
    expect(log).toEqual(['frame 0', 'frame 1'])
    expect(error).toHaveBeenCalledExactlyOnceWith("stepwise: a 'frame' listener threw", new Error('boom'))
    error.mockRestore()
  })

  it("lets only the contract's channels through to main", async () => {
    expect(await api.invoke('runs.list', {})).toEqual({ channel: 'runs.list', payload: {} })
    const refused = await api.invoke('shell.openExternal' as never, {} as never)
    expect(refused).toMatchObject({ ok: false, error: { code: 'bad-argument' } })
    expect(ipcRenderer.invoke).toHaveBeenCalledOnce()
  })
})
