import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { defaultModelPath } from '../../../src-main/engine/model/default-model'
import type { Events, ModelCard, SampleStarted, Settings } from '../../../src-preload/contract'
import { connect as connectTo, http as httpTo, startTestHost, type TestHost, value } from './test-host'

let host: TestHost
let settingsDir: string
let outDir: string
let logged: string[]

beforeAll(async () => {
  host = await startTestHost()
  ;({ settingsDir, outDir, logged } = host)
})

afterAll(async () => {
  await host?.close()
})

const http = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string) =>
  httpTo(host.port, method, path, headers, body)

const connect = (headers: Record<string, string> = {}, token = host.token) => connectTo(host, { headers, token })

const upgradeStatus = (headers: Record<string, string>, token = host.token) =>
  connect(headers, token).then(
    (c) => (c.ws.close(), 101),
    (e: Error) => Number(/answered (\d+)/.exec(e.message)?.[1] ?? -1),
  )

describe('the browser host lets in only the printed URL', () => {
  it('the printed URL: 403 without or with a wrong token, else on to the page’s own path with a cookie', async () => {
    expect((await http('GET', '/')).status).toBe(403)
    expect((await http('GET', '/?token=wrong')).status).toBe(403)
    expect((await http('GET', '/assets/app.js')).status).toBe(403)
    const opened = await http('GET', `/?token=${host.token}`)
    expect(opened.status).toBe(303)
    const prefix = String(opened.headers.location).replace(/\/$/, '')
    // 128 random bits, new at each start: the only path the cookie is sent to.
    expect(prefix).toMatch(/^\/[A-Za-z0-9_-]{22}$/)
    const [cookie, ...attributes] = String(opened.headers['set-cookie']).split('; ')
    expect(cookie).toBe(`stepwise-${host.port}=${host.token}`)
    expect(attributes.sort()).toEqual(['HttpOnly', `Path=${prefix}`, 'SameSite=Strict'])
    expect(opened.headers['referrer-policy']).toBe('no-referrer')

    const page = await http('GET', `${prefix}/`, { cookie })
    expect(page.status).toBe(200)
    expect(page.body.toString()).toContain('<title>Stepwise</title>')
    expect(page.headers['content-security-policy']).toContain("connect-src 'self' ws://127.0.0.1:*")
    expect(page.headers['set-cookie']).toBeUndefined()
    const asset = await http('GET', `${prefix}/assets/app.js`, { cookie })
    expect(asset.status).toBe(200)
    expect(asset.body.toString()).toBe('console.log("hi")')
    expect((await http('GET', `${prefix}`, { cookie })).headers.location).toBe(`${prefix}/`)
    // The cookie lets in nothing outside the prefix, and a wrong one nothing at all.
    expect((await http('GET', '/assets/app.js', { cookie })).status).toBe(403)
    expect((await http('GET', `${prefix}/assets/app.js`, { cookie: cookie.replace(/=.*/, '=nope') })).status).toBe(403)
    // The page's socket under the prefix, with the cookie alone.
    const socket = await connectTo({ port: host.port, token: '' }, { headers: { cookie }, path: `${prefix}/ws` })
    await socket.close()
    // The favicon a browser asks for at the root, where no cookie goes: nothing, and no error.
    expect((await http('GET', '/favicon.ico')).status).toBe(204)
  })

  it('refuses another host name (DNS rebinding) even with the token', async () => {
    expect((await http('GET', `/?token=${host.token}`, { host: `evil.example:${host.port}` })).status).toBe(403)
    expect((await http('GET', `/?token=${host.token}`, { host: `localhost:${host.port}` })).status).toBe(303)
  })

  it('the WebSocket: the token and a same-origin (or no) Origin', async () => {
    expect(await upgradeStatus({}, 'wrong')).toBe(403)
    expect(await upgradeStatus({ origin: 'http://evil.example' })).toBe(403)
    expect(await upgradeStatus({ origin: `http://127.0.0.1:${host.port + 1}` })).toBe(403)
    expect(await upgradeStatus({ host: `evil.example:${host.port}` })).toBe(403)
    expect(await upgradeStatus({ origin: `http://127.0.0.1:${host.port}` })).toBe(101)
    expect(await upgradeStatus({})).toBe(101)
  })

  it('uploads: the token, and no way out of the upload folder', async () => {
    expect((await http('PUT', '/upload/b1/model.onnx', {}, 'x')).status).toBe(403)
    const t = { 'x-stepwise-token': host.token }
    for (const bad of [
      '/upload/b1/../escape.onnx',
      '/upload/b1/%2e%2e/escape.onnx',
      '/upload/b1/a%2F..%2F..%2Fescape',
      '/upload/../x',
      '/upload/b1//etc/passwd',
      '/upload/b1/c%3A%5Cx',
      '/upload/b1/a%00b',
    ]) {
      const r = await http('PUT', bad, t, 'x')
      expect(r.status, bad).toBe(400)
    }
    expect(readdirSync(host.uploadDir)).toEqual([])
    const ok = await http('PUT', '/upload/b1/my%20model/unet/model.onnx', t, 'bytes')
    expect(ok.status).toBe(201)
    // Names relative to the upload folder: its absolute temp path is none of the page's business.
    expect(JSON.parse(ok.body.toString())).toEqual({ path: 'b1/my model/unet/model.onnx', top: 'b1/my model' })
    expect(readFileSync(join(host.uploadDir, 'b1', 'my model', 'unet', 'model.onnx'), 'utf8')).toBe('bytes')
    expect((await http('PUT', '/upload/b1/my%20model/unet/model.onnx', t, 'again')).status).toBe(409)
  })
})

