/**
 * End-to-end tests run the real renderer against the real engine: the browser host on a free port with
 * temp folders, and Debian's Chromium (CI installs it with apt) driven by playwright-core.
 *
 * The renderer is built first when out/renderer is missing or older than its sources (a lock keeps
 * parallel test files from building it twice).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { type Browser, chromium, type Page } from 'playwright-core'

import { ensureRendererBuilt, REPO_ROOT } from '../../src-main/host/renderer-build'
import { type Host, type HostOptions, startHost } from '../../src-main/host/server'

export const CHROMIUM = process.env.STEPWISE_CHROMIUM ?? '/usr/bin/chromium'
export const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'e2e')

export interface Harness {
  page: Page
  browser: Browser
  host: Host
  outDir: string
  settingsDir: string
  /** Messages the page logged as errors, and uncaught exceptions: a test may assert there are none. */
  pageErrors: string[]
  /** What the host printed (e.g. the provider note once the page has loaded a model). */
  hostLog: string[]
  /** Content-Security-Policy violations in the page, as "directive blocked-uri". */
  cspViolations: string[]
  /** A PNG of the page at test-results/e2e/<name>.png; returns its path. */
  screenshot(name: string): Promise<string>
  close(): Promise<void>
}

export interface HarnessOptions {
  /** Open the printed URL right away (default true). */
  open?: boolean
  viewport?: { width: number; height: number }
  host?: Omit<HostOptions, 'outDir' | 'settingsDir'>
  /**
   * The host's settings folder (where it keeps the history), kept when the harness closes: a second
   * harness on the same folder is the browser host started again. A temporary folder by default.
   */
  settingsDir?: string
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install chromium) or set STEPWISE_CHROMIUM`)
  const rendererDir = await ensureRendererBuilt(() => {})
  const temp = mkdtempSync(join(tmpdir(), 'stepwise-e2e-'))
  const outDir = join(temp, 'exports')
  const settingsDir = options.settingsDir ?? join(temp, 'settings')
  const hostLog: string[] = []
  const host = await startHost({ rendererDir, log: (line) => hostLog.push(line), ...options.host, outDir, settingsDir })
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    })
    const page = await browser.newPage({ viewport: options.viewport ?? { width: 1280, height: 860 } })
    const pageErrors: string[] = []
    const cspViolations: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    page.on('console', (m) => {
      const violation = /^stepwise-csp-violation (.*)$/.exec(m.text())
      if (violation) cspViolations.push(violation[1])
      else if (m.type() === 'error') pageErrors.push(m.text())
    })
    await page.addInitScript(() =>
      document.addEventListener('securitypolicyviolation', (e) =>
        console.warn(`stepwise-csp-violation ${e.effectiveDirective} ${e.blockedURI}`),
      ),
    )
    if (options.open ?? true) {
      const response = await page.goto(host.url)
      if (response?.status() !== 200)
        throw new Error(`the page answered ${response?.status()}: ${await response?.text()}`)
    }
    mkdirSync(SCREENSHOTS, { recursive: true })
    const opened = browser
    return {
      page,
      browser,
      host,
      outDir,
      settingsDir,
      pageErrors,
      hostLog,
      cspViolations,
      async screenshot(name) {
        const path = join(SCREENSHOTS, `${name}.png`)
        await page.screenshot({ path })
        return path
      },
      async close() {
        await opened.close().catch(() => {})
        await host.close()
        rmSync(temp, { recursive: true, force: true })
      },
    }
  } catch (e) {
    await browser?.close().catch(() => {})
    await host.close()
    rmSync(temp, { recursive: true, force: true })
    throw e
  }
}
