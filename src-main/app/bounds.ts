/**
 * Where the window reopens (no security-checklist item: a usability rule, kept pure to test it without a
 * display): the remembered bounds, unless no display would show them any more.
 */
import type { Settings } from '../../src-preload/contract'

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
