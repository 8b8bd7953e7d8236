/**
 * The one window, locked down per Electron's security checklist: 2. no Node.js integration, 3. context
 * isolation, 4. the process sandbox, 6. webSecurity on, 8. no insecure content, 12. no <webview>,
 * 13. no navigation away from our page, 14. no new windows; DevTools only in development builds. A
 * crashed renderer is reloaded; the bounds are handed back on close to be remembered.
 */
import { BrowserWindow } from 'electron'

import type { Settings } from '../../src-preload/contract'

type Bounds = NonNullable<Settings['windowBounds']>

export interface MainWindowOptions {
  /** The remembered bounds, already checked to be on a display (restorableBounds). */
  bounds: Bounds | undefined
  preload: string
  url: string
  /** Is this URL our own page (the only place the window may navigate to)? */
  isOurPage(url: string): boolean
  /** DevTools can open (development builds only). */
  devTools: boolean
  onClose(bounds: Bounds): void
}

export function createMainWindow({
  bounds,
  preload,
  url,
  isOurPage,
  devTools,
  onClose,
}: MainWindowOptions): BrowserWindow {
  const win = new BrowserWindow({
    width: bounds?.width ?? 1280,
    height: bounds?.height ?? 820,
    ...(bounds ? { x: bounds.x, y: bounds.y } : {}),
    minWidth: 960,
    minHeight: 640,
    title: 'Stepwise',
    show: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
      devTools,
    },
  })
  if (bounds?.maximized) win.maximize()
  win.once('ready-to-show', () => win.show())

  const contents = win.webContents
  contents.on('will-navigate', (e, target) => {
    if (!isOurPage(target)) e.preventDefault()
  })
  contents.on('will-redirect', (e, target) => {
    if (!isOurPage(target)) e.preventDefault()
  })
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  contents.on('will-attach-webview', (e) => e.preventDefault())
  // The engine and its runs live in main: a crashed page comes back with them (its history is asked for again).
  contents.on('render-process-gone', (_e, details) => {
    if (details.reason !== 'clean-exit' && !win.isDestroyed()) contents.reload()
  })

  win.on('close', () => {
    const b = win.getNormalBounds()
    onClose({ x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() })
  })
  void win.loadURL(url)
  return win
}
