/// <reference types="svelte" />
/// <reference types="vite/client" />
import type { StepwiseApi } from '../../src-preload/contract'

declare global {
  interface Window {
    /** Set by the preload in Electron; absent in the browser host (lib/api.ts connects over WebSocket). */
    stepwise?: StepwiseApi
  }
}
