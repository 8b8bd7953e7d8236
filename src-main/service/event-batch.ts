/**
 * A page's events gathered into few messages, whoever carries them: the browser host (a WebSocket message a
 * batch, host/sockets.ts) and the Electron shell (an IPC message a batch to its window, app/ipc.ts). A
 * sampling run sends two events a step (its progress and its frame), a thousand steps in a few seconds, and
 * each message costs the page's browser a task, IPC between its processes and a decode, all CPU taken from
 * the model on a machine whose cores it fills.
 *
 * A batch goes out with a step's images and the progress the engine sends right after them (the model call
 * that made them): the engine sends images at most once a LIVE_UPDATE_MS (or LIVE_UPDATE_SHARED_CPU_MS),
 * the rate the page draws a run at, so the page gets what it draws next in one message; the last step's
 * go with the run's end. Else a batch goes EVENT_BATCH_MS after its first event when no images come (a
 * run's first steps before a model call ends, events of several runs).
 * The bytes count too: Chromium reads a WebSocket 1000 bytes at a time, a task in the page each, unless
 * more than 1.2 MB a second comes (net/websockets/websocket_basic_stream.cc), which a message of tens of
 * kB passes on an idle machine but seldom on one whose cores the model fills (measured: 3747 such tasks
 * for 3 MB in a DDPM 1000 x 4 run); hence the images a step carries are x_t and x0 alone.
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
  /**
   * Add an event; it goes out with the next batch (now for a run's end, an event of no run, or the progress
   * after a step's images).
   */
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
  /** A run whose step's images are gathered: the batch goes with the progress the engine sends next. */
  let imagesOf: string | undefined
  let closed = false

  const flush = () => {
    clearTimeout(timer)
    timer = imagesOf = undefined
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
      // The last step's images wait for the run's end, which follows them at once: the page then draws the
      // final samples once, not the last step and the samples within one display frame.
      const images =
        message.event === 'frame' &&
        message.payload.pixels !== undefined &&
        message.payload.index < message.payload.total - 1
      if (images) imagesOf = runId
      const now =
        runId === undefined ||
        message.event === 'done' ||
        message.event === 'failed' ||
        (message.event === 'progress' && runId === imagesOf)
      if (now) flush()
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
