/**
 * The Electron shell's decisions that need no Electron: which frames may talk to the engine, where the
 * window may open, which argument is a model to open. Kept pure so they are tested under plain Node
 * (importing 'electron' there fails without its binary).
 */
import type { Settings } from '../../src-preload/contract'

/**
 * Only our own page may use the IPC channels (VS Code's and Electron Fiddle's rule): the dev server's
 * origin in development, our renderer's index.html when built. Anything else (a navigated or injected
 * frame) is refused.
 */
export function isTrustedSender(frameUrl: string | undefined, renderer: { devUrl?: string; indexFileUrl: string }): boolean {
  if (!frameUrl) return false
  let url: URL
  try {
    url = new URL(frameUrl)
  } catch {
    return false
  }
  if (renderer.devUrl) return url.origin === new URL(renderer.devUrl).origin
  const index = new URL(renderer.indexFileUrl)
  return url.protocol === 'file:' && url.pathname === index.pathname
}

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/**
 * The remembered window bounds, if the window would still be visible (a monitor may have gone since):
 * at least a 100 x 50 px piece of its title area on some display's work area.
 */
export function restorableBounds(saved: Settings['windowBounds'], workAreas: Rect[]): Settings['windowBounds'] | undefined {
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
  return argv.slice(1).filter((a) => !a.startsWith('-') && a.toLowerCase().endsWith('.onnx')).at(-1)
}
