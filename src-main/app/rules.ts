/**
 * The Electron shell's decisions that need no Electron: which frames may talk to the engine, what the
 * app:// scheme serves and under which Content-Security-Policy, where the window may open, which argument
 * is a model to open. Kept pure so they are tested under plain Node (importing 'electron' there fails
 * without its binary).
 */
import { extname, isAbsolute, relative, resolve } from 'node:path'

import type { Settings } from '../../src-preload/contract'

/**
 * The built renderer is served from a scheme of our own rather than file:// (Electron's security
 * checklist, "use a custom protocol"): the page's origin is then app://stepwise, so 'self' in the CSP and
 * the IPC sender check mean our bundle only, not every file on the disk.
 */
export const APP_SCHEME = 'app'
export const APP_HOST = 'stepwise'
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`

/**
 * The renderer's own policy (the meta tag in src-renderer/index.html, which a test keeps in step) and what
 * only a header can say. Sent with every page the window loads: app:// responses and the dev server's.
 */
export const RENDERER_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'"
export const CONTENT_SECURITY_POLICY = `${RENDERER_CSP}; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`

/** Where the window's page comes from: the electron-vite dev server in development, app:// when built. */
export interface RendererSource {
  devUrl?: string
}

/**
 * Only our own page may use the IPC channels and be navigated to (VS Code's and Electron Fiddle's rule):
 * the dev server's origin in development, app://stepwise when built. Anything else (a navigated or
 * injected frame, a file:// page) is refused.
 */
export function isTrustedSender(frameUrl: string | undefined, renderer: RendererSource): boolean {
  if (!frameUrl) return false
  let url: URL
  try {
    url = new URL(frameUrl)
  } catch {
    return false
  }
  if (renderer.devUrl) return url.origin === new URL(renderer.devUrl).origin
  // Node's URL gives non-special schemes an opaque origin ('null'), so compare scheme and host.
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST
}

/**
 * The file of the built renderer that an app:// URL names: undefined for another host or anything that
 * resolves outside the renderer's folder (encoded ../ included).
 */
export function rendererFile(root: string, requestUrl: string): string | undefined {
  let url: URL
  try {
    url = new URL(requestUrl)
  } catch {
    return undefined
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return undefined
  let path: string
  try {
    path = decodeURIComponent(url.pathname)
  } catch {
    return undefined
  }
  if (path.includes('\0')) return undefined
  const file = resolve(root, '.' + (path === '/' ? '/index.html' : path))
  const inside = relative(root, file)
  return inside && !inside.startsWith('..') && !isAbsolute(inside) ? file : undefined
}

const MIME_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
}

/** Module scripts need a JavaScript type (Chromium checks it strictly); unknown files go as bytes. */
export const mimeType = (file: string): string => MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/**
 * The remembered window bounds, if the window would still be visible (a monitor may have gone since):
 * at least a 100 x 25 px piece of its title area on some display's work area.
 */
export function restorableBounds(
  saved: Settings['windowBounds'],
  workAreas: Rect[],
): Settings['windowBounds'] | undefined {
  if (!saved) return undefined
  const titleBar = { x: saved.x, y: saved.y, width: saved.width, height: 50 }
  const visible = workAreas.some((a) => {
    const w = Math.min(titleBar.x + titleBar.width, a.x + a.width) - Math.max(titleBar.x, a.x)
    const h = Math.min(titleBar.y + titleBar.height, a.y + a.height) - Math.max(titleBar.y, a.y)
    return w >= 100 && h >= 25
  })
  return visible ? saved : undefined
}

/** A model named on the command line (double-clicking a .onnx file, or a second instance): the last .onnx argument. */
export function modelPathFromArgv(argv: string[]): string | undefined {
  return argv
    .slice(1)
    .filter((a) => !a.startsWith('-') && a.toLowerCase().endsWith('.onnx'))
    .at(-1)
}

/**
 * The taskbar / dock progress over the runs in flight (a compare or grid runs several): their mean
 * fraction, or -1 (no bar) when none runs.
 */
export function taskbarProgress(runs: ReadonlyMap<string, number>): number {
  if (runs.size === 0) return -1
  let sum = 0
  for (const fraction of runs.values()) sum += fraction
  return sum / runs.size
}

/** The one IPC channel events travel on, as (name, payload): the preload's too. */
export { EVENT_CHANNEL } from '../../src-preload/channels'
