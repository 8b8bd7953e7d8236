/**
 * app://stepwise and its Content-Security-Policy (18. custom protocol, 7. CSP), run against a mocked
 * electron: a temp folder stands in for out/renderer.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { Session } from 'electron'
import { beforeAll, describe, expect, it, vi } from 'vitest'

import { addCspToDevServer, registerAppScheme, serveRenderer } from '../../../src-main/app/protocol'
import { CONTENT_SECURITY_POLICY, RENDERER_CSP } from '../../../src-main/static/csp'
import { protocol, SessionMock } from './mock-electron'

vi.mock('electron', () => import('./mock-electron'))

const repo = join(import.meta.dirname, '..', '..', '..')

describe('the app:// scheme', () => {
  it('is registered before ready as standard and secure, so the page is a secure context with an origin', () => {
    registerAppScheme()
    expect(protocol.registerSchemesAsPrivileged).toHaveBeenCalledExactlyOnceWith([
      { scheme: 'app', privileges: expect.objectContaining({ standard: true, secure: true, supportFetchAPI: true }) },
    ])
  })
})

describe('serving the renderer on app://stepwise', () => {
  const session = new SessionMock()
  let get: (url: string, method?: string) => Promise<Response>

  beforeAll(() => {
    const temp = mkdtempSync(join(tmpdir(), 'stepwise-protocol-'))
    const root = join(temp, 'renderer')
    mkdirSync(join(root, 'assets'), { recursive: true })
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Stepwise</title>')
    writeFileSync(join(root, 'assets', 'index-abc.js'), 'export {}')
    writeFileSync(join(temp, 'secret.txt'), 'not for the page')
    serveRenderer(session as unknown as Session, root)
    get = (url, method = 'GET') => session.handlers.get('app')!(new Request(url, { method }))
  })

  it('answers a file of the renderer with its type and the Content-Security-Policy header', async () => {
    const page = await get('app://stepwise/')
    expect(page.status).toBe(200)
    expect(await page.text()).toBe('<!doctype html><title>Stepwise</title>')
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(page.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY)
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    const script = await get('app://stepwise/assets/index-abc.js')
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(await script.text()).toBe('export {}')
  })

  it('answers 404 for escapes, folders, missing files, other hosts and other methods', async () => {
    for (const url of [
      'app://stepwise/assets/..%2F..%2Fsecret.txt',
      'app://stepwise/..%2Fsecret.txt',
      'app://stepwise/assets/',
      'app://stepwise/assets/missing.js',
      'app://elsewhere/index.html',
    ])
      expect((await get(url)).status, url).toBe(404)
    expect((await get('app://stepwise/index.html', 'POST')).status).toBe(404)
  })
})

describe('the Content-Security-Policy', () => {
  it("is the renderer's own meta tag, tightened", () => {
    const html = readFileSync(join(repo, 'src-renderer', 'index.html'), 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    expect(meta).toBe(RENDERER_CSP)
    expect(CONTENT_SECURITY_POLICY.startsWith(RENDERER_CSP)).toBe(true)
    expect(CONTENT_SECURITY_POLICY).toMatch(/object-src 'none'/)
    expect(CONTENT_SECURITY_POLICY).toMatch(/frame-ancestors 'none'/)
    expect(CONTENT_SECURITY_POLICY).not.toMatch(/unsafe-eval|file:/)
  })

  it("is added as a header to the dev server's responses, and to nothing else", () => {
    const session = new SessionMock()
    addCspToDevServer(session as unknown as Session, 'http://localhost:5173/')
    const [{ filter, listener }] = session.headerListeners
    expect(filter.urls).toEqual(['http://localhost:5173/*'])
    const answer = vi.fn()
    listener({ responseHeaders: { 'Content-Type': ['text/html'] } }, answer)
    expect(answer).toHaveBeenCalledExactlyOnceWith({
      responseHeaders: { 'Content-Type': ['text/html'], 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    })
  })
})
