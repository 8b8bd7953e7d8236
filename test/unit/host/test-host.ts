/**
 * What the host's tests share: a host on a free 127.0.0.1 port serving a stand-in renderer (these tests are
 * about the host; the e2e tests serve the real build), plain HTTP requests, a client of the contract over
 * its WebSocket as the page's browser-api is, and a raw TCP client that speaks the WebSocket handshake and
 * then sends frames byte by byte.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { WebSocket } from 'ws'

import { type Host, type HostOptions, startHost } from '../../../src-main/host/server'
import type { Channel, EventName, Events, Result } from '../../../src-preload/contract'
import { decodeMessage, encodeMessage, type WireEvent, type WireMessage } from '../../../src-preload/wire'

export interface TestHost extends Host {
  temp: string
  settingsDir: string
  outDir: string
  logged: string[]
}

export async function startTestHost(options: HostOptions = {}): Promise<TestHost> {
  const temp = mkdtempSync(join(tmpdir(), 'stepwise-host-'))
  const rendererDir = join(temp, 'renderer')
  mkdirSync(join(rendererDir, 'assets'), { recursive: true })
  writeFileSync(
    join(rendererDir, 'index.html'),
    '<!doctype html><title>Stepwise</title><script type="module" src="./assets/app.js"></script>',
  )
  writeFileSync(join(rendererDir, 'assets', 'app.js'), 'console.log("hi")')
  const settingsDir = join(temp, 'settings')
  const outDir = join(temp, 'exports')
  const logged: string[] = []
  const host = await startHost({
    port: 0,
    rendererDir,
    settingsDir,
    outDir,
    log: (line) => logged.push(line),
    ...options,
  })
  return { ...host, temp, settingsDir, outDir, logged }
}

export interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: Buffer
}

export function http(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

export type Client = Awaited<ReturnType<typeof connect>>

/**
 * A client of the contract over the host's WebSocket at `path` (default /ws); `query` is added to the socket
 * URL (e.g. client=...), and the token too unless it is ''.
 */
export async function connect(
  host: Pick<Host, 'port' | 'token'>,
  options: { headers?: Record<string, string>; token?: string; query?: string; path?: string } = {},
) {
  const token = options.token ?? host.token
  const query = new URLSearchParams(options.query)
  if (token) query.set('token', token)
  const url = `ws://127.0.0.1:${host.port}${options.path ?? '/ws'}?${query}`
  const ws = new WebSocket(url, { headers: options.headers })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)))
  })
  const pending = new Map<number, (r: Result<unknown>) => void>()
  const events: WireEvent[] = []
  /** The events of each message, as they came together. */
  const messages: WireEvent[][] = []
  const waiters: (() => void)[] = []
  ws.on('message', (data: Buffer) => {
    const m = decodeMessage(data)
    if (m.kind === 'response') pending.get(m.id)?.(m.result)
    if (m.kind === 'events') {
      messages.push(m.events)
      events.push(...m.events)
      waiters.forEach((w) => w())
    }
  })
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)))
  let nextId = 1
  return {
    ws,
    events,
    messages,
    closed,
    request<T>(channel: Channel, payload: unknown): Promise<Result<T>> {
      const id = nextId++
      return new Promise((resolve) => {
        pending.set(id, resolve as (r: Result<unknown>) => void)
        ws.send(encodeMessage({ kind: 'request', id, channel, payload } as WireMessage))
      })
    },
    /** Resolves once an event of this name passes the test. */
    until<E extends EventName>(event: E, test: (p: Events[E]) => boolean): Promise<Events[E]> {
      return new Promise((resolve) => {
        const check = () => {
          const hit = events.find((e) => e.event === event && test(e.payload as Events[E]))
          if (hit) resolve(hit.payload as Events[E])
        }
        waiters.push(check)
        check()
      })
    },
    /** Events of one run, in order. */
    eventsOf(runId: string) {
      return events.filter((e) => (e.payload as { runId?: string }).runId === runId)
    },
    close() {
      ws.close()
      return closed
    },
  }
}

export const value = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`)
  return r.value
}

/** One WebSocket frame as a client writes it (masked unless told otherwise); any header bits may be set. */
export function frame(options: {
  opcode: number
  payload?: Buffer
  fin?: boolean
  rsv?: number
  masked?: boolean
  /** The length the header claims, when it should differ from the payload's (a header alone). */
  claimedLength?: number
}): Buffer {
  const payload = options.payload ?? Buffer.alloc(0)
  const length = options.claimedLength ?? payload.length
  const masked = options.masked ?? true
  const head = [((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | options.opcode]
  const maskBit = masked ? 0x80 : 0
  let extended = Buffer.alloc(0)
  if (length < 126) head.push(maskBit | length)
  else if (length < 65536) {
    head.push(maskBit | 126)
    extended = Buffer.alloc(2)
    extended.writeUInt16BE(length)
  } else {
    head.push(maskBit | 127)
    extended = Buffer.alloc(8)
    extended.writeBigUInt64BE(BigInt(length))
  }
  if (!masked) return Buffer.concat([Buffer.from(head), extended, payload])
  const mask = randomBytes(4)
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]))
  return Buffer.concat([Buffer.from(head), extended, mask, body])
}

/**
 * Open a WebSocket by hand over TCP, write `bytes` after the handshake and end our side; resolves when the
 * host has closed the connection, with the close code of the first close frame it sent (undefined when
 * it sent none, as when the connection just ended).
 */
export function rawSocket(host: Pick<Host, 'port' | 'token'>, bytes: Buffer): Promise<{ closeCode?: number }> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(host.port, '127.0.0.1')
    let received = Buffer.alloc(0)
    let upgraded = false
    socket.on('error', reject)
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (upgraded) return
      const end = received.indexOf('\r\n\r\n')
      if (end < 0) return
      const status = received.subarray(0, end).toString('latin1').split('\r\n')[0]
      if (!status.startsWith('HTTP/1.1 101')) return reject(new Error(`the handshake answered ${status}`))
      upgraded = true
      received = received.subarray(end + 4)
      socket.write(bytes)
      socket.end()
    })
    socket.on('close', () => {
      if (!upgraded) return reject(new Error('the connection closed before the handshake'))
      // A server's close frame: 0x88, a 7-bit length (the reason is short), then the code.
      const closeCode = received[0] === 0x88 && (received[1] & 0x7f) >= 2 ? received.readUInt16BE(2) : undefined
      resolve({ closeCode })
    })
    socket.write(
      [
        `GET /ws?token=${host.token} HTTP/1.1`,
        `Host: 127.0.0.1:${host.port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
        'Sec-WebSocket-Version: 13',
        '',
        '',
      ].join('\r\n'),
    )
  })
}
