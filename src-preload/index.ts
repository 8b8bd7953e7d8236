/**
 * The one object the renderer sees, window.stepwise: the contract's requests and events over Electron's
 * IPC. A sandboxed preload can load only electron and its own bundle: it takes the channel names from
 * channels.ts (bundled, no zod) and the contract's types; main checks every payload.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent, webUtils } from 'electron'

import { type EventName, EVENTS_CHANNEL, isChannel } from './channels'
import type { ErrorData, StepwiseApi } from './contract'

const refused = (message: string) => ({ ok: false as const, error: { code: 'bad-argument', message } as ErrorData })

interface Subscription {
  event: EventName
  listener: (payload: never) => void
}
/** The renderer's listeners, in the order they subscribed. */
const subscriptions = new Set<Subscription>()

// Main sends the events gathered since its last message, in order (src-main/service/event-batch.ts); each
// goes to the listeners of its name as if it had come alone: every listener has an event before any has the
// next, so a 'done' listener never runs before a 'frame' listener had the frames sent ahead of it. A listener
// that throws is reported and costs the others nothing (as in browser-api.ts): not the rest of the batch.
ipcRenderer.on(EVENTS_CHANNEL, (_e: IpcRendererEvent, batch: { event: EventName; payload: unknown }[]) => {
  for (const { event, payload } of batch)
    for (const s of [...subscriptions]) {
      if (s.event !== event) continue
      try {
        s.listener(payload as never)
      } catch (e) {
        console.error(`stepwise: a '${event}' listener threw`, e)
      }
    }
})

const api = {
  host: 'electron',
  // Only the contract's channels reach ipcRenderer: a compromised page cannot name another one.
  invoke: (channel, request) =>
    isChannel(channel)
      ? ipcRenderer.invoke(channel, request)
      : Promise.resolve(refused(`"${String(channel)}" is not a channel of Stepwise`)),
  on(event, listener) {
    // The renderer never sees the IpcRendererEvent.
    const subscription: Subscription = { event, listener }
    subscriptions.add(subscription)
    return () => void subscriptions.delete(subscription)
  },
  async stage(top) {
    const paths = top.map((f) => webUtils.getPathForFile(f))
    const missing = top.find((_, i) => !paths[i])
    if (missing) return refused(`${missing.name}: this item has no path on disk (dropped from another app?)`)
    return { ok: true, value: paths }
  },
} satisfies StepwiseApi

contextBridge.exposeInMainWorld('stepwise', api)
