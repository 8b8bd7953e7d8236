/**
 * The one window, locked down per Electron's security checklist (2-4, 6, 8, 12-14), run against a mocked
 * electron: the options it is made with and what its handlers decide.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { isTrustedSender } from '../../../src-main/app/sender'
import { createMainWindow, type MainWindowOptions } from '../../../src-main/app/window'
import { BrowserWindow } from './mock-electron'

vi.mock('electron', () => import('./mock-electron'))

const OUR_PAGE = 'app://stepwise/index.html'
const onClose = vi.fn()

function open(over: Partial<MainWindowOptions> = {}): BrowserWindow {
  createMainWindow({
    bounds: undefined,
    preload: '/app/out/preload/index.cjs',
    url: OUR_PAGE,
    isOurPage: (url) => isTrustedSender(url, {}),
    devTools: false,
    onClose,
    ...over,
  })
  return BrowserWindow.made.at(-1)!
}

/** Emit a cancellable webContents event; whether the window's handler cancelled it. */
function prevented(win: BrowserWindow, event: string, ...args: unknown[]): boolean {
  const e = { preventDefault: vi.fn() }
  win.webContents.emit(event, e, ...args)
  return e.preventDefault.mock.calls.length > 0
}

beforeEach(() => onClose.mockClear())

describe('the main window', () => {
  it('runs its page sandboxed and context-isolated, without Node, with web security on', () => {
    const win = open()
    expect(win.options.webPreferences).toMatchObject({
      preload: '/app/out/preload/index.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
    expect(win.loadURL).toHaveBeenCalledExactlyOnceWith(OUR_PAGE)
  })

  it('has DevTools only when asked (development builds: !app.isPackaged)', () => {
    expect(open().options.webPreferences).toMatchObject({ devTools: false })
    expect(open({ devTools: true }).options.webPreferences).toMatchObject({ devTools: true })
  })

  it('opens where it was, maximized if it was, else at its default size, and shows once ready', () => {
    const placed = open({ bounds: { x: 40, y: 30, width: 1000, height: 700, maximized: true } })
    expect(placed.options).toMatchObject({ x: 40, y: 30, width: 1000, height: 700 })
    expect(placed.isMaximized()).toBe(true)
    const fresh = open()
    expect(fresh.options).toMatchObject({ width: 1280, height: 820 })
    expect(fresh.options).not.toHaveProperty('x')
    expect(fresh.isMaximized()).toBe(false)
    expect(fresh.show).not.toHaveBeenCalled()
    fresh.emit('ready-to-show')
    expect(fresh.show).toHaveBeenCalledOnce()
  })

  it('navigates and redirects only to our own page', () => {
    const win = open()
    for (const event of ['will-navigate', 'will-redirect']) {
      expect(prevented(win, event, 'app://stepwise/index.html#timeline'), event).toBe(false)
      expect(prevented(win, event, 'https://example.com/'), event).toBe(true)
      expect(prevented(win, event, 'file:///home/me/evil.html'), event).toBe(true)
      expect(prevented(win, event, 'app://elsewhere/index.html'), event).toBe(true)
    }
  })

  it('opens no new windows, not even of our own page, and attaches no <webview>', () => {
    const win = open()
    expect(win.webContents.windowOpenHandler?.({ url: 'https://example.com/' })).toEqual({ action: 'deny' })
    expect(win.webContents.windowOpenHandler?.({ url: OUR_PAGE })).toEqual({ action: 'deny' })
    expect(prevented(win, 'will-attach-webview', {}, { src: OUR_PAGE })).toBe(true)
  })

  it('reloads a crashed page, not one that exited cleanly or a destroyed window', () => {
    const win = open()
    win.webContents.emit('render-process-gone', {}, { reason: 'clean-exit' })
    expect(win.webContents.reload).not.toHaveBeenCalled()
    win.webContents.emit('render-process-gone', {}, { reason: 'crashed' })
    expect(win.webContents.reload).toHaveBeenCalledOnce()
    win.destroyed = true
    win.webContents.emit('render-process-gone', {}, { reason: 'oom' })
    expect(win.webContents.reload).toHaveBeenCalledOnce()
  })

  it('hands back its normal bounds and maximized state on close', () => {
    const win = open({ bounds: { x: 40, y: 30, width: 1000, height: 700, maximized: true } })
    win.emit('close')
    expect(onClose).toHaveBeenCalledExactlyOnceWith({ x: 40, y: 30, width: 1000, height: 700, maximized: true })
  })
})
