/**
 * The Electron shell: one secure window showing the renderer (served on app://stepwise), the engine in a
 * worker thread behind the typed contract, settings with electron-store, the native menu, a single
 * instance that opens the .onnx files the OS hands it. Thin: requests go through the shell shared with
 * the browser host (service/shell.ts); the pieces live in app/.
 */
import { join } from 'node:path'

import { app, BrowserWindow, dialog, Menu, screen, session } from 'electron'
import Store from 'electron-store'

import { type EventName, EVENTS, type Events, type SampleStarted } from '../src-preload/contract'
import { APP_URL } from './app/app-scheme'
import { modelPathFromArgv } from './app/argv'
import { restorableBounds } from './app/bounds'
import { dialogPorts } from './app/dialogs'
import { dragOut } from './app/drag-out'
import { handleRequests, windowEvents } from './app/ipc'
import { menuOptions, menuTemplate } from './app/menu'
import { longRunNotifier } from './app/notify'
import { refusePermissions } from './app/permissions'
import { utilityProbeRunner } from './app/probe-runner'
import { addCspToDevServer, registerAppScheme, serveRenderer } from './app/protocol'
import { isTrustedSender } from './app/sender'
import { taskbarProgress } from './app/taskbar'
import { createMainWindow } from './app/window'
import { DEFAULT_MODEL_FILE, defaultModelPath } from './engine/model/default-model'
import { MODEL_CACHE_DIR } from './engine/model/graph-cache'
import { startEngine } from './service/engine-client'
import type { EventBatcher, EventMessage } from './service/event-batch'
import { HISTORY_DIR } from './service/run-store'
import { createShell } from './service/shell'
import { openSettings } from './settings'

/** electron-vite sets this in `npm start` (the dev server, with hot reload); the built app has none. */
const renderer = { devUrl: process.env.ELECTRON_RENDERER_URL }
const isOurPage = (url: string) => isTrustedSender(url, renderer)
/** DevTools (the window's and the menu's toggle) only in development: a packaged app has none. */
const devTools = !app.isPackaged

// A second start hands its arguments to the first (second-instance below) and goes.
if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  registerAppScheme()

  let win: BrowserWindow | undefined
  /** The events to the window, gathered into few IPC messages (service/event-batch.ts); closed with it. */
  let winEvents: EventBatcher | undefined
  /** A model the OS asked us to open: loaded once the renderer has loaded its own first model. */
  let pendingModel = modelPathFromArgv(process.argv)
  let rendererStarted = false

  const userData = app.getPath('userData')
  const settings = openSettings({
    file: join(userData, 'settings.json'),
    make: () => new Store({ name: 'settings', cwd: userData }),
  })
  // The page shows it too (settings.get), once.
  if (settings.problem) console.warn(`stepwise: ${settings.problem}`)

  // Its own build entry (electron.vite.config.ts), beside this file in out/main.
  const engine = startEngine({
    workerUrl: new URL('./engine-worker.js', import.meta.url),
    runProbe: utilityProbeRunner,
    cacheDir: join(userData, MODEL_CACHE_DIR),
    historyDir: join(userData, HISTORY_DIR),
  })
  const send = <E extends EventName>(event: E, payload: Events[E]) =>
    winEvents?.push({ event, payload } as EventMessage)

  const drag = dragOut(() => win)
  app.on('will-quit', () => drag.dispose())
  const shell = createShell({
    engine,
    settings,
    ...dialogPorts(() => win),
    dragOut: (file) => drag.start(file),
    // Unpackaged (npm start, tests) this file is out/main/index.js, whatever folder Electron was started with.
    defaultModelPath: app.isPackaged
      ? defaultModelPath(process.resourcesPath)
      : join(import.meta.dirname, '..', '..', 'resources', 'models', DEFAULT_MODEL_FILE),
  })

  /** Load a model the OS handed us (double-click, second instance, macOS open-file) and tell the renderer. */
  const openFromOs = async (path: string) => {
    const r = await shell.loadModel({ path })
    if (r.ok) send('model', { card: r.value })
    else if (win)
      void dialog.showMessageBox(win, {
        type: 'error',
        message: 'Stepwise could not open the model',
        detail: r.error.message,
      })
  }
  const openWhenReady = (path: string) => {
    if (win && rendererStarted) return void openFromOs(path)
    pendingModel = path
    if (!win && app.isReady()) createWindow()
  }

  for (const event of EVENTS) engine.on(event, (payload) => send(event, payload as never))
  // What the main process shows itself reads the engine's events, each as it comes, not the window's gathered
  // stream. The taskbar / dock shows the runs in flight; a crashed engine fails them, which clears it too.
  const running = new Map<string, number>()
  const showProgress = () => win?.setProgressBar(taskbarProgress(running))
  engine.on('progress', (p) => (running.set(p.runId, p.total ? p.step / p.total : 0), showProgress()))
  engine.on('done', (e) => (running.delete(e.runId), showProgress()))
  engine.on('failed', (e) => (running.delete(e.runId), showProgress()))
  // A long run's end says so outside the window, when the user turned that on.
  const notifier = longRunNotifier(() => settings.get().notifyLongRuns)
  engine.on('done', (e) => notifier.done(e))
  engine.on('failed', (e) => notifier.failed(e))

  handleRequests({
    window: () => win,
    isOurPage,
    async handle(channel, payload) {
      const result = await shell.handle(channel, payload)
      if (channel === 'sample.start' && result.ok) notifier.started(result.value as SampleStarted)
      // The renderer starts by loading its model; a model from the OS comes after it, not under it.
      if (channel === 'model.load' && !rendererStarted) {
        rendererStarted = true
        if (pendingModel) void openFromOs(pendingModel)
        pendingModel = undefined
      }
      return result
    },
  })

  const createWindow = () => {
    rendererStarted = false
    win = createMainWindow({
      bounds: restorableBounds(
        settings.get().windowBounds,
        screen.getAllDisplays().map((d) => d.workArea),
      ),
      preload: join(import.meta.dirname, '..', 'preload', 'index.cjs'),
      url: renderer.devUrl ?? APP_URL,
      isOurPage,
      devTools,
      onClose: (windowBounds) => settings.update({ windowBounds }),
    })
    winEvents = windowEvents(win)
    win.on('closed', () => ((win = undefined), (winEvents = undefined)))
  }

  app.on('second-instance', (_e, argv) => {
    if (win) {
      if (win.isMinimized()) win.restore()
      win.focus()
    }
    const path = modelPathFromArgv(argv)
    if (path) openWhenReady(path)
    else if (!win && app.isReady()) createWindow()
  })
  // macOS hands files over with open-file, possibly before ready.
  app.on('open-file', (e, path) => {
    e.preventDefault()
    openWhenReady(path)
  })

  app.whenReady().then(() => {
    refusePermissions(session.defaultSession)
    if (renderer.devUrl) addCspToDevServer(session.defaultSession, renderer.devUrl)
    else serveRenderer(session.defaultSession, join(import.meta.dirname, '..', 'renderer'))
    Menu.setApplicationMenu(
      Menu.buildFromTemplate(
        menuOptions(menuTemplate(process.platform, app.name, { devTools }), (name) => send('command', { name })),
      ),
    )
    createWindow()
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow()
    })
  })

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
  // Stop the runs and release the model before the process goes (ending a worker inside
  // onnxruntime's session.run aborts the process).
  let closing = false
  app.on('before-quit', (e) => {
    if (closing) return
    e.preventDefault()
    closing = true
    void engine.close().finally(() => app.quit())
  })
}
