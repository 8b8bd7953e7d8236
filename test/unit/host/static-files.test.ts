/** The built renderer served as files by the browser host (serveFile, over src-main/static). */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, get as httpGet, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { HOST_CONTENT_SECURITY_POLICY, serveFile } from '../../../src-main/host/static-files'
import { CONTENT_SECURITY_POLICY } from '../../../src-main/static/csp'

describe("the browser host's static files", () => {
  let server: Server
  let port: number

  beforeAll(async () => {
    const temp = mkdtempSync(join(tmpdir(), 'stepwise-static-'))
    const root = join(temp, 'renderer')
    mkdirSync(join(root, 'assets'), { recursive: true })
    writeFileSync(join(root, 'index.html'), '<!doctype html>')
    writeFileSync(join(root, 'assets', 'app.js'), 'export {}')
    writeFileSync(join(temp, 'secret.txt'), 'not for the page')
    server = createServer((req, res) => {
      void serveFile(root, new URL(req.url ?? '/', 'http://127.0.0.1').pathname, res, { 'x-extra': 'kept' }).then(
        (served) => served || res.writeHead(404).end(),
      )
    })
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
    port = (server.address() as AddressInfo).port
  })
  afterAll(() => server?.close())

  const get = (path: string) =>
    new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((done, fail) =>
      httpGet({ host: '127.0.0.1', port, path }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => (body += c))
        res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body }))
      }).on('error', fail),
    )

  it("sends the page fresh, with Electron's policy plus the WebSocket back to the host", async () => {
    const page = await get('/')
    expect(page).toMatchObject({ status: 200, body: '<!doctype html>' })
    expect(page.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
    expect(page.headers['x-extra']).toBe('kept')
    expect(page.headers['content-security-policy']).toBe(HOST_CONTENT_SECURITY_POLICY)
    expect(HOST_CONTENT_SECURITY_POLICY).toBe(
      `${CONTENT_SECURITY_POLICY}; connect-src 'self' ws://127.0.0.1:* ws://localhost:*`,
    )
  })

  it('sends assets with their type and no policy, and nothing outside the folder', async () => {
    const script = await get('/assets/app.js')
    expect(script).toMatchObject({ status: 200, body: 'export {}' })
    expect(script.headers['content-type']).toMatch(/^text\/javascript/)
    expect(script.headers['content-security-policy']).toBeUndefined()
    for (const path of ['/assets/..%2F..%2Fsecret.txt', '/..%2Fsecret.txt', '/assets/', '/assets/missing.js'])
      expect((await get(path)).status, path).toBe(404)
  })
})
