/** What the engine worker and its client say to each other over the worker's message port. */
import type { EngineChannel, EventName, Events, Result } from '../../src-preload/contract'
import type { ChildOutput } from '../engine/model/webgpu-probe'

/**
 * Client -> worker: one request (already checked against the contract by the shell), or (channel null)
 * stop every run and release the model before exit.
 */
export type WorkerRequest =
  | {
      id: number
      channel: EngineChannel | null
      payload: unknown
    }
  | ProbeAnswer

/** Worker -> client: the answer to request `id`, an event, or a child process to start (ProbeAsk). */
export type WorkerMessage =
  { id: number; result: Result<unknown> } | { [E in EventName]: { event: E; payload: Events[E] } }[EventName] | ProbeAsk

/**
 * Where the worker cannot start a Node child process itself (packaged Electron, whose RunAsNode fuse is
 * off), it asks its client to run the WebGPU probe's script (webgpu-probe.ts) and gets the output back.
 */
export interface ProbeAsk {
  probe: number
  script: string
  env: Record<string, string>
}
export interface ProbeAnswer {
  probe: number
  output: ChildOutput
}

/** What the worker is started with. */
export interface WorkerData {
  /** Where graphs built from weights are cached. */
  cacheDir?: string
  /** The history folder: runs kept across sessions (a temporary folder when absent). */
  historyDir?: string
  /** Ask the client to start the WebGPU probe's child process (Electron: a utilityProcess). */
  probeThroughClient?: boolean
}
