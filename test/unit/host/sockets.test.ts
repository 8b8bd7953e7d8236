/**
 * The host's WebSocket side (src-main/host/sockets.ts): a bad frame closes only its own connection, and
 * a run's events go to the page that started it.
 */
import { existsSync, readdirSync } from 'node:fs'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { EngineClient } from '../../../src-main/service/engine-client'
import type { SampleStarted } from '../../../src-preload/contract'
import { MAX_MESSAGE_BYTES } from '../../../src-shared/limits'
import { connect, frame, http, rawSocket, startTestHost, type TestHost, value } from './test-host'

let host: TestHost
/** Short, so a test sees it pass; a reload of a test client takes milliseconds. */
const GRACE_MS = 1000

beforeAll(async () => {
  host = await startTestHost({ disconnectGraceMs: GRACE_MS })
  // Something in the upload folder, to see that no bad frame takes it along.
  const up = await http(host.port, 'PUT', '/upload/b1/kept.onnx', { 'x-stepwise-token': host.token }, 'bytes')
  expect(up.status).toBe(201)
})

afterAll(async () => {
  await host?.close()
})

/** The host still answers over HTTP and over a WebSocket, and its upload folder is as it was. */
async function stillServing() {
  expect((await http(host.port, 'GET', `/assets/app.js?token=${host.token}`)).status).toBe(200)
  const client = await connect(host)
  const r = value(await client.request<{ betas: number[] }>('schedule.get', scheduleRequest))
  expect(r.betas).toHaveLength(10)
  await client.close()
  expect(readdirSync(`${host.uploadDir}/b1`)).toEqual(['kept.onnx'])
}

const scheduleRequest = { schedule: 'linear', trainSteps: 10, betaStart: 0.0001, betaEnd: 0.02 }

describe('a bad frame closes only its own connection', () => {
  const closeCodes: [string, Buffer, number][] = [
    // Only the header: the host refuses the length before a byte of the body arrives.
    ['a message over the size limit', frame({ opcode: 2, claimedLength: MAX_MESSAGE_BYTES + 1 }), 1009],
    ['RSV2 set', frame({ opcode: 2, rsv: 0b010, payload: Buffer.from('x') }), 1002],
    ['an unmasked client frame', frame({ opcode: 2, masked: false, payload: Buffer.from('x') }), 1002],
    ['invalid UTF-8 in a text frame', frame({ opcode: 1, payload: Buffer.from([0xff, 0xfe, 0x41]) }), 1007],
    ['invalid UTF-8 in a close frame', frame({ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xc3, 0x28]) }), 1007],
    ['opcode 3 (reserved)', frame({ opcode: 3, payload: Buffer.from('x') }), 1002],
  ]

  for (const [what, bytes, code] of closeCodes)
    it(`${what}: closed with ${code}, the host serves on`, async () => {
      // A page already connected keeps its connection through another's bad frame.
      const bystander = await connect(host)
      expect(await rawSocket(host, bytes)).toEqual({ closeCode: code })
      value(await bystander.request('schedule.get', scheduleRequest))
      await bystander.close()
      await stillServing()
    })

  it('200 connections of random bytes (seeded): each ends, the host serves on', async () => {
    // A small xorshift generator: the same bytes every run, so a failure can be replayed.
    let state = 0x9e3779b9
    const next = () => {
      state ^= state << 13
      state ^= state >>> 17
      state ^= state << 5
      return (state >>> 0) / 2 ** 32
    }
    const connections = 200
    let closedWithCode = 0
    for (let batch = 0; batch < connections / 10; batch++) {
      const results = await Promise.all(
        Array.from({ length: 10 }, () => {
          // A random first byte (any FIN, RSV and opcode), a random length byte, then random bytes.
          const bytes = Buffer.from(Array.from({ length: 2 + Math.floor(next() * 62) }, () => Math.floor(next() * 256)))
          return rawSocket(host, bytes)
        }),
      )
      closedWithCode += results.filter((r) => r.closeCode !== undefined).length
    }
    // Most random headers are refused outright (a close frame with a code); the rest end with our side.
    expect(closedWithCode).toBeGreaterThan(connections / 2)
    await stillServing()
    expect(existsSync(host.uploadDir)).toBe(true)
  })
})

describe('an event that cannot be encoded', () => {
  it('fails its run for its page and stops it; the host serves on', async () => {
    // An engine whose frame event holds something the wire format cannot carry (as a frame too large to
    // allocate would throw too).
    const listeners = new Map<string, ((payload: unknown) => void)[]>()
    const cancelled: string[] = []
    const engine = {
      on: (event: string, listener: (payload: unknown) => void) => {
        listeners.set(event, [...(listeners.get(event) ?? []), listener])
        return () => {}
      },
      request: async (channel: string, payload: { runId?: string }) => {
        const emit = (event: string, p: object) => setImmediate(() => listeners.get(event)?.forEach((l) => l(p)))
        if (channel === 'sample.cancel') {
          cancelled.push(payload.runId!)
          emit('failed', { runId: payload.runId, error: { code: 'cancelled', message: 'cancelled' } })
        }
        if (channel !== 'sample.start') return { ok: true, value: { cancelled: true } }
        emit('frame', { runId: 'r1', sample: new Map() })
        return { ok: true, value: { runId: 'r1', timesteps: [], shape: {}, startStep: 0, parameters: {} } }
      },
      close: async () => {},
    } as unknown as EngineClient
    const fake = await startTestHost({ engine })
    try {
      const client = await connect(fake)
      value(await client.request('sample.start', { seed: 1, batch: 1 }))
      const failed = await client.until('failed', (p) => p.runId === 'r1')
      expect(failed.error.message).toMatch(
        /^run r1: its frame event cannot be sent to this page \(wire: cannot send a Map\)/,
      )
      expect(cancelled).toEqual(['r1'])
      expect(fake.logged.join('\n')).toMatch(/a 'frame' event cannot be sent/)
      // The engine's own 'failed' of the stopped run (emitted before this round trip ends) is not sent again.
      value(await client.request('settings.get', {}))
      expect(client.eventsOf('r1').map((e) => e.event)).toEqual(['failed'])
      expect((await http(fake.port, 'GET', `/assets/app.js?token=${fake.token}`)).status).toBe(200)
      await client.close()
    } finally {
      await fake.close()
    }
  })
})

