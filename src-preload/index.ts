/**
 * The one object the renderer sees, window.stepwise: the contract's requests and events over Electron's
 * IPC. A sandboxed preload can load only electron and its own bundle, so the contract comes in as types;
 * main checks every payload.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent, webUtils } from 'electron'

import type { EventName, StepwiseApi } from './contract'

/** Main's EVENT_CHANNEL (src-main/app/rules.ts); a unit test keeps the two equal. */
const EVENT_CHANNEL = 'stepwise:event'

const api = {
  host: 'electron',
  invoke: (channel, request) => ipcRenderer.invoke(channel, request),
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
    if (missing)
      return {
        ok: false,
        error: {
          code: 'bad-argument',
          message: `${missing.name}: this item has no path on disk (dropped from another app?)`,
        },
      }
    return { ok: true, value: paths }
  },
} satisfies StepwiseApi

contextBridge.exposeInMainWorld('stepwise', api)
