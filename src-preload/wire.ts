/**
 * The contract over a WebSocket (the browser host): one binary message a request, a response, or the events
 * that came since the last message (in order; see src-main/service/event-batch.ts for why they travel together).
 *
 *   [u32 little-endian: header length][header: UTF-8 JSON][buffer 0][buffer 1]...
 *
 * The header is `{ "message": ..., "buffers": [byteLength, ...] }`. Every ArrayBuffer inside the message
 * (frames' float32 data, PNG bytes, export files) is taken out and appended raw, in order, and the JSON
 * holds `{ "$buf": i }` in its place, so a 64-image frame costs no base64 or number arrays.
 *
 * JSON alone would also lose what structured clone (Electron's IPC) keeps, so it is spelled out:
 * NaN / ±Infinity (a diverging run's stats) become `{ "$num": "NaN" }`, and a plain object that happens
 * to have a `$buf`, `$num` or `$obj` key travels as `{ "$obj": {...} }`. Typed-array views arrive as
 * ArrayBuffers holding just their bytes (the contract carries ArrayBuffers only). `undefined` fields
 * are dropped, as JSON drops them.
 *
 * Pure TypeScript: runs in the page and in Node alike.
 */
import type { Channel, EventName, Result } from './contract'

export type WireMessage =
  | { kind: 'request'; id: number; channel: Channel; payload: unknown }
  | { kind: 'response'; id: number; result: Result<unknown> }
  | { kind: 'events'; events: WireEvent[] }

/** One event of the contract as it travels: its name and payload. */
export interface WireEvent {
  event: EventName
  payload: unknown
}

const RESERVED = ['$buf', '$num', '$obj']

const isPlainObject = (v: object): v is Record<string, unknown> => {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

const bytesOf = (v: ArrayBuffer | ArrayBufferView): Uint8Array =>
  v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)

/** The value with its buffers replaced by placeholders; `buffers` collects them in order. */
function lift(value: unknown, buffers: Uint8Array[]): unknown {
  if (typeof value === 'number') return Number.isFinite(value) ? value : { $num: String(value) }
  if (value === null || typeof value !== 'object') return value
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    buffers.push(bytesOf(value))
    return { $buf: buffers.length - 1 }
  }
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : lift(v, buffers)))
  if (!isPlainObject(value)) throw new TypeError(`wire: cannot send a ${value.constructor?.name ?? 'non-plain object'}`)
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = lift(v, buffers)
  return RESERVED.some((k) => Object.hasOwn(value, k)) ? { $obj: out } : out
}

function lower(value: unknown, buffers: ArrayBuffer[]): unknown {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => lower(v, buffers))
  const o = value as Record<string, unknown>
  if (typeof o.$buf === 'number') {
    const buffer = buffers[o.$buf]
    if (!buffer) throw new RangeError(`wire: no buffer ${o.$buf}`)
    return buffer
  }
  if (typeof o.$num === 'string') return Number(o.$num)
  const fields = o.$obj !== undefined && typeof o.$obj === 'object' ? (o.$obj as Record<string, unknown>) : o
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) out[k] = lower(v, buffers)
  return out
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeMessage(message: WireMessage): Uint8Array<ArrayBuffer> {
  const buffers: Uint8Array[] = []
  const lifted = lift(message, buffers)
  const header = encoder.encode(JSON.stringify({ message: lifted, buffers: buffers.map((b) => b.byteLength) }))
  const total = 4 + header.byteLength + buffers.reduce((sum, b) => sum + b.byteLength, 0)
  const out = new Uint8Array(total)
  new DataView(out.buffer).setUint32(0, header.byteLength, true)
  out.set(header, 4)
  let offset = 4 + header.byteLength
  for (const b of buffers) {
    out.set(b, offset)
    offset += b.byteLength
  }
  return out
}

/** A message as received (a browser's ArrayBuffer, ws's Buffer); throws on anything malformed. */
export function decodeMessage(data: ArrayBuffer | Uint8Array): WireMessage {
  const bytes = data instanceof ArrayBuffer ? new Uint8Array(data) : data
  if (bytes.byteLength < 4) throw new RangeError('wire: message too short')
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true)
  if (4 + headerLength > bytes.byteLength) throw new RangeError('wire: header runs past the message')
  const header = JSON.parse(decoder.decode(bytes.subarray(4, 4 + headerLength))) as {
    message: unknown
    buffers: number[]
  }
  if (!Array.isArray(header.buffers)) throw new TypeError('wire: header has no buffer list')
  // Each buffer is copied out, so it owns its memory (the receive buffer may be pooled and reused).
  const buffers: ArrayBuffer[] = []
  let offset = 4 + headerLength
  for (const length of header.buffers) {
    if (!Number.isInteger(length) || length < 0 || offset + length > bytes.byteLength)
      throw new RangeError('wire: a buffer runs past the message')
    // Not bytes.slice: on a Node Buffer that is a view, not a copy.
    buffers.push(new Uint8Array(bytes.subarray(offset, offset + length)).buffer)
    offset += length
  }
  if (offset !== bytes.byteLength) throw new RangeError('wire: bytes left over after the last buffer')
  const message = lower(header.message, buffers) as WireMessage
  if (!message || typeof message !== 'object' || !['request', 'response', 'events'].includes(message.kind))
    throw new TypeError('wire: not a request, response or events')
  if (message.kind === 'events' && !Array.isArray(message.events)) throw new TypeError('wire: events is not a list')
  return message
}
