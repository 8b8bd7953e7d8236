/**
 * The contract over WebSockets: each binary message from a page is a request, answered by the shell as a
 * `Result`. The wire format is src-preload/wire.ts.
 *
 * A run's events go to the page that started it, gathered into few messages (service/event-batch.ts, as
 * the Electron shell gathers its window's); the shell's own events (a model
 * loaded, a menu command) go to every page at once, and requests such as runs.list answer about every run
 * (the history is shared). A page is known by the client id in its socket URL (`?client=`, kept in the
 * tab's sessionStorage by browser-api, so a reload keeps it). When a page's last socket closes its runs go
 * on for a grace period (DISCONNECT_GRACE_MS): a reload or a reconnection within it takes them back, and
 * after it they are cancelled, so a closed tab stops costing the GPU. Their frames stay in the engine's
 * history.
 *
 * Nothing a page sends can stop the host: a frame ws refuses (over MAX_MESSAGE_BYTES, reserved bits or
 * opcodes, unmasked, invalid UTF-8) closes that socket with ws's close code, and an event that cannot be
 * encoded fails its run for its page instead of throwing inside the engine's event loop.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

import { WebSocket, WebSocketServer } from 'ws'

import { type EngineChannel, EVENTS, type ModelCard, STOPPED_WITH_THEIR_PAGE } from '../../src-preload/contract'
import { decodeMessage, encodeMessage, type WireMessage } from '../../src-preload/wire'
import { DISCONNECT_GRACE_MS, MAX_MESSAGE_BYTES } from '../../src-shared/limits'
import type { EngineClient } from '../service/engine-client'
import { batchEvents, type EventBatcher, type EventMessage } from '../service/event-batch'
import type { Shell } from '../service/shell'

export interface SocketHub {
  readonly server: WebSocketServer
  /**
   * Cancel the runs pages started and wait (at most `timeoutMs`) until they have stopped: terminating the
   * engine worker inside onnxruntime's session.run aborts the whole process.
   */
  stopRuns(timeoutMs?: number): Promise<void>
  /** Close every socket and stop forwarding events. */
  close(): Promise<void>
}

export interface SocketHubOptions {
  onModelLoaded?: (card: ModelCard) => void
  /** How long a page's runs outlive its last socket; default DISCONNECT_GRACE_MS. */
  graceMs?: number
  log?: (line: string) => void
}

/** One browser tab, over its reloads and reconnections. */
interface Page {
  readonly id: string
  readonly sockets: Set<WebSocket>
  /** The runs it started that have not ended. */
  readonly runs: Set<string>
  /** Set while it has runs and no socket: cancels them when it fires. */
  leaving?: NodeJS.Timeout
  /** Its events, gathered for its sockets. */
  readonly events: EventBatcher
}

const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/

/** The page's client id from its socket URL; a client without one (not a browser) is a page of its own. */
const clientIdOf = (req: IncomingMessage | undefined): string => {
  const id = new URL(req?.url ?? '/', 'http://127.0.0.1').searchParams.get('client')
  return id && CLIENT_ID.test(id) ? id : randomUUID()
}

const runIdOf = (payload: unknown): string | undefined => (payload as { runId?: string }).runId

