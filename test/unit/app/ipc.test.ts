/**
 * The contract over Electron's IPC (17. Validate the sender of all IPC messages), run against a mocked
 * electron: the handlers' own checks, not Electron's delivery.
 */

import type { BrowserWindow as ElectronWindow } from 'electron'
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'

import { handleRequests, sendEvent } from '../../../src-main/app/ipc'
import { isTrustedSender } from '../../../src-main/app/sender'
import { CHANNELS, EVENT_CHANNEL, type Result } from '../../../src-preload/contract'
import { BrowserWindow, ipcMain, WebContentsMock } from './mock-electron'

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

describe('events to the window', () => {
  const progress = { runId: 'r1', step: 2, total: 5, timestep: 600, elapsedMs: 40 }

  it('travel on the event channel as (name, payload)', () => {
    sendEvent(asElectron(win), 'progress', progress)
    expect(win?.webContents.send).toHaveBeenCalledExactlyOnceWith(EVENT_CHANNEL, 'progress', progress)
  })

  it('are dropped for a destroyed window or page, or none', () => {
    const page = win!.webContents
    page.destroyed = true
    sendEvent(asElectron(win), 'progress', progress)
    win!.destroy()
    sendEvent(asElectron(win), 'progress', progress)
    expect(page.send).not.toHaveBeenCalled()
    expect(() => sendEvent(undefined, 'progress', progress)).not.toThrow()
  })
})
