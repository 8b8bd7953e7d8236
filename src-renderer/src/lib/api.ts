/** The one object the renderer talks to: the preload's in Electron, the WebSocket adapter in the browser host. */
import type { StepwiseApi } from '../../../src-preload/contract'
import { connectBrowserHost } from './browser-api'

export const api: StepwiseApi = window.stepwise ?? connectBrowserHost()
