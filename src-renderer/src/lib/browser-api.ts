/**
 * The StepwiseApi of the browser host (`npm run serve`): the contract over one WebSocket back to the
 * page's own host, in the wire format of src-preload/wire.ts, and dropped models uploaded over HTTP.
 *
 * Like the Electron preload it never rejects: a request the host cannot get or answer resolves with a
 * 'runtime-error'. When the socket drops it comes back by itself (with backoff); requests in flight then
 * fail, and runs in flight get a 'failed' event here, since the frames sent meanwhile are lost with the
 * socket. The host keeps such runs going while the page comes back within DISCONNECT_GRACE_MS (they land
 * in the History, whole); their later events are not passed on, as a timeline with a gap.
 */
import type { DroppedFile, EventName, Events, Result, StepwiseApi } from '../../../src-preload/contract'
import { decodeMessage, encodeMessage, type WireEvent, type WireMessage } from '../../../src-preload/wire'
import { DISCONNECT_GRACE_MS } from '../../../src-shared/limits'

/** Waits between reconnection attempts; the last one repeats. */
const RETRY_DELAYS_MS = [250, 500, 1000, 2000, 5000]
/** Files uploaded at once: a diffusers folder is a handful of files, some large. */
const PARALLEL_UPLOADS = 3

type Listener = (payload: never) => void

const lost = (message: string): { ok: false; error: { code: 'runtime-error'; message: string } } => ({
  ok: false,
  error: { code: 'runtime-error', message },
})

const randomId = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('')

/**
 * The token, where the page's URL carries it: only outside a browser (tests). A browser is sent on from the
 * printed URL to the page's own path, which the host's cookie (HttpOnly) lets in.
 */
const tokenOf = (where: Location) => new URLSearchParams(where.search).get('token') ?? undefined

/** A URL of the host relative to the page's own path ("/<prefix>/"), where the cookie goes. */
const hostUrl = (where: Location, path: string, protocol = where.protocol) => {
  const url = new URL(path, where.href)
  url.protocol = protocol
  return url.href
}

const CLIENT_KEY = 'stepwise-client'

/**
 * This tab's name for the host, which sends its runs' events here and keeps them going through a reload:
 * sessionStorage lives as long as the tab. Without it (storage off, tests in Node) each load is a new page.
 */
function clientId(): string {
  try {
    const kept = sessionStorage.getItem(CLIENT_KEY)
    if (kept) return kept
    const id = randomId()
    sessionStorage.setItem(CLIENT_KEY, id)
    return id
  } catch {
    return randomId()
  }
}

/** The page's side of the browser host; `disconnect` ends it for good (no reconnecting): a test's teardown. */
export type BrowserHostApi = StepwiseApi & { disconnect(): void }

