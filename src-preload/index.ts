/** The one object the renderer sees, as window.stepwise. The typed IPC contract lands with the app issue. */
import { contextBridge } from 'electron'

const api = {
  version: '0.1.0',
}

export type StepwiseApi = typeof api
contextBridge.exposeInMainWorld('stepwise', api)
