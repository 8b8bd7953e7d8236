/**
 * A page's events gathered into one message every EVENT_BATCH_MS, whoever carries them: the browser host
 * (a WebSocket message a batch, host/sockets.ts) and the Electron shell (an IPC message a batch to its
 * window, app/ipc.ts). A sampling run sends two events a step (its progress and its frame), a thousand
 * steps in a few seconds, and each message costs the page's browser a task, IPC between its processes and a
 * decode, all CPU taken from the model on a machine whose cores it fills; gathered, the page gets about
 * twenty messages a second whatever the step rate.
 *
 * Nothing the page keeps is lost: every frame event goes (every step's record is the page's timeline), in
 * the order they came. Only progress is thinned, as it is a state and not a change: a batch carries the
 * newest progress of each run (so the counts the page sees still only grow, and end with the last one).
 * A run's end (done, failed) goes out at once, behind the frames before it, and so does an event of no run
 * (a model loaded, a menu command): a page waits for neither.
 */
import type { EventName, Events } from '../../src-preload/contract'
import { EVENT_BATCH_MS } from '../../src-shared/limits'

/** One event with its payload, typed by its name. */
export type EventMessage = { [E in EventName]: { event: E; payload: Events[E] } }[EventName]

export interface EventBatcher {
  /** Add an event; it goes out with the next batch (now, for a run's end or an event of no run). */
  push(message: EventMessage): void
  /** Send what is gathered now. */
  flush(): void
  /** Drop what is gathered and send nothing more. */
  close(): void
}

const runIdOf = (m: EventMessage): string | undefined => (m.payload as { runId?: string }).runId

export function batchEvents(send: (events: EventMessage[]) => void, intervalMs = EVENT_BATCH_MS): EventBatcher {
  let queue: EventMessage[] = []
  let timer: NodeJS.Timeout | undefined
  let closed = false

  const flush = () => {
    clearTimeout(timer)
    timer = undefined
    if (queue.length === 0) return
    const events = queue
    queue = []
    send(events)
  }

  return {
    push(message) {
      if (closed) return
      const runId = runIdOf(message)
      if (message.event === 'progress') {
        const older = queue.findIndex((m) => m.event === 'progress' && m.payload.runId === runId)
        if (older >= 0) queue.splice(older, 1)
      }
      queue.push(message)
      if (runId === undefined || message.event === 'done' || message.event === 'failed') flush()
      else timer ??= setTimeout(flush, intervalMs).unref()
    },
    flush,
    close() {
      closed = true
      clearTimeout(timer)
      queue = []
    },
  }
}
