import { describe, expect, it } from 'vitest'

import { decodeMessage, encodeMessage, type WireMessage } from '../../../src-preload/wire'

const roundTrip = (m: WireMessage) => decodeMessage(encodeMessage(m))
const floats = (...v: number[]) => new Float32Array(v).buffer

describe('the WebSocket wire format', () => {
  it('round-trips events with their float32 buffers nested in the payloads, in order', () => {
    const message: WireMessage = {
      kind: 'events',
      events: [
        { event: 'progress', payload: { runId: 'r1', step: 3, total: 9 } },
        {
          event: 'frame',
          payload: {
            runId: 'r1',
            index: 3,
            sample: floats(1, -2.5, 3),
            predictedX0: floats(),
            nested: { deeper: [floats(7), { b: floats(8, 9) }] },
          },
        },
        { event: 'done', payload: { runId: 'r1', samples: floats(4, 5) } },
      ],
    }
    const back = roundTrip(message) as Extract<WireMessage, { kind: 'events' }>
    expect(back.events.map((e) => e.event)).toEqual(['progress', 'frame', 'done'])
    const p = back.events[1].payload as {
      sample: ArrayBuffer
      predictedX0: ArrayBuffer
      nested: { deeper: [ArrayBuffer, { b: ArrayBuffer }] }
    }
    expect(p.sample).toBeInstanceOf(ArrayBuffer)
    expect([...new Float32Array(p.sample)]).toEqual([1, -2.5, 3])
    expect(p.predictedX0.byteLength).toBe(0)
    expect([...new Float32Array(p.nested.deeper[0])]).toEqual([7])
    expect([...new Float32Array(p.nested.deeper[1].b)]).toEqual([8, 9])
    expect([...new Float32Array((back.events[2].payload as { samples: ArrayBuffer }).samples)]).toEqual([4, 5])
    expect(back.events[1]).toMatchObject({ event: 'frame', payload: { runId: 'r1', index: 3 } })
  })

  it('round-trips requests and responses with unicode strings and empty buffers', () => {
    const request: WireMessage = {
      kind: 'request',
      id: 7,
      channel: 'png.read',
      payload: { name: 'ünïcødé 数字 🖼️.png', bytes: new ArrayBuffer(0) },
    }
    expect(roundTrip(request)).toEqual(request)
    const response: WireMessage = {
      kind: 'response',
      id: 7,
      result: { ok: false, error: { code: 'bad-png', message: '“quoted” — naïve' } },
    }
    expect(roundTrip(response)).toEqual(response)
  })

  it('keeps NaN and infinities, and objects whose keys look like placeholders', () => {
    const m: WireMessage = {
      kind: 'response',
      id: 1,
      result: { ok: true, value: { mean: NaN, hi: Infinity, lo: -Infinity, odd: { $buf: 0, $obj: { $num: 'x' } } } },
    }
    expect(roundTrip(m)).toEqual(m)
  })

  it('sends a typed-array view as exactly its bytes, and copies buffers out of the receive buffer', () => {
    const big = new Float32Array([0, 1, 2, 3, 4])
    const view = big.subarray(1, 3)
    const bytes = encodeMessage({ kind: 'events', events: [{ event: 'done', payload: { samples: view } }] })
    // A Node Buffer over a larger pool, as ws hands messages over.
    const pooled = new Uint8Array(bytes.byteLength + 16)
    pooled.set(bytes, 8)
    const back = decodeMessage(pooled.subarray(8, 8 + bytes.byteLength)) as {
      events: { payload: { samples: ArrayBuffer } }[]
    }
    expect(back.events[0].payload.samples.byteLength).toBe(8)
    expect([...new Float32Array(back.events[0].payload.samples)]).toEqual([1, 2])
  })

  it('refuses malformed messages', () => {
    expect(() => decodeMessage(new Uint8Array([1, 0]))).toThrow(/too short/)
    const good = encodeMessage({ kind: 'events', events: [{ event: 'done', payload: { samples: floats(1) } }] })
    expect(() => decodeMessage(good.subarray(0, good.byteLength - 1))).toThrow(/runs past/)
    const extra = new Uint8Array(good.byteLength + 1)
    extra.set(good)
    expect(() => decodeMessage(extra)).toThrow(/left over/)
    const notAKind = encodeMessage({ kind: 'nope' } as unknown as WireMessage)
    expect(() => decodeMessage(notAKind)).toThrow(/not a request/)
    const notAList = encodeMessage({ kind: 'events', events: {} } as unknown as WireMessage)
    expect(() => decodeMessage(notAList)).toThrow(/not a list/)
  })
})
