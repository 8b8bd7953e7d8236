/**
 * The page's side of the browser host (src-renderer/src/lib/browser-api.ts), run in Node against the
 * real host: `ws` stands in for the browser's WebSocket, Node's fetch and File for the page's.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { WebSocket } from 'ws'

import { defaultModelPath } from '../../../src-main/engine/model/default-model'
import { type Host, startHost } from '../../../src-main/host/server'
import type { Events } from '../../../src-preload/contract'
import { type BrowserHostApi, connectBrowserHost } from '../../../src-renderer/src/lib/browser-api'

let host: Host
let api: BrowserHostApi

const locationOf = (url: string) => new URL(url) as unknown as Location

/** Every socket the page opened, to drop one as a network would. */
const sockets: WebSocket[] = []
/** Every page made here, disconnected at the end. */
const pages: BrowserHostApi[] = []

beforeAll(async () => {
  vi.stubGlobal(
    'WebSocket',
    class extends WebSocket {
      constructor(url: string) {
        super(url)
        sockets.push(this)
      }
    },
  )
  const temp = mkdtempSync(join(tmpdir(), 'stepwise-browser-api-'))
  mkdirSync(join(temp, 'renderer'))
  writeFileSync(join(temp, 'renderer', 'index.html'), '<!doctype html><title>Stepwise</title>')
  host = await startHost({
    rendererDir: join(temp, 'renderer'),
    settingsDir: join(temp, 'settings'),
    outDir: join(temp, 'out'),
    log: () => {},
  })
  api = connectBrowserHost(locationOf(host.url))
  pages.push(api)
})

afterAll(async () => {
  // A page reconnects when its host goes: without disconnecting, its next attempt would outlive the stub.
  for (const page of pages) page.disconnect()
  await host?.close()
  vi.unstubAllGlobals()
})

