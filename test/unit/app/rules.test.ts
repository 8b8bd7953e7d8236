/**
 * The Electron shell's rules, tested without Electron: who may talk to the engine, what app:// serves and
 * under which policy, where the window goes, the menu, the taskbar progress, what the preload may import.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { type MenuItemSpec, menuOptions, menuTemplate } from '../../../src-main/app/menu'
import {
  APP_URL,
  CONTENT_SECURITY_POLICY,
  isTrustedSender,
  mimeType,
  modelPathFromArgv,
  RENDERER_CSP,
  rendererFile,
  restorableBounds,
  taskbarProgress,
} from '../../../src-main/app/rules'
import { COMMANDS } from '../../../src-preload/contract'

const root = join(import.meta.dirname, '..', '..', '..')
const built = {}
const dev = { devUrl: 'http://localhost:5173/' }

describe('IPC senders and navigation', () => {
  it('accept only our own page', () => {
    expect(APP_URL).toBe('app://stepwise/index.html')
    expect(isTrustedSender('app://stepwise/index.html', built)).toBe(true)
    expect(isTrustedSender('app://stepwise/index.html#timeline', built)).toBe(true)
    expect(isTrustedSender('app://other/index.html', built)).toBe(false)
    expect(isTrustedSender('file:///opt/Stepwise/resources/app.asar/out/renderer/index.html', built)).toBe(false)
    expect(isTrustedSender('file:///home/me/Downloads/evil.html', built)).toBe(false)
    expect(isTrustedSender('https://example.com/', built)).toBe(false)
    expect(isTrustedSender(undefined, built)).toBe(false)
    expect(isTrustedSender('not a url', built)).toBe(false)
    expect(isTrustedSender('http://localhost:5173/src/App.svelte', dev)).toBe(true)
    expect(isTrustedSender('http://localhost:5174/', dev)).toBe(false)
    expect(isTrustedSender(APP_URL, dev)).toBe(false)
  })
})

describe('the app:// scheme', () => {
  const dir = '/opt/Stepwise/resources/app.asar/out/renderer'
  it('serves the renderer folder and nothing outside it', () => {
    expect(rendererFile(dir, 'app://stepwise/index.html')).toBe(`${dir}/index.html`)
    expect(rendererFile(dir, 'app://stepwise/')).toBe(`${dir}/index.html`)
    expect(rendererFile(dir, 'app://stepwise/assets/index-abc.js?v=1#x')).toBe(`${dir}/assets/index-abc.js`)
    expect(rendererFile(dir, 'app://stepwise/assets/a%20b.css')).toBe(`${dir}/assets/a b.css`)
    // The URL parser already drops .. and %2e%2e segments at the root; an encoded slash is caught here.
    expect(rendererFile(dir, 'app://stepwise/../../../../etc/passwd')).toBe(`${dir}/etc/passwd`)
    expect(rendererFile(dir, 'app://stepwise/%2e%2e/%2e%2e/main/index.js')).toBe(`${dir}/main/index.js`)
    expect(rendererFile(dir, 'app://stepwise/assets/..%2F..%2F..%2Fpackage.json')).toBeUndefined()
    expect(rendererFile(dir, 'app://stepwise/%E0%A4%A')).toBeUndefined()
    expect(rendererFile(dir, 'app://stepwise/a%00.js')).toBeUndefined()
    expect(rendererFile(dir, 'app://elsewhere/index.html')).toBeUndefined()
    expect(rendererFile(dir, 'file:///etc/passwd')).toBeUndefined()
  })
  it('types module scripts as JavaScript', () => {
    expect(mimeType('/x/index-abc.js')).toMatch(/^text\/javascript/)
    expect(mimeType('/x/index.html')).toMatch(/^text\/html/)
    expect(mimeType('/x/blob.bin')).toBe('application/octet-stream')
  })
  it("sends the renderer's own Content-Security-Policy, tightened", () => {
    const html = readFileSync(join(root, 'src-renderer', 'index.html'), 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    expect(meta).toBe(RENDERER_CSP)
    expect(CONTENT_SECURITY_POLICY.startsWith(RENDERER_CSP)).toBe(true)
    expect(CONTENT_SECURITY_POLICY).toMatch(/object-src 'none'/)
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|file:/)
  })
})

describe('window bounds', () => {
  const screen = [{ x: 0, y: 0, width: 1920, height: 1040 }]
  const saved = { x: 100, y: 80, width: 1280, height: 820, maximized: false }
  it('are restored where a display still shows them, else dropped', () => {
    expect(restorableBounds(saved, screen)).toEqual(saved)
    expect(restorableBounds({ ...saved, x: 2500 }, screen)).toBeUndefined() // the second monitor is gone
    expect(restorableBounds({ ...saved, x: 2500 }, [...screen, { x: 1920, y: 0, width: 2560, height: 1400 }])).toEqual({
      ...saved,
      x: 2500,
    })
    expect(restorableBounds({ ...saved, y: -800 }, screen)).toBeUndefined() // title bar above the screen
    expect(restorableBounds(undefined, screen)).toBeUndefined()
  })
})

describe('opening a model from the OS', () => {
  it('takes the last .onnx argument, not flags or the app itself', () => {
    expect(modelPathFromArgv(['/opt/Stepwise/stepwise', '--no-sandbox', '/home/me/unet.onnx'])).toBe(
      '/home/me/unet.onnx',
    )
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
      expect(
        all
          .filter((i) => i.command)
          .map((i) => i.command)
          .sort(),
      ).toEqual([...COMMANDS].sort())
      const accelerators = all.map((i) => i.accelerator).filter(Boolean)
      expect(new Set(accelerators).size).toBe(accelerators.length)
      expect(accelerators).not.toContain('Escape') // text fields and dialogs need it
      expect(all.find((i) => i.command === 'open-model')).toMatchObject({
        label: 'Open Model...',
        accelerator: 'CmdOrCtrl+O',
      })
      expect(all.find((i) => i.command === 'export-png')?.accelerator).toBe('CmdOrCtrl+S')
      expect(all.find((i) => i.command === 'generate')?.accelerator).toBe('CmdOrCtrl+Enter')
      expect(all.filter((i) => i.role === 'quit')).toHaveLength(1)
    }
    expect(menuTemplate('darwin', 'Stepwise')[0].label).toBe('Stepwise')
    expect(menuTemplate('linux', 'Stepwise')[0].label).toBe('File')
  })
  it("hands a command item's click to the renderer as its command", () => {
    const sent: string[] = []
    const options = menuOptions(menuTemplate('linux', 'Stepwise'), (command) => sent.push(command))
    const run = options.find((o) => o.label === 'Run')
    const generate = (run?.submenu as { label?: string; click?: () => void }[]).find((o) => o.label === 'Generate')
    generate?.click?.()
    expect(sent).toEqual(['generate'])
    const edit = options.find((o) => o.label === 'Edit')
    expect((edit?.submenu as { role?: string; click?: unknown }[]).every((o) => !o.click)).toBe(true)
  })
})

describe('taskbar progress', () => {
  it('is the mean of the runs in flight, and no bar without one', () => {
    expect(taskbarProgress(new Map())).toBe(-1)
    expect(taskbarProgress(new Map([['a', 0.5]]))).toBe(0.5)
    expect(
      taskbarProgress(
        new Map([
          ['a', 0.2],
          ['b', 0.6],
        ]),
      ),
    ).toBeCloseTo(0.4)
  })
})
