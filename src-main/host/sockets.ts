/**
 * The contract over WebSockets: each binary message from a page is a request, answered by the shell as a
 * `Result`; every engine event goes to every connected page. The wire format is src-preload/wire.ts.
 */
import { WebSocket, WebSocketServer } from 'ws'

import { EVENTS, type ModelCard } from '../../src-preload/contract'
import { decodeMessage, encodeMessage, type WireMessage } from '../../src-preload/wire'
import type { EngineClient } from '../service/engine-client'
import type { Shell } from '../service/shell'

/** Requests carry dropped PNGs and images; the largest model upload goes over HTTP, not here. */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024

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

export function createSocketHub(
  shell: Shell,
  engine: EngineClient,
  onModelLoaded?: (card: ModelCard) => void,
): SocketHub {
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES })

  const send = (socket: WebSocket, message: WireMessage | Uint8Array) => {
    if (socket.readyState !== WebSocket.OPEN) return
    socket.send(message instanceof Uint8Array ? message : encodeMessage(message), { binary: true })
  }

  const running = new Set<string>()
  let settled = () => {}

  // Encoded once, sent to every page.
  const unsubscribe = EVENTS.map((event) =>
    engine.on(event, (payload) => {
      if (event === 'done' || event === 'failed') {
        running.delete((payload as { runId: string }).runId)
        if (running.size === 0) settled()
      }
      if (server.clients.size === 0) return
      const bytes = encodeMessage({ kind: 'event', event, payload })
      for (const socket of server.clients) send(socket, bytes)
    }),
  )

  server.on('connection', (socket) => {
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
      const result = await shell.handle(message.channel, message.payload)
      if (message.channel === 'model.load' && result.ok) onModelLoaded?.(result.value as ModelCard)
      // The response comes before any event of the run (the engine starts it after answering).
      if (message.channel === 'sample.start' && result.ok) running.add((result.value as { runId: string }).runId)
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
      if (running.size === 0) return
      const stopped = new Promise<void>((resolve) => (settled = resolve))
      for (const runId of running) void engine.request('sample.cancel', { runId })
      await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())])
    },
    async close() {
      unsubscribe.forEach((off) => off())
      for (const socket of server.clients) socket.close(1001, 'the Stepwise host is stopping')
      await new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of server.clients) socket.terminate()
    },
  }
}