export function createSocketHub(shell: Shell, engine: EngineClient, options: SocketHubOptions = {}): SocketHub {
  const { graceMs = DISCONNECT_GRACE_MS, log = () => {} } = options
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES })
  const pages = new Map<string, Page>()
  /** The page of each run that has not ended. */
  const owners = new Map<string, Page>()
  /** Runs an event of which could not be encoded: their page has been told they failed. */
  const unsendable = new Set<string>()
  let settled = () => {}

  const send = (socket: WebSocket, message: WireMessage | Uint8Array) => {
    if (socket.readyState !== WebSocket.OPEN) return
    socket.send(message instanceof Uint8Array ? message : encodeMessage(message), { binary: true })
  }

  const cancel = (runId: string) => void engine.request('sample.cancel', { runId })

  /** A page is kept while it has a socket or a run; gone with runs, it has graceMs to come back for them. */
  const review = (page: Page) => {
    if (page.sockets.size > 0 || page.runs.size === 0) {
      clearTimeout(page.leaving)
      page.leaving = undefined
      if (page.sockets.size === 0) pages.delete(page.id)
      return
    }
    page.leaving ??= setTimeout(() => {
      log(
        `Stepwise: a page left ${graceMs / 1000} s ago and did not come back; cancelling its ${page.runs.size} run(s)`,
      )
      page.runs.forEach(cancel)
    }, graceMs).unref()
  }

  /** A run started by a page (which may have left while its sample.start was answered). */
  const adopt = (page: Page, runId: string) => {
    const current = pages.get(page.id) ?? page
    pages.set(current.id, current)
    current.runs.add(runId)
    owners.set(runId, current)
    review(current)
  }

  const ended = (runId: string) => {
    const page = owners.get(runId)
    owners.delete(runId)
    unsendable.delete(runId)
    if (page) {
      page.runs.delete(runId)
      review(page)
    }
    if (owners.size === 0) settled()
  }

  /**
   * An event encoded for a page. One that cannot be (a frame too large to allocate, data that is not plain)
   * fails its run for its page, and the run is stopped: the page could not follow it.
   */
  const encodeEvent = (m: EventMessage): Uint8Array | undefined => {
    const runId = runIdOf(m.payload)
    try {
      return encodeMessage({ kind: 'events', events: [m] })
    } catch (e) {
      const why = (e as Error).message
      log(`Stepwise: a '${m.event}' event cannot be sent to its page (${why})`)
      if (runId === undefined) return undefined
      unsendable.add(runId)
      if (m.event !== 'done' && m.event !== 'failed') cancel(runId)
      const message = `run ${runId}: its ${m.event} event cannot be sent to this page (${why}); the run was stopped`
      return encodeMessage({
        kind: 'events',
        events: [{ event: 'failed', payload: { runId, error: { code: 'runtime-error', message } } }],
      })
    }
  }

  /** A page's gathered events, encoded once for all its sockets; one by one when the batch cannot be. */
  const sendEvents = (page: Page, events: EventMessage[]) => {
    if (page.sockets.size === 0) return
    const sendAll = (bytes: Uint8Array | undefined) => bytes && page.sockets.forEach((socket) => send(socket, bytes))
    try {
      return sendAll(encodeMessage({ kind: 'events', events }))
    } catch {
      for (const m of events) {
        const runId = runIdOf(m.payload)
        if (runId === undefined || !unsendable.has(runId)) sendAll(encodeEvent(m))
      }
    }
  }

  const newPage = (id: string): Page => {
    const page: Page = {
      id,
      sockets: new Set<WebSocket>(),
      runs: new Set<string>(),
      events: batchEvents((events) => sendEvents(page, events)),
    }
    return page
  }

  const unsubscribe = EVENTS.map((event) =>
    engine.on(event, (payload) => {
      const runId = runIdOf(payload)
      const m = { event, payload } as EventMessage
      if (runId === undefined) for (const page of pages.values()) page.events.push(m)
      else if (!unsendable.has(runId)) owners.get(runId)?.events.push(m)
      if (runId !== undefined && (event === 'done' || event === 'failed')) ended(runId)
    }),
  )

  server.on('connection', (socket: WebSocket, req?: IncomingMessage) => {
    const id = clientIdOf(req)
    const page = pages.get(id) ?? newPage(id)
    pages.set(id, page)
    page.sockets.add(socket)
    review(page)
    // ws answers a frame it refuses with this 'error', then closes the socket with the code saying why;
    // without a listener the error would be thrown and end the host.
    socket.on('error', (e) => log(`Stepwise: a page's connection was closed: ${e.message}`))
    /**
     * How to stop each request of this socket not yet answered (STOPPED_WITH_THEIR_PAGE): when the socket
     * closes, its answer could go nowhere else.
     */
    const unanswered: EngineChannel[] = []
    socket.on('close', () => {
      page.sockets.delete(socket)
      review(page)
      for (const stop of new Set(unanswered)) void engine.request(stop, {})
    })
    socket.on('message', async (data, isBinary) => {
      let message: WireMessage
      try {
        if (!isBinary) throw new Error('text message')
        message = decodeMessage(
          Buffer.isBuffer(data) ? data : Buffer.concat(data instanceof ArrayBuffer ? [Buffer.from(data)] : data),
        )
      } catch (e) {
        // A page speaking another protocol: nothing sensible to answer, so hang up with the reason.
        socket.close(1007, `not a Stepwise message (${(e as Error).message})`.slice(0, 120))
        return
      }
      if (message.kind !== 'request') return
      const stop = STOPPED_WITH_THEIR_PAGE[message.channel]
      if (stop) unanswered.push(stop)
      const result = await shell.handle(message.channel, message.payload)
      if (stop) unanswered.splice(unanswered.indexOf(stop), 1)
      if (message.channel === 'model.load' && result.ok) options.onModelLoaded?.(result.value as ModelCard)
      // The response comes before any event of the run (the engine starts it after answering).
      if (message.channel === 'sample.start' && result.ok) adopt(page, (result.value as { runId: string }).runId)
      try {
        send(socket, { kind: 'response', id: message.id, result })
      } catch (e) {
        send(socket, {
          kind: 'response',
          id: message.id,
          result: {
            ok: false,
            error: {
              code: 'runtime-error',
              message: `${message.channel}: the answer cannot be sent (${(e as Error).message})`,
            },
          },
        })
      }
    })
  })

  return {
    server,
    async stopRuns(timeoutMs = 10_000) {
      if (owners.size === 0) return
      const stopped = new Promise<void>((resolve) => (settled = resolve))
      for (const runId of owners.keys()) cancel(runId)
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())])
    },
    async close() {
      unsubscribe.forEach((off) => off())
      for (const page of pages.values()) {
        clearTimeout(page.leaving)
        page.events.close()
      }
      for (const socket of server.clients) socket.close(1001, 'the Stepwise host is stopping')
      await new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of server.clients) socket.terminate()
    },
  }
}