describe("a run's events go to the page that started it", () => {
  let bystander: Awaited<ReturnType<typeof connect>>
  const page = (id: string) => connect(host, { query: `client=page-${id}` })
  const start = async (client: Awaited<ReturnType<typeof connect>>, request: object) =>
    value(await client.request<SampleStarted>('sample.start', { seed: 5, ...request })).runId

  beforeAll(async () => {
    bystander = await page('bystander')
    value(await bystander.request('model.load', { providers: ['cpu'] }))
  })
  afterAll(() => bystander?.close())

  it('only that page gets its frames and done; runs.list is the same for every page', async () => {
    const a = await page('aaaaaaaa')
    const runId = await start(a, { sampler: { sampler: 'ddim', steps: 4 }, batch: 1 })
    await a.until('done', (p) => p.runId === runId)
    expect(a.eventsOf(runId).filter((e) => e.event === 'frame')).toHaveLength(4)
    expect(bystander.eventsOf(runId)).toEqual([])
    const listed = value(await bystander.request<{ runs: { runId: string }[] }>('runs.list', {}))
    expect(listed.runs.map((r) => r.runId)).toContain(runId)
    await a.close()
  })

  it('a run’s events come gathered: every frame in order, progress only growing, done last', async () => {
    const a = await page('gathered')
    const runId = await start(a, { sampler: { sampler: 'ddpm', steps: 100 }, batch: 1 })
    await a.until('done', (p) => p.runId === runId)
    const events = a.eventsOf(runId)
    const frames = events.filter((e) => e.event === 'frame').map((e) => (e.payload as { index: number }).index)
    expect(frames).toEqual(Array.from({ length: 100 }, (_, i) => i))
    const steps = events.filter((e) => e.event === 'progress').map((e) => (e.payload as { step: number }).step)
    expect(steps).toEqual([...steps].sort((x, y) => x - y))
    expect(steps.at(-1)).toBe(100)
    expect(events.at(-1)?.event).toBe('done')
    // 200 events (a frame and a progress a step) in fewer messages, none with two progresses of the run.
    const messages = a.messages.filter((m) => m.some((e) => (e.payload as { runId?: string }).runId === runId))
    expect(messages.length).toBeLessThan(200)
    for (const m of messages) expect(m.filter((e) => e.event === 'progress').length).toBeLessThanOrEqual(1)
    await a.close()
  })

  it('a page that comes back within the grace period (a reload) keeps its run and gets its events', async () => {
    const before = await page('reloaded')
    // 200 DDPM steps: a few seconds, well past the grace period.
    const runId = await start(before, { sampler: { sampler: 'ddpm', steps: 200 }, batch: 1 })
    await before.until('frame', (p) => p.runId === runId)
    await before.close()
    const after = await page('reloaded')
    const done = await after.until('done', (p) => p.runId === runId)
    expect(new Float32Array(done.samples)).toHaveLength(28 * 28)
    expect(after.eventsOf(runId).some((e) => e.event === 'frame')).toBe(true)
    expect(after.eventsOf(runId).some((e) => e.event === 'failed')).toBe(false)
    expect(bystander.eventsOf(runId)).toEqual([])
    await after.close()
  })

  it('a fit whose page leaves before its answer is stopped at once (the answer could go nowhere)', async () => {
    const fitting = await page('fitting')
    // A probe of 8 images: its reference run alone (8000 model calls) takes seconds.
    void fitting.request('fit.timesteps', { sampler: { sampler: 'unipc', steps: 4 }, seed: 1, batch: 8 })
    await fitting.until('fit', (p) => p.phase === 'reference')
    // A fit of DDIM asks nothing of the model: refused as under way while a fit runs, else as DDIM.
    const probe = async () => {
      const r = await bystander.request('fit.timesteps', { sampler: { sampler: 'ddim', steps: 4 }, seed: 1, batch: 1 })
      return r.ok ? 'ok' : r.error.message
    }
    expect(await probe()).toMatch(/a fit is already under way/)
    await fitting.close()
    await expect.poll(probe, { timeout: 10_000, interval: 100 }).toMatch(/ddim takes no timesteps of its own/)
  })

  it('the runs of a page that does not come back are cancelled after the grace period', async () => {
    const gone = await page('gone-for-good')
    // 1000 DDPM steps of a batch of 8: over a minute on two cores, unless cancelled.
    const runId = await start(gone, { sampler: { sampler: 'ddpm', steps: 1000 }, batch: 8 })
    await gone.until('frame', (p) => p.runId === runId)
    await gone.close()
    // A run still sampling cannot be deleted: once this succeeds the run has stopped.
    await expect
      .poll(async () => (await bystander.request<{ deleted: boolean }>('runs.delete', { runId })).ok, {
        timeout: 20_000,
        interval: 250,
      })
      .toBe(true)
    expect(host.logged.join('\n')).toMatch(/a page left 1 s ago and did not come back; cancelling its 1 run/)
    expect(bystander.eventsOf(runId)).toEqual([])
  })
})
