/**
 * The real Electron shell, where its binary is installed: the window opens, the default model loads, one
 * generation runs. Everything else (renderer, engine, contract) is tested in Chromium through the browser
 * host; this is the part only Electron can run. Where the binary is absent (offline installs) it prints
 * one line and skips.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { _electron as electron } from 'playwright-core'
import { describe, expect, it } from 'vitest'

import { REPO_ROOT } from '../../src-main/host/renderer-build'

/** The Electron executable as the electron package records it, if it was downloaded. */
function electronBinary(): string | undefined {
  const dir = join(REPO_ROOT, 'node_modules', 'electron')
  const pathFile = join(dir, 'path.txt')
  if (!existsSync(pathFile)) return undefined
  const binary = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim())
  return existsSync(binary) ? binary : undefined
}

const binary = electronBinary()
if (!binary) {
  console.log(
    'skip: the Electron binary is not installed (offline install); electron.test.ts not run. Get it with: node node_modules/electron/install.js',
  )
}

describe.skipIf(!binary)('the Electron app', () => {
  it('opens its window, loads the default model and generates', async () => {
    const build = spawnSync('npx', ['electron-vite', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' })
    expect(build.status, build.stderr).toBe(0)
    const userData = mkdtempSync(join(tmpdir(), 'stepwise-electron-'))
    const app = await electron.launch({
      executablePath: binary,
      // The repository as the app, as `npm start` runs it: package.json's main is out/main/index.js.
      args: [REPO_ROOT, `--user-data-dir=${userData}`, ...(process.env.CI ? ['--no-sandbox'] : [])],
      cwd: REPO_ROOT,
    })
    try {
      const page = await app.firstWindow()
      expect(await page.title()).toBe('Stepwise')
      await page.getByTestId('model-card').waitFor({ timeout: 60_000 })
      expect(await page.getByTestId('model-provider').textContent()).toMatch(/cpu|cuda|dml|coreml|webgpu/)
      expect(await page.evaluate(() => Object.keys((window as { stepwise?: object }).stepwise ?? {}).sort())).toEqual([
        'host',
        'invoke',
        'on',
        'stage',
      ])
      // Served on our own scheme, no Node, no new windows, no file:// reads.
      expect(page.url()).toBe('app://stepwise/index.html')
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined')
      expect(await page.evaluate(() => window.open('https://example.com/') === null)).toBe(true)
      expect(
        await page.evaluate(() =>
          fetch('file:///etc/hostname').then(
            () => 'read',
            () => 'refused',
          ),
        ),
      ).toBe('refused')
      await page.getByTestId('steps').fill('10')
      await page.getByTestId('batch').fill('2')
      await page.getByTestId('generate').click()
      await page.waitForFunction(
        () => document.querySelector('[data-testid=progress]')?.getAttribute('data-status') === 'done',
        undefined,
        { timeout: 60_000 },
      )
      expect(await page.getByTestId('result').count()).toBe(2)
      await page.screenshot({ path: join(REPO_ROOT, 'test-results', 'e2e', 'electron-generated.png') })
    } finally {
      await app.close()
    }
  })
})
