/**
 * The shell's ports that ask the user, run against a mocked electron whose dialogs answer as a user
 * would; the files are written for real, into a temp folder.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { BrowserWindow as ElectronWindow } from 'electron'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { dialogPorts } from '../../../src-main/app/dialogs'
import { app, BrowserWindow, dialog } from './mock-electron'

vi.mock('electron', () => import('./mock-electron'))

const bytes = (text: string) => new TextEncoder().encode(text)
const png = (name: string, text = name) => ({ name, bytes: bytes(text) })
const request = { runId: 'r1', kind: 'png' } as never

let pictures: string
let ports: ReturnType<typeof dialogPorts>
let win: BrowserWindow | undefined

beforeEach(() => {
  pictures = mkdtempSync(join(tmpdir(), 'stepwise-dialogs-'))
  app.getPath.mockReturnValue(pictures)
  win = new BrowserWindow()
  ports = dialogPorts(() => win as unknown as ElectronWindow | undefined)
})
afterEach(() => vi.clearAllMocks())

describe('exporting one file', () => {
  it('asks where in Pictures, writes there, and over a file the OS dialog already asked about', async () => {
    writeFileSync(join(pictures, 'mine.png'), 'old')
    dialog.showSaveDialog.mockResolvedValueOnce({ canceled: false, filePath: join(pictures, 'mine.png') })
    expect(await ports.save([png('seed-3.png', 'new')], request)).toEqual([join(pictures, 'mine.png')])
    expect(dialog.showSaveDialog).toHaveBeenCalledWith(win, { defaultPath: join(pictures, 'seed-3.png') })
    expect(readFileSync(join(pictures, 'mine.png'), 'utf8')).toBe('new')
  })

  it('opens the next dialog where the last export went', async () => {
    const elsewhere = join(pictures, 'elsewhere')
    mkdirSync(elsewhere)
    dialog.showSaveDialog.mockResolvedValueOnce({ canceled: false, filePath: join(elsewhere, 'a.png') })
    await ports.save([png('a.png')], request)
    dialog.showSaveDialog.mockResolvedValueOnce({ canceled: true })
    await ports.save([png('b.png')], request)
    expect(dialog.showSaveDialog).toHaveBeenLastCalledWith(win, { defaultPath: join(elsewhere, 'b.png') })
  })

  it('writes nothing when cancelled, and asks nothing without a window or files', async () => {
    dialog.showSaveDialog.mockResolvedValueOnce({ canceled: true, filePath: '' })
    expect(await ports.save([png('seed-3.png')], request)).toEqual([])
    expect(readdirSync(pictures)).toEqual([])
    expect(await ports.save([], request)).toEqual([])
    win = undefined
    expect(await ports.save([png('seed-3.png')], request)).toEqual([])
    expect(dialog.showSaveDialog).toHaveBeenCalledOnce()
  })
})

describe('exporting several files', () => {
  it('into the folder picked, never over a file already there', async () => {
    writeFileSync(join(pictures, 'seed-1.png'), 'kept')
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: false, filePaths: [pictures] })
    const paths = await ports.save([png('seed-1.png'), png('seed-2.png'), png('seed-2.png', 'again')], request)
    expect(paths).toEqual([
      join(pictures, 'seed-1 (2).png'),
      join(pictures, 'seed-2.png'),
      join(pictures, 'seed-2 (2).png'),
    ])
    expect(readFileSync(join(pictures, 'seed-1.png'), 'utf8')).toBe('kept')
    expect(readFileSync(join(pictures, 'seed-1 (2).png'), 'utf8')).toBe('seed-1.png')
    expect(readFileSync(join(pictures, 'seed-2 (2).png'), 'utf8')).toBe('again')
    expect(dialog.showOpenDialog).toHaveBeenCalledWith(
      win,
      expect.objectContaining({ title: 'Export 3 files to...', properties: ['openDirectory', 'createDirectory'] }),
    )
  })

  it('writes nothing when cancelled', async () => {
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: true, filePaths: [] })
    expect(await ports.save([png('a.png'), png('b.png')], request)).toEqual([])
    expect(readdirSync(pictures)).toEqual([])
  })
})

describe('picking a model', () => {
  const platform = process.platform
  afterEach(() => Object.defineProperty(process, 'platform', { value: platform }))

  it('offers .onnx and weights files, and folders too where one dialog can pick either (macOS)', async () => {
    dialog.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: ['/models/unet.onnx'] })
    for (const [os, properties] of [
      ['linux', ['openFile']],
      ['win32', ['openFile']],
      ['darwin', ['openFile', 'openDirectory']],
    ] as const) {
      Object.defineProperty(process, 'platform', { value: os })
      expect(await ports.pickModel!()).toBe('/models/unet.onnx')
      expect(dialog.showOpenDialog).toHaveBeenLastCalledWith(
        win,
        expect.objectContaining({
          properties,
          filters: expect.arrayContaining([
            { name: 'Models', extensions: ['onnx', 'safetensors', 'bin', 'pt', 'pth', 'ckpt'] },
          ]),
        }),
      )
    }
  })

  it('Open Folder... picks a folder on every platform (a diffusers folder)', async () => {
    dialog.showOpenDialog.mockResolvedValue({ canceled: false, filePaths: ['/models/ddpm'] })
    for (const os of ['linux', 'win32', 'darwin'] as const) {
      Object.defineProperty(process, 'platform', { value: os })
      expect(await ports.pickModel!({ folder: true })).toBe('/models/ddpm')
      expect(dialog.showOpenDialog).toHaveBeenLastCalledWith(
        win,
        expect.objectContaining({ title: 'Open Folder', properties: ['openDirectory'] }),
      )
    }
  })

  it('is undefined when cancelled or without a window', async () => {
    dialog.showOpenDialog.mockResolvedValueOnce({ canceled: true, filePaths: [] })
    expect(await ports.pickModel!()).toBeUndefined()
    win = undefined
    expect(await ports.pickModel!()).toBeUndefined()
    expect(dialog.showOpenDialog).toHaveBeenCalledOnce()
  })
})
