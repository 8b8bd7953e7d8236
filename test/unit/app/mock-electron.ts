/**
 * A stand-in for the `electron` module, as Electron Fiddle's tests/mocks/electron.ts is: just enough of
 * ipcMain, BrowserWindow, dialog, app and protocol for the shell's handlers to run under plain Node, and of
 * ipcRenderer, contextBridge and webUtils for the preload, each recording what it was asked. Tests with it
 * check our handlers and claim nothing about the real binary.
 *
 *   vi.mock('electron', () => import('./mock-electron'))
 */
import { EventEmitter } from 'node:events'
import { readFileSync } from 'node:fs'
import { PassThrough } from 'node:stream'

import { vi } from 'vitest'

type Handler = (event: unknown, ...args: unknown[]) => unknown

class IpcMainMock {
  readonly handlers = new Map<string, Handler>()
  /** Electron refuses a second handler on a channel; so does this. */
  readonly handle = vi.fn((channel: string, handler: Handler) => {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`)
    this.handlers.set(channel, handler)
  })
  /** What ipcRenderer.invoke(channel, payload) would get back, sent with `event`. */
  invoke(channel: string, event: unknown, payload?: unknown): Promise<unknown> {
    const handler = this.handlers.get(channel)
    if (!handler) throw new Error(`No handler registered for '${channel}'`)
    return Promise.resolve(handler(event, payload))
  }
}

export const ipcMain = new IpcMainMock()

/** The preload's end: a test emits on it what main sends (`emit(channel, event, ...args)`). */
class IpcRendererMock extends EventEmitter {
  readonly invoke = vi.fn(async (channel: string, payload?: unknown): Promise<unknown> => ({ channel, payload }))
}
export const ipcRenderer = new IpcRendererMock()

/** What the preload exposed to the page, by name (`exposed.stepwise` is window.stepwise). */
export const contextBridge = {
  exposed: {} as Record<string, unknown>,
  exposeInMainWorld: vi.fn((key: string, api: unknown) => void (contextBridge.exposed[key] = api)),
}

export const webUtils = { getPathForFile: vi.fn((_file: unknown): string => '') }

export class WebContentsMock extends EventEmitter {
  destroyed = false
  windowOpenHandler?: (details: { url: string }) => { action: 'allow' | 'deny' }
  readonly send = vi.fn()
  readonly reload = vi.fn()
  /** What startDrag was asked to drag: the file must exist then, so it is read here. */
  readonly drags: { file: string; bytes: Buffer; icon: NativeImageMock }[] = []
  readonly startDrag = vi.fn((item: { file: string; icon: NativeImageMock }) => {
    this.drags.push({ ...item, bytes: readFileSync(item.file) })
  })
  isDestroyed(): boolean {
    return this.destroyed
  }
  /** Deliver what is sent to this page to the preload's ipcRenderer, structured-cloned as Electron does. */
  connectToPreload(): void {
    this.send.mockImplementation((channel: string, ...args: unknown[]) =>
      ipcRenderer.emit(channel, { sender: ipcRenderer }, ...structuredClone(args)),
    )
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'allow' | 'deny' }): void {
    this.windowOpenHandler = handler
  }
}

export class BrowserWindow extends EventEmitter {
  /** Every window made since the test file started, newest last. */
  static readonly made: BrowserWindow[] = []
  readonly webContents = new WebContentsMock()
  destroyed = false
  maximized = false
  readonly show = vi.fn()
  readonly loadURL = vi.fn(async (_url: string) => {})
  constructor(readonly options: Record<string, unknown> = {}) {
    super()
    BrowserWindow.made.push(this)
  }
  isDestroyed(): boolean {
    return this.destroyed
  }
  maximize(): void {
    this.maximized = true
  }
  isMaximized(): boolean {
    return this.maximized
  }
  getNormalBounds() {
    const { x = 0, y = 0, width = 800, height = 600 } = this.options as Record<string, number>
    return { x, y, width, height }
  }
  destroy(): void {
    this.destroyed = true
    this.webContents.destroyed = true
    this.emit('closed')
  }
}

/** nativeImage: an image knows the PNG it was made from (its size read from the IHDR) and its resizes. */
export class NativeImageMock {
  constructor(
    readonly width: number,
    readonly height: number,
  ) {}
  getSize() {
    return { width: this.width, height: this.height }
  }
  resize({ width }: { width: number }) {
    return new NativeImageMock(width, Math.round((this.height * width) / this.width))
  }
}
export const nativeImage = {
  createFromBuffer: (png: Buffer) => new NativeImageMock(png.readUInt32BE(16), png.readUInt32BE(20)),
}

export const dialog = { showSaveDialog: vi.fn(), showOpenDialog: vi.fn() }

export const app = { getPath: vi.fn((name: string) => `/home/me/${name}`) }

export const protocol = { registerSchemesAsPrivileged: vi.fn() }

/** Electron's Notification: each one made is kept, with whether it was shown. */
export class Notification {
  static readonly made: Notification[] = []
  static supported = true
  static isSupported() {
    return Notification.supported
  }
  shown = false
  constructor(readonly options: { title: string; body?: string; silent?: boolean }) {
    Notification.made.push(this)
  }
  show() {
    this.shown = true
  }
}

/** A utility process: its stdout and stderr are streams the test writes to; `exit(code)` ends it. */
export class UtilityProcessMock extends EventEmitter {
  readonly stdout = new PassThrough()
  readonly stderr = new PassThrough()
  readonly kill = vi.fn(() => (this.exit(-1), true))
  constructor(
    readonly modulePath: string,
    readonly options: { env?: Record<string, string | undefined>; stdio?: unknown } = {},
  ) {
    super()
  }
  exit(code: number): void {
    this.stdout.end()
    this.stderr.end()
    this.emit('exit', code)
  }
}
export const utilityProcess = {
  /** Every process forked since the test file started, newest last. */
  forked: [] as UtilityProcessMock[],
  fork: vi.fn((modulePath: string, _args: string[] = [], options = {}) => {
    const child = new UtilityProcessMock(modulePath, options)
    utilityProcess.forked.push(child)
    return child
  }),
}

type ProtocolHandler = (request: Request) => Promise<Response>
type HeadersListener = (
  details: { responseHeaders?: Record<string, string[]> },
  callback: (response: { responseHeaders?: Record<string, string[]> }) => void,
) => void

type PermissionRequestHandler = (
  contents: unknown,
  permission: string,
  callback: (granted: boolean) => void,
  details: object,
) => void
type PermissionCheckHandler = (contents: unknown, permission: string, origin: string, details: object) => boolean

/**
 * A Session (protocol.ts and permissions.ts take one as an argument): its protocol handlers, header
 * listeners and permission handlers, recorded.
 */
export class SessionMock {
  permissionRequestHandler?: PermissionRequestHandler | null
  permissionCheckHandler?: PermissionCheckHandler | null
  readonly setPermissionRequestHandler = vi.fn((h: PermissionRequestHandler | null) => {
    this.permissionRequestHandler = h
  })
  readonly setPermissionCheckHandler = vi.fn((h: PermissionCheckHandler | null) => {
    this.permissionCheckHandler = h
  })
  readonly handlers = new Map<string, ProtocolHandler>()
  readonly headerListeners: { filter: { urls: string[] }; listener: HeadersListener }[] = []
  readonly protocol = {
    handle: vi.fn((scheme: string, handler: ProtocolHandler) => void this.handlers.set(scheme, handler)),
  }
  readonly webRequest = {
    onHeadersReceived: vi.fn((filter: { urls: string[] }, listener: HeadersListener) => {
      this.headerListeners.push({ filter, listener })
    }),
  }
}
