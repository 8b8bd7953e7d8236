/** What the engine worker and its client say to each other over the worker's message port. */
import type { EngineChannel, EventName, Events, Result } from '../../src-preload/contract'

/**
 * Client -> worker: one request (already checked against the contract by the shell), or (channel null)
 * stop every run and release the model before exit.
 */
export interface WorkerRequest {
  id: number
  channel: EngineChannel | null
  payload: unknown
}

/** Worker -> client: the answer to request `id`, or an event. */
/** What the worker is started with. */
export interface WorkerData {
  cacheDir?: string
}

export type WorkerMessage =
  { id: number; result: Result<unknown> } | { [E in EventName]: { event: E; payload: Events[E] } }[EventName]