describe('the browser host from the page', () => {
  it('queues a request made before the socket opens, and answers it', async () => {
    expect(api.host).toBe('browser')
    const r = await api.invoke('settings.get', {})
    expect(r).toMatchObject({ ok: true, value: { provider: 'auto' } })
  })

  it('a page opened with a wrong token gets an error result, not a hang or a rejection', async () => {
    const stranger = connectBrowserHost(locationOf(host.url.replace(/token=.*/, 'token=wrong')))
    pages.push(stranger)
    const r = await stranger.invoke('settings.get', {})
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'runtime-error', message: expect.stringMatching(/cannot reach the Stepwise host/) },
    })
    stranger.disconnect()
  })

  it('stages a dropped file and a dropped folder in one upload batch: their paths for model.load', async () => {
    const onnx = new File([readFileSync(defaultModelPath())], 'digits.onnx')
    const config = new File(['{"num_train_timesteps": 1000}'], 'scheduler_config.json')
    const folderModel = new File(['not really onnx'], 'model.onnx')
    const staged = await api.stage(
      [onnx, new File([], 'my model')],
      [
        { file: onnx, relativePath: '' },
        { file: config, relativePath: 'my model/scheduler/scheduler_config.json' },
        { file: folderModel, relativePath: 'my model/unet/model.onnx' },
      ],
    )
    if (!staged.ok) throw new Error(staged.error.message)
    // Names within the host's upload folder: "<batch>/digits.onnx", "<batch>/my model".
    const [file, folder] = staged.value
    const batch = file.split('/')[0]
    expect(staged.value).toEqual([`${batch}/digits.onnx`, `${batch}/my model`])
    expect(readFileSync(join(host.uploadDir, folder, 'unet', 'model.onnx'), 'utf8')).toBe('not really onnx')
    const card = await api.invoke('model.load', { path: file, providers: ['cpu'] })
    expect(card).toMatchObject({ ok: true, value: { channels: 1, provider: 'cpu' } })
  })

  it('an empty dropped folder is refused by name', async () => {
    const r = await api.stage([new File([], 'empty')], [])
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^empty: /) } })
  })

  it('delivers events to listeners until they unsubscribe', async () => {
    const frames: number[] = []
    const off = api.on('frame', (f) => frames.push(f.pixels?.sample.byteLength ?? 0))
    const done = new Promise<Events['done']>((resolve) => {
      const stop = api.on('done', (d) => (stop(), resolve(d)))
    })
    const started = await api.invoke('sample.start', { sampler: { sampler: 'ddim', steps: 3 }, seed: 1, batch: 1 })
    expect(started.ok).toBe(true)
    expect((await done).samples.byteLength).toBe(28 * 28 * 4)
    off()
    // Every step's record; the images of the first and the last always (and between, once a display frame).
    expect(frames).toHaveLength(3)
    expect([frames[0], frames[2]]).toEqual([3136, 3136])
  })

  it('a dropped socket fails the run in the page; the host keeps it for the page that reconnects', async () => {
    const events: { event: string; runId: string }[] = []
    const offs = (['frame', 'done', 'failed'] as const).map((event) =>
      api.on(event, (p: { runId: string }) => events.push({ event, runId: p.runId })),
    )
    // 200 DDPM steps: a few seconds, so the drop comes while it samples.
    const started = await api.invoke('sample.start', { sampler: { sampler: 'ddpm', steps: 200 }, seed: 2, batch: 1 })
    if (!started.ok) throw new Error(started.error.message)
    const { runId } = started.value
    await expect.poll(() => events.some((e) => e.event === 'frame' && e.runId === runId)).toBe(true)
    sockets
      .filter((w) => w.url.includes(`token=${host.token}`))
      .at(-1)!
      .terminate()
    await expect.poll(() => events.find((e) => e.event === 'failed')).toEqual({ event: 'failed', runId })
    const shown = events.length
    // The page reconnects by itself (as the same page) and the run finishes in the host, whole.
    await expect
      .poll(
        async () => {
          const list = await api.invoke('runs.list', {})
          return list.ok && list.value.runs.find((r) => r.runId === runId)
        },
        { timeout: 20_000, interval: 250 },
      )
      .toMatchObject({ status: 'done', steps: 200 })
    // Its later events, after a gap, were not passed on to the page's listeners.
    expect(events.slice(shown)).toEqual([])
    offs.forEach((off) => off())
  })

  it('a disconnected page stops trying: no socket opens after it, and its requests fail at once', async () => {
    const page = connectBrowserHost(locationOf(host.url))
    pages.push(page)
    // Its socket URL names its client id: the sockets of this page, not of others that reconnect meanwhile.
    const url = sockets.at(-1)!.url
    const opened = () => sockets.filter((w) => w.url === url).length
    expect(await page.invoke('settings.get', {})).toMatchObject({ ok: true })
    page.disconnect()
    // Past the first two reconnection delays (250 + 500 ms): a page that still tried would have opened one.
    await new Promise((resolve) => setTimeout(resolve, 900))
    expect(opened()).toBe(1)
    expect(await page.invoke('settings.get', {})).toMatchObject({ ok: false, error: { code: 'runtime-error' } })
  })

  it('when the host stops, a run in flight ends with a failed event and later requests get an error', async () => {
    const failed = new Promise<Events['failed']>((resolve) => api.on('failed', resolve))
    const started = await api.invoke('sample.start', { sampler: { sampler: 'ddpm', steps: 1000 }, seed: 1, batch: 8 })
    if (!started.ok) throw new Error(started.error.message)
    await host.close()
    const f = await failed
    expect(f.runId).toBe(started.value.runId)
    // The host cancels it on the way out ('cancelled'); a socket lost otherwise fails it here ('runtime-error').
    expect(['cancelled', 'runtime-error']).toContain(f.error.code)
    const r = await api.invoke('settings.get', {})
    expect(r).toMatchObject({ ok: false, error: { code: 'runtime-error' } })
  })
})
