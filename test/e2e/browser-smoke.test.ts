/**
 * The browser host seen from Chromium: the printed URL opens the renderer, the page's scripts pass the
 * Content-Security-Policy, and the contract answers over the WebSocket in the wire format.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type Harness, startHarness } from './harness'

let h: Harness

beforeAll(async () => {
  h = await startHarness()
}, 180_000)
afterAll(async () => {
  await h?.close()
})

/**
 * One request over a raw WebSocket from inside the page, spelled out by hand (a header-only message:
 * u32 length, then JSON) so the test checks the format itself, not just our encoder against our decoder.
 */
const rawRequest = (socketUrl: string, channel: string, payload: object) =>
  h.page.evaluate(
    ({ socketUrl, channel, payload }) =>
      new Promise<{ opened: boolean; answer?: unknown; closeCode?: number }>((resolve) => {
        const ws = new WebSocket(socketUrl)
        ws.binaryType = 'arraybuffer'
        let opened = false
        ws.onopen = () => {
          opened = true
          const header = new TextEncoder().encode(
            JSON.stringify({ message: { kind: 'request', id: 1, channel, payload }, buffers: [] }),
          )
          const bytes = new Uint8Array(4 + header.length)
          new DataView(bytes.buffer).setUint32(0, header.length, true)
          bytes.set(header, 4)
          ws.send(bytes)
        }
        ws.onmessage = (e) => {
          const data = new Uint8Array(e.data as ArrayBuffer)
          const length = new DataView(data.buffer).getUint32(0, true)
          const header = JSON.parse(new TextDecoder().decode(data.subarray(4, 4 + length)))
          if (header.message.kind !== 'response') return
          ws.close()
          resolve({ opened, answer: header.message })
        }
        ws.onclose = (e) => resolve({ opened, closeCode: e.code })
      }),
    { socketUrl, channel, payload },
  )

const socketUrl = (token: string) => `ws://127.0.0.1:${h.host.port}/ws?token=${token}`

describe('the browser host in Chromium', () => {
  it('serves the renderer at the printed URL and the renderer mounts', async () => {
    await h.page.waitForFunction(() => (document.getElementById('app')?.childElementCount ?? 0) > 0, undefined, {
      timeout: 30_000,
    })
    expect(await h.page.title()).toBe('Stepwise')
    await h.screenshot('smoke-loaded')
    // No Content-Security-Policy violation at all (zod runs jitless, so not even its eval probe).
    expect(h.cspViolations).toEqual([])
  })

  it('answers a request over a raw WebSocket in the wire format', async () => {
    const r = await rawRequest(socketUrl(h.host.token), 'schedule.get', {
      schedule: 'linear',
      trainSteps: 10,
      betaStart: 0.0001,
      betaEnd: 0.02,
    })
    expect(r.opened).toBe(true)
    const answer = r.answer as { id: number; result: { ok: boolean; value: { betas: number[] } } }
    expect(answer.id).toBe(1)
    expect(answer.result.ok).toBe(true)
    expect(answer.result.value.betas).toHaveLength(10)
    expect(answer.result.value.betas[0]).toBeCloseTo(0.0001)
  })

  it('refuses a WebSocket with a wrong token', async () => {
    const r = await rawRequest(socketUrl('wrong'), 'settings.get', {})
    expect(r.opened).toBe(false)
  })

  it("the renderer's own connection loads the default model (the host prints the provider)", async () => {
    await expect.poll(() => h.hostLog.join('\n'), { timeout: 60_000 }).toMatch(/runs on (cpu|cuda|dml|coreml|webgpu)/)
  })
})
