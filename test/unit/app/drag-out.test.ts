/** Dragging an image out as its PNG file (src-main/app/drag-out.ts), against a mocked electron. */
import { existsSync } from 'node:fs'
import { dirname } from 'node:path'

import { describe, expect, it, vi } from 'vitest'

vi.mock('electron', () => import('./mock-electron'))

import { dragOut } from '../../../src-main/app/drag-out'
import { encodePng } from '../../../src-main/engine/export/png'
import { BrowserWindow } from './mock-electron'

const png = (size: number) =>
  encodePng({ channels: 1, width: size, height: size, data: new Float32Array(size * size) }, undefined)

describe('drag out', () => {
  it('hands the OS drag the PNG written under its name, with a small icon of it; the folder goes at quit', async () => {
    const win = new BrowserWindow()
    const drag = dragOut(() => win as never)
    const bytes = png(224)
    expect(await drag.start({ name: 'seed-42.png', bytes })).toBe(true)
    const [item] = win.webContents.drags
    expect(item.file).toMatch(/stepwise-drag-.*[/\\]seed-42\.png$/)
    expect(new Uint8Array(item.bytes)).toEqual(bytes)
    expect(item.icon.getSize()).toEqual({ width: 64, height: 64 })
    // A small image is its own icon.
    await drag.start({ name: 'seed-43.png', bytes: png(28) })
    expect(win.webContents.drags[1].icon.getSize()).toEqual({ width: 28, height: 28 })
    drag.dispose()
    expect(existsSync(dirname(item.file))).toBe(false)
  })

  it('starts nothing without a window', async () => {
    const win = new BrowserWindow()
    win.destroy()
    const drag = dragOut(() => win as never)
    expect(await drag.start({ name: 'seed-1.png', bytes: png(8) })).toBe(false)
    expect(await dragOut(() => undefined).start({ name: 'seed-1.png', bytes: png(8) })).toBe(false)
    expect(win.webContents.startDrag).not.toHaveBeenCalled()
  })
})