export function connectBrowserHost(where: Location = location): BrowserHostApi {
  const token = tokenOf(where)
  const query = new URLSearchParams({ client: clientId(), ...(token ? { token } : {}) })
  const socketUrl = hostUrl(where, `ws?${query}`, where.protocol === 'https:' ? 'wss:' : 'ws:')
  const pending = new Map<number, (result: Result<unknown>) => void>()
  /** Requests made while the socket is not open, sent when it opens (or failed when the attempt fails). */
  let queued: { id: number; bytes: Uint8Array<ArrayBuffer> }[] = []
  const listeners = new Map<EventName, Set<Listener>>()
  /** Runs started and not yet done or failed: a lost socket loses their events, so they are failed here. */
  const activeRuns = new Set<string>()
  /** Runs failed here when the socket dropped: the host may go on with them, their events stay out. */
  const abandoned = new Set<string>()
  let nextId = 1
  let failures = 0
  let socket: WebSocket
  let reconnect: ReturnType<typeof setTimeout> | undefined
  let disconnected = false

  const emit = <E extends EventName>(event: E, payload: Events[E]) => {
    for (const listener of listeners.get(event) ?? []) {
      try {
        ;(listener as (p: Events[E]) => void)(payload)
      } catch (e) {
        console.error(`stepwise: a '${event}' listener threw`, e)
      }
    }
  }

  const onMessage = (data: unknown) => {
    if (!(data instanceof ArrayBuffer)) return
    let message: WireMessage
    try {
      message = decodeMessage(data)
    } catch (e) {
      console.error('stepwise: a message from the host could not be read', e)
      return
    }
    if (message.kind === 'response') {
      const resolve = pending.get(message.id)
      pending.delete(message.id)
      resolve?.(message.result)
    } else if (message.kind === 'events') for (const e of message.events) onEvent(e)
  }

  const onEvent = ({ event, payload }: WireEvent) => {
    const runId = (payload as { runId?: string }).runId
    const ended = event === 'done' || event === 'failed'
    if (runId && abandoned.has(runId)) {
      if (ended) abandoned.delete(runId)
      return
    }
    if (ended && runId) activeRuns.delete(runId)
    emit(event, payload as never)
  }

  const connect = () => {
    const ws = new WebSocket(socketUrl)
    ws.binaryType = 'arraybuffer'
    socket = ws
    let opened = false
    ws.onopen = () => {
      opened = true
      failures = 0
      for (const q of queued) ws.send(q.bytes)
      queued = []
    }
    ws.onmessage = (e) => onMessage(e.data)
    // The close event that follows an error says all there is to say.
    ws.onerror = () => {}
    ws.onclose = (e) => {
      const why = opened
        ? `the connection to the Stepwise host was lost (${e.code}${e.reason ? `: ${e.reason}` : ''}); reconnecting`
        : `cannot reach the Stepwise host at ${where.host} (is \`npm run serve\` still running, and was the page opened with its printed URL?)`
      // Whatever was sent is lost with the socket, and what was queued for an attempt that failed is failed
      // with it: the page hears of it at once instead of waiting on a host that may be gone.
      for (const [id, resolve] of pending) {
        pending.delete(id)
        resolve(lost(why))
      }
      queued = []
      const runWhy = `${why}; the run goes on in the host if this page is back within ${DISCONNECT_GRACE_MS / 1000} s (see the History)`
      for (const runId of activeRuns) {
        abandoned.add(runId)
        emit('failed', { runId, error: lost(runWhy).error })
      }
      activeRuns.clear()
      if (disconnected) return
      const delay = RETRY_DELAYS_MS[Math.min(failures, RETRY_DELAYS_MS.length - 1)]
      failures++
      reconnect = setTimeout(connect, delay)
    }
  }
  connect()

  const invoke: StepwiseApi['invoke'] = (channel, request) => {
    const id = nextId++
    let bytes: Uint8Array<ArrayBuffer>
    try {
      bytes = encodeMessage({ kind: 'request', id, channel, payload: request })
    } catch (e) {
      return Promise.resolve({
        ok: false,
        error: { code: 'bad-argument', message: `${channel}: payload cannot be sent (${(e as Error).message})` },
      })
    }
    if (disconnected) return Promise.resolve(lost('this page was disconnected from the Stepwise host'))
    return new Promise((resolve) => {
      pending.set(id, (result) => {
        if (channel === 'sample.start' && result.ok) activeRuns.add((result.value as { runId: string }).runId)
        resolve(result as never)
      })
      if (socket.readyState === WebSocket.OPEN) socket.send(bytes)
      else queued.push({ id, bytes })
    })
  }

  /** One file to the host; answers the folder or file path of the top-level item it belongs to. */
  const upload = async (batch: string, dropped: DroppedFile): Promise<{ top: string; name: string }> => {
    const parts = dropped.relativePath ? dropped.relativePath.split('/') : [dropped.file.name]
    const url = hostUrl(where, `upload/${batch}/${parts.map(encodeURIComponent).join('/')}`)
    const response = await fetch(url, {
      method: 'PUT',
      body: dropped.file,
      credentials: 'same-origin',
      headers: { 'content-type': 'application/octet-stream', ...(token ? { 'x-stepwise-token': token } : {}) },
    })
    const body = (await response.json().catch(() => ({}))) as { top?: string; error?: string }
    if (!response.ok || !body.top)
      throw new Error(`${parts.join('/')}: ${body.error ?? `the host answered ${response.status}`}`)
    return { top: body.top, name: parts[0] }
  }

  const stage: StepwiseApi['stage'] = async (top, files) => {
    const batch = randomId()
    const tops = new Map<string, string>()
    try {
      const work = [...files]
      const worker = async () => {
        for (let f = work.shift(); f; f = work.shift()) {
          const { top: path, name } = await upload(batch, f)
          tops.set(name, path)
        }
      }
      await Promise.all(Array.from({ length: Math.min(PARALLEL_UPLOADS, work.length) }, worker))
    } catch (e) {
      return lost(`upload failed: ${(e as Error).message}`)
    }
    const paths: string[] = []
    for (const item of top) {
      const path = tops.get(item.name)
      if (!path)
        return {
          ok: false,
          error: { code: 'bad-argument', message: `${item.name}: nothing to upload (an empty folder?)` },
        }
      paths.push(path)
    }
    return { ok: true, value: paths }
  }

  return {
    host: 'browser',
    invoke,
    on(event, listener) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener as Listener)
      return () => void set.delete(listener as Listener)
    },
    stage,
    disconnect() {
      disconnected = true
      clearTimeout(reconnect)
      socket.close()
    },
  }
}
