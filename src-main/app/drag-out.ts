/**
 * Dragging an image out of the window as a PNG file with its parameters (Electron: webContents.startDrag,
 * which needs a file on disk when the drag starts). The engine's PNG is written to a folder of the
 * session's own under the system's temporary folder, under its export name, and handed to the OS drag;
 * the folder goes when the app quits. (The browser host's page drags a download instead.)
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { type BrowserWindow, nativeImage } from 'electron'

import { writeFileAtomic } from '../engine/files'

/** The icon under the pointer while dragging: the image itself, this many pixels wide at most. */
const DRAG_ICON_PX = 64

export interface DragOut {
  /** Start the OS drag of this file from the window; false when there is no window to drag from. */
  start(file: { name: string; bytes: Uint8Array }): Promise<boolean>
  /** Remove the session's drag folder. */
  dispose(): void
}

export function dragOut(window: () => BrowserWindow | undefined): DragOut {
  let folder: string | undefined
  return {
    async start({ name, bytes }) {
      const win = window()
      if (!win || win.isDestroyed()) return false
      folder ??= mkdtempSync(join(tmpdir(), 'stepwise-drag-'))
      const path = join(folder, name)
      await writeFileAtomic(path, bytes)
      const image = nativeImage.createFromBuffer(Buffer.from(bytes))
      const icon = image.getSize().width > DRAG_ICON_PX ? image.resize({ width: DRAG_ICON_PX, quality: 'good' }) : image
      win.webContents.startDrag({ file: path, icon })
      return true
    },
    dispose() {
      if (folder) rmSync(folder, { recursive: true, force: true })
    },
  }
}