describe('the contract over the WebSocket', () => {
  let client: Awaited<ReturnType<typeof connect>>
  let run: SampleStarted

  beforeAll(async () => {
    client = await connect()
  })
  afterAll(() => client?.ws.close())

  it('loads the default model, and the host prints the provider in use', async () => {
    const card = value(await client.request<ModelCard>('model.load', { providers: ['cpu'] }))
    expect(card).toMatchObject({ channels: 1, height: 28, width: 28, provider: 'cpu' })
    expect(logged.join('\n')).toMatch(/runs on cpu/)
  })

  it('runs a batch of 2 with DDIM in 5 steps: 5 frames of real float32 buffers, then done', async () => {
    run = value(
      await client.request<SampleStarted>('sample.start', {
        sampler: { sampler: 'ddim', steps: 5 },
        seed: 3,
        batch: 2,
      }),
    )
    const done = await client.until('done', (p) => p.runId === run.runId)
    const frames = client.events
      .filter((e) => e.event === 'frame' && (e.payload as Events['frame']).runId === run.runId)
      .map((e) => e.payload as Events['frame'])
    const bytes = 2 * 1 * 28 * 28 * 4
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4])
    expect(frames[0].pixels && frames[4].pixels).toBeTruthy()
    for (const f of frames) {
      for (const b of f.pixels ? [f.pixels.sample, f.pixels.predictedX0] : []) {
        expect(b).toBeInstanceOf(ArrayBuffer)
        expect(b.byteLength).toBe(bytes)
      }
      expect(f.stats).toHaveLength(2)
    }
    expect(done.samples.byteLength).toBe(bytes)
    const samples = new Float32Array(done.samples)
    expect(samples.every(Number.isFinite)).toBe(true)
    expect(Math.max(...samples) - Math.min(...samples)).toBeGreaterThan(0.5)
  })

  it('export.save writes the PNG into the out folder, never over an earlier one, and offers it for download', async () => {
    const first = value(
      await client.request<{ paths: string[] }>('export.save', { runId: run.runId, kind: 'png', index: 0 }),
    ).paths
    const second = value(
      await client.request<{ paths: string[] }>('export.save', { runId: run.runId, kind: 'png', index: 0 }),
    ).paths
    expect(first).toEqual([join(outDir, 'seed-3.png')])
    expect(second).toEqual([join(outDir, 'seed-3 (2).png')])
    const png = readFileSync(first[0])
    expect([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG')
    expect(readFileSync(second[0])).toEqual(png)
    const download = await http('GET', `/exports/${encodeURIComponent('seed-3 (2).png')}?token=${host.token}`)
    expect(download.status).toBe(200)
    expect(download.body).toEqual(png)
    expect((await http('GET', '/exports/seed-3.png')).status).toBe(403)
    // A name that is not valid percent-encoding: a plain refusal, not a server error.
    const malformed = await http('GET', `/exports/%E0%A4%A?token=${host.token}`)
    expect(malformed.status).toBe(400)
    expect(malformed.body.toString()).toMatch(/not valid percent-encoding/)
  })

  it('loads an uploaded model without adding it to the recent models', async () => {
    const body = readFileSync(defaultModelPath())
    const up = await http('PUT', '/upload/b2/digits.onnx', { 'x-stepwise-token': host.token }, body)
    expect(up.status).toBe(201)
    const { top } = JSON.parse(up.body.toString()) as { top: string }
    expect(top).toBe('b2/digits.onnx')
    const card = value(await client.request<ModelCard>('model.load', { path: top, providers: ['cpu'] }))
    expect(card.path).toBe(top)
    expect(card.onnxPath).toBe(top)
    const settings = value(await client.request<Settings>('settings.get', {}))
    expect(settings.recentModels).toEqual([])
    // An error about an upload names it the same way.
    await http('PUT', '/upload/b3/broken.onnx', { 'x-stepwise-token': host.token }, 'not a model')
    const broken = await client.request<ModelCard>('model.load', { path: 'b3/broken.onnx', providers: ['cpu'] })
    expect(broken).toMatchObject({ ok: false, error: { message: expect.stringContaining('b3/broken.onnx') } })
    expect(JSON.stringify(broken)).not.toContain(host.uploadDir)
    // A name that leaves the upload folder is no upload: the engine gets it as it is (and finds nothing there).
    const outside = await client.request<ModelCard>('model.load', { path: '../b3/broken.onnx', providers: ['cpu'] })
    expect(outside).toMatchObject({ ok: false, error: { code: 'file-not-found' } })
  })

  it('settings.set persists in the settings folder', async () => {
    const set = value(
      await client.request<Settings>('settings.set', { provider: 'cpu', parameters: { seed: 99, batch: 3 } }),
    )
    expect(set.provider).toBe('cpu')
    const file = JSON.parse(readFileSync(join(settingsDir, 'browser-host.json'), 'utf8')) as Settings
    expect(file.provider).toBe('cpu')
    expect(file.parameters).toMatchObject({ seed: 99, batch: 3 })
  })

  it('model.open is not available in the browser, and a bad request is refused as data', async () => {
    const open = await client.request('model.open', {})
    expect(open).toMatchObject({
      ok: false,
      error: { code: 'bad-argument', message: expect.stringMatching(/not available/) },
    })
    const bad = await client.request('sample.start', { seed: -1 })
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad-argument' } })
  })

  it('closing the host closes the sockets and removes the upload folder', async () => {
    const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)))
    const uploads = host.uploadDir
    await host.close()
    expect(await closed).toBe(1001)
    expect(existsSync(uploads)).toBe(false)
  })
})
