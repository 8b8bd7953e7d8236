/**
 * The shell's ports that ask the user: where exports go (a save dialog for one file, a folder for
 * several) and which model to open.
 */
import { dirname, join } from 'node:path'

import { app, type BrowserWindow, dialog } from 'electron'

import { WEIGHTS_EXTENSIONS } from '../../src-shared/model'
import { writeFileAtomic, writeFileNumbered } from '../engine/files'
import type { ShellPorts } from '../service/shell'

export function dialogPorts(window: () => BrowserWindow | undefined): Pick<ShellPorts, 'save' | 'pickModel'> {
  /** Where the next export dialog opens: the last export's folder, at first Pictures. */
  let exportDir = app.getPath('pictures')
  return {
    async save(files) {
      const win = window()
      if (!win || files.length === 0) return []
      if (files.length === 1) {
        const r = await dialog.showSaveDialog(win, { defaultPath: join(exportDir, files[0].name) })
        if (r.canceled || !r.filePath) return []
        // The OS dialog has asked before replacing a file, so writing over it is what the user chose.
        await writeFileAtomic(r.filePath, files[0].bytes, { overwrite: true })
        exportDir = dirname(r.filePath)
        return [r.filePath]
      }
      const r = await dialog.showOpenDialog(win, {
        title: `Export ${files.length} files to...`,
        buttonLabel: 'Export here',
        defaultPath: exportDir,
        properties: ['openDirectory', 'createDirectory'],
      })
      if (r.canceled || !r.filePaths[0]) return []
      exportDir = r.filePaths[0]
      // Nobody was asked about these names: never replace a file, take "seed-3 (2).png" instead.
      const paths: string[] = []
      for (const f of files) paths.push(await writeFileNumbered(join(exportDir, f.name), f.bytes))
      return paths
    },
    async pickModel({ folder = false } = {}) {
      const win = window()
      if (!win) return undefined
      // macOS lets one dialog pick a file or a folder; elsewhere a dialog picks one or the other, so
      // Open Model... picks .onnx, weights and checkpoint files there and Open Folder... a diffusers folder.
      const properties: ('openFile' | 'openDirectory')[] = folder
        ? ['openDirectory']
        : process.platform === 'darwin'
          ? ['openFile', 'openDirectory']
          : ['openFile']
      const r = await dialog.showOpenDialog(win, {
        title: folder ? 'Open Folder' : 'Open Model',
        properties,
        filters: [
          { name: 'Models', extensions: ['onnx', ...WEIGHTS_EXTENSIONS.map((e) => e.slice(1))] },
          { name: 'All files', extensions: ['*'] },
        ],
      })
      return r.canceled ? undefined : r.filePaths[0]
    },
  }
}
