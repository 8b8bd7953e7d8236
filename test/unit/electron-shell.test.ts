/** The Electron shell's rules, tested without Electron: who may talk to the engine, where the window goes, the menu. */
import { describe, expect, it } from 'vitest'
import { COMMANDS } from '../../src-preload/contract'
import { type MenuItemSpec, menuTemplate } from '../../src-main/app/menu'
import { isTrustedSender, modelPathFromArgv, restorableBounds } from '../../src-main/app/rules'

const built = { indexFileUrl: 'file:///opt/Stepwise/resources/app.asar/out/renderer/index.html' }
const dev = { devUrl: 'http://localhost:5173/', indexFileUrl: built.indexFileUrl }

describe('IPC senders', () => {
  it('accept only our own page', () => {
    expect(isTrustedSender('file:///opt/Stepwise/resources/app.asar/out/renderer/index.html', built)).toBe(true)
    expect(isTrustedSender('file:///opt/Stepwise/resources/app.asar/out/renderer/index.html#timeline', built)).toBe(true)
    expect(isTrustedSender('file:///home/me/Downloads/evil.html', built)).toBe(false)
    expect(isTrustedSender('https://example.com/', built)).toBe(false)
    expect(isTrustedSender(undefined, built)).toBe(false)
    expect(isTrustedSender('not a url', built)).toBe(false)
    expect(isTrustedSender('http://localhost:5173/src/App.svelte', dev)).toBe(true)
    expect(isTrustedSender('http://localhost:5174/', dev)).toBe(false)
    expect(isTrustedSender(built.indexFileUrl, dev)).toBe(false)
  })
})

describe('window bounds', () => {
  const screen = [{ x: 0, y: 0, width: 1920, height: 1040 }]
  const saved = { x: 100, y: 80, width: 1280, height: 820, maximized: false }
  it('are restored where a display still shows them, else dropped', () => {
    expect(restorableBounds(saved, screen)).toEqual(saved)
    expect(restorableBounds({ ...saved, x: 2500 }, screen)).toBeUndefined() // the second monitor is gone
    expect(restorableBounds({ ...saved, x: 2500 }, [...screen, { x: 1920, y: 0, width: 2560, height: 1400 }])).toEqual({ ...saved, x: 2500 })
    expect(restorableBounds({ ...saved, y: -800 }, screen)).toBeUndefined() // title bar above the screen
    expect(restorableBounds(undefined, screen)).toBeUndefined()
  })
})

describe('opening a model from the OS', () => {
  it('takes the last .onnx argument, not flags or the app itself', () => {
    expect(modelPathFromArgv(['/opt/Stepwise/stepwise', '--no-sandbox', '/home/me/unet.onnx'])).toBe('/home/me/unet.onnx')
    expect(modelPathFromArgv(['C:\\Stepwise\\Stepwise.exe', 'C:\\models\\A.ONNX'])).toBe('C:\\models\\A.ONNX')
    expect(modelPathFromArgv(['/opt/Stepwise/stepwise', '.'])).toBeUndefined()
    expect(modelPathFromArgv(['electron', '--inspect=5858'])).toBeUndefined()
  })
})

describe('the native menu', () => {
  const items = (spec: MenuItemSpec[]): MenuItemSpec[] => spec.flatMap((i) => [i, ...items(i.submenu ?? [])])
  it('offers every renderer command once, with distinct shortcuts, on each platform', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const all = items(menuTemplate(platform, 'Stepwise'))
      expect(all.filter((i) => i.command).map((i) => i.command).sort()).toEqual([...COMMANDS].sort())
      const accelerators = all.map((i) => i.accelerator).filter(Boolean)
      expect(new Set(accelerators).size).toBe(accelerators.length)
      expect(all.find((i) => i.command === 'open-model')).toMatchObject({ label: 'Open Model...', accelerator: 'CmdOrCtrl+O' })
      expect(all.find((i) => i.command === 'generate')?.accelerator).toBe('CmdOrCtrl+Enter')
      expect(all.some((i) => i.role === 'quit')).toBe(true)
    }
    expect(menuTemplate('darwin', 'Stepwise')[0].label).toBe('Stepwise')
    expect(menuTemplate('linux', 'Stepwise')[0].label).toBe('File')
  })
})
