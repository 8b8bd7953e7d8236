/**
 * The one object the renderer sees, window.stepwise: the contract's requests and events over Electron's
 * IPC. A sandboxed preload can load only electron and its own bundle: it takes the channel names from
 * channels.ts (bundled, no zod) and the contract's types; main checks every payload.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent, webUtils } from 'electron'

import { EVENT_CHANNEL, type EventName, isChannel } from './channels'
import type { ErrorData, StepwiseApi } from './contract'

const refused = (message: string) => ({ ok: false as const, error: { code: 'bad-argument', message } as ErrorData })

const api = {
  host: 'electron',
  // Only the contract's channels reach ipcRenderer: a compromised page cannot name another one.
  invoke: (channel, request) =>
    isChannel(channel)
      ? ipcRenderer.invoke(channel, request)
      : Promise.resolve(refused(`"${String(channel)}" is not a channel of Stepwise`)),
  on(event, listener) {
    // One listener a subscription, filtered by name; the renderer never sees the IpcRendererEvent.
    const handler = (_e: IpcRendererEvent, name: EventName, payload: unknown) => {
      if (name === event) listener(payload as Parameters<typeof listener>[0])
    }
    ipcRenderer.on(EVENT_CHANNEL, handler)
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, handler)
  },
  async stage(top) {
    const paths = top.map((f) => webUtils.getPathForFile(f))
    const missing = top.find((_, i) => !paths[i])
    if (missing) return refused(`${missing.name}: this item has no path on disk (dropped from another app?)`)
    return { ok: true, value: paths }
  },
} satisfies StepwiseApi

contextBridge.exposeInMainWorld('stepwise', api)
