/**
 * The browser host's token stays with it (src-main/host/access.ts): after the page is open in Chromium,
 * another server on 127.0.0.1 gets none of the page's cookies, the address bar shows no token, and the
 * page's scripts and console never see it.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type Harness, startHarness } from './harness'

let h: Harness
let other: Server
let otherPort: number
/** What the other server was asked, with the headers. */
const seen: { url: string; headers: IncomingHttpHeaders }[] = []
/** Every console message of the page, and its URLs as the browser went. */
const consoleLines: string[] = []

beforeAll(async () => {
  other = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers })
    res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>another server</title>')
  })
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
  otherPort = (other.address() as AddressInfo).port
  h = await startHarness({ open: false })
  h.page.on('console', (m) => consoleLines.push(m.text()))
  const response = await h.page.goto(h.host.url)
  if (response?.status() !== 200) throw new Error(`the page answered ${response?.status()}`)
}, 180_000)

afterAll(async () => {
  await h?.close()
  other?.close()
})

describe('the token in Chromium', () => {
  it('the address bar shows the page’s path, not the token', async () => {
    // The page's own connection is up once the default model has loaded.
    await expect.poll(() => h.hostLog.join('\n'), { timeout: 60_000 }).toMatch(/runs on /)
    const url = new URL(h.page.url())
    expect(url.search).toBe('')
    expect(url.pathname).toMatch(/^\/[A-Za-z0-9_-]{22}\/$/)
    expect(h.page.url()).not.toContain(h.host.token)
  })

  it('another server on 127.0.0.1 gets no cookie of the page, whatever path it is asked for', async () => {
    for (const path of ['/', '/assets/index.js', '/ws', '/upload/b/x.onnx'])
      await h.page.goto(`http://127.0.0.1:${otherPort}${path}`)
    // (and the favicon Chromium asks for on its own)
    expect(seen.map((s) => s.url)).toEqual(expect.arrayContaining(['/', '/assets/index.js', '/ws', '/upload/b/x.onnx']))
    for (const s of seen) {
      expect(s.headers.cookie, s.url).toBeUndefined()
      expect(JSON.stringify(s.headers), s.url).not.toContain(h.host.token)
    }
    // Chromium still holds the cookie, for the page's path only, out of reach of scripts.
    const cookies = await h.page.context().cookies()
    expect(cookies).toEqual([
      expect.objectContaining({ value: h.host.token, path: expect.stringMatching(/^\/[A-Za-z0-9_-]{22}$/) }),
    ])
    expect(cookies[0].httpOnly).toBe(true)
  })

  it('the page reloads at its path with the cookie alone, and its scripts never see the token', async () => {
    await h.page.goto(h.host.url)
    await h.page.reload()
    await h.page.waitForFunction(() => (document.getElementById('app')?.childElementCount ?? 0) > 0)
    const seenByScripts = await h.page.evaluate(() =>
      [location.href, document.cookie, ...performance.getEntries().map((e) => e.name)].join(' '),
    )
    expect(seenByScripts).not.toContain(h.host.token)
    expect(consoleLines.join('\n')).not.toContain(h.host.token)
    expect(h.hostLog.join('\n')).not.toContain(h.host.token)
  })
})
