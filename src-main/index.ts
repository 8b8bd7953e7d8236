/**
 * The Electron shell: one secure window showing the renderer, the engine in a worker thread behind the
 * typed contract, settings with electron-store, the native menu, single instance and .onnx files opened
 * from the OS. Thin: requests go through the shell shared with the browser host (service/shell.ts).
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, screen, session, type MenuItemConstructorOptions } from 'electron'
import Store from 'electron-store'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { CHANNELS, type EventName, EVENTS, type Events } from '../src-preload/contract'
import { writeFileAtomic, nonClashingPath } from './engine/files'
import { defaultModelPath, DEFAULT_MODEL_FILE } from './engine/model/default-model'
import { startEngine } from './service/engine-client'
import { createShell } from './service/shell'
import { openSettings } from './settings'
import { menuTemplate, type MenuItemSpec } from './app/menu'
import { isTrustedSender, modelPathFromArgv, restorableBounds } from './app/rules'

const EVENT_CHANNEL = 'stepwise:event'
const rendererIndex = join(import.meta.dirname, '../renderer/index.html')
const renderer = { devUrl: process.env.ELECTRON_RENDERER_URL, indexFileUrl: pathToFileURL(rendererIndex).href }

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  let win: BrowserWindow | undefined
  /** A model the OS asked us to open before the window was ready. */
  let pendingModel = modelPathFromArgv(process.argv)

  const settingsFile = join(app.getPath('userData'), 'settings.json')
  const settings = openSettings({ file: settingsFile, make: () => new Store({ name: 'settings', cwd: app.getPath('userData') }) })
  const engine = startEngine({ workerUrl: new URL('./engine-worker.js', import.meta.url) })

  const send = <E extends EventName>(event: E, payload: Events[E]) => win?.webContents.send(EVENT_CHANNEL, event, payload)

  let lastExportDir = app.getPath('pictures')
  const shell = createShell({
    engine,
    settings,
    defaultModelPath: app.isPackaged ? defaultModelPath(process.resourcesPath) : join(app.getAppPath(), 'resources', 'models', DEFAULT_MODEL_FILE),
    async save(files) {
      if (!win) return []
      if (files.length === 1) {
        // The OS dialog has asked before replacing a file, so writing over it here is what the user chose.
        const r = await dialog.showSaveDialog(win, { defaultPath: join(lastExportDir, files[0].name) })
        if (r.canceled || !r.filePath) return []
        await writeFileAtomic(r.filePath, files[0].bytes, { overwrite: true })
        lastExportDir = join(r.filePath, '..')
        return [r.filePath]
      }
      const r = await dialog.showOpenDialog(win, { title: `Export ${files.length} files to...`, defaultPath: lastExportDir, properties: ['openDirectory', 'createDirectory'] })
      if (r.canceled || !r.filePaths[0]) return []
      lastExportDir = r.filePaths[0]
      const paths: string[] = []
      for (const f of files) {
        const path = await nonClashingPath(join(lastExportDir, f.name))
        await writeFileAtomic(path, f.bytes)
        paths.push(path)
      }
      return paths
    },
    async pickModel() {
      if (!win) return undefined
      const r = await dialog.showOpenDialog(win, { title: 'Open Model', properties: ['openFile'], filters: [{ name: 'ONNX models', extensions: ['onnx'] }] })
      return r.canceled ? undefined : r.filePaths[0]
    },
  })

  /** Load a model the OS handed us (double-click, second instance) and tell the renderer. */
  const openFromOs = async (path: string) => {
    const r = await shell.loadModel({ path })
    if (r.ok) send('model', { card: r.value })
    else dialog.showErrorBox('Stepwise could not open the model', r.error.message)
  }

  // Every engine event goes to the window; progress also shows on the taskbar / dock.
  for (const event of EVENTS) {
    engine.on(event, (payload) => send(event, payload as never))
  }
  engine.on('progress', (p) => win?.setProgressBar(p.total ? p.step / p.total : -1))
  engine.on('done', () => win?.setProgressBar(-1))
  engine.on('failed', () => win?.setProgressBar(-1))

  // One handler a channel of the contract; the payload is checked by the shell, the sender here.
  for (const channel of CHANNELS) {
    ipcMain.handle(channel, (event, payload) => {
      if (!win || event.sender !== win.webContents || !isTrustedSender(event.senderFrame?.url, renderer)) {
        return { ok: false, error: { code: 'bad-argument', message: `${channel}: refused (not Stepwise's own page)` } }
      }
      return shell.handle(channel, payload)
    })
  }

  const toMenu = (items: MenuItemSpec[]): MenuItemConstructorOptions[] =>
    items.map(({ command, submenu, role, ...rest }) => ({
      ...rest,
      ...(role ? { role: role as MenuItemConstructorOptions['role'] } : {}),
      ...(submenu ? { submenu: toMenu(submenu) } : {}),
      ...(command ? { click: () => send('command', { name: command }) } : {}),
    }))

  const createWindow = () => {
    const bounds = restorableBounds(settings.get().windowBounds, screen.getAllDisplays().map((d) => d.workArea))
    win = new BrowserWindow({
      width: bounds?.width ?? 1280,
      height: bounds?.height ?? 820,
      ...(bounds ? { x: bounds.x, y: bounds.y } : {}),
      minWidth: 960,
      minHeight: 640,
      title: 'Stepwise',
      show: false,
      webPreferences: {
        preload: join(import.meta.dirname, '../preload/index.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        webSecurity: true,
      },
    })
    if (bounds?.maximized) win.maximize()
    win.once('ready-to-show', () => win?.show())
    // No navigation away from our page, no new windows.
    win.webContents.on('will-navigate', (e, url) => {
      if (!isTrustedSender(url, renderer)) e.preventDefault()
    })
    win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
    win.webContents.on('render-process-gone', (_e, details) => {
      if (details.reason !== 'clean-exit') win?.webContents.reload()
    })
    win.on('close', () => {
      if (!win) return
      const b = win.getNormalBounds()
      settings.update({ windowBounds: { x: b.x, y: b.y, width: b.width, height: b.height, maximized: win.isMaximized() } })
    })
    win.on('closed', () => (win = undefined))
    win.webContents.once('did-finish-load', () => {
      if (settings.setAside) dialog.showMessageBox(win!, { type: 'warning', message: 'Stepwise settings were unreadable', detail: `They were set aside as ${settings.setAside} and defaults are used.` })
      if (pendingModel) void openFromOs(pendingModel)
      pendingModel = undefined
    })
    if (renderer.devUrl) void win.loadURL(renderer.devUrl)
    else void win.loadFile(rendererIndex)
  }

  app.on('second-instance', (_e, argv) => {
    if (win) {
      if (win.isMinimized()) win.restore()
      win.focus()
    }
    const path = modelPathFromArgv(argv)
    if (path) void openFromOs(path)
  })
  // macOS hands files over with open-file, possibly before ready.
  app.on('open-file', (e, path) => {
    e.preventDefault()
    if (win) void openFromOs(path)
    else pendingModel = path
  })

  app.whenReady().then(() => {
    // The renderer asks for no permission (camera, notifications...): refuse them all.
    session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
    Menu.setApplicationMenu(Menu.buildFromTemplate(toMenu(menuTemplate(process.platform, app.name))))
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
