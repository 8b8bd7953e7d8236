/**
 * The main-thread side of the engine worker: typed requests answered as `Result`s, event subscriptions,
 * and a worker that comes back when it dies (in-flight requests and runs then fail with 'runtime-error').
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'

import type { EngineChannel, EventName, Events, RequestOf, ResponseOf, Result } from '../../src-preload/contract'
import type { ErrorData } from '../engine/errors'
import type { ChildOutput, ProbeRunner } from '../engine/model/webgpu-probe'
import type { WorkerData, WorkerMessage, WorkerRequest } from './messages'

export interface EngineClient {
  /**
   * One typed request, checked against the contract already (the shell does that where requests enter);
   * errors come back as `{ ok: false }`, never as a rejection.
   */
  request<C extends EngineChannel>(channel: C, payload: RequestOf<C>): Promise<Result<ResponseOf<C>>>
  /** Listen to one event; returns the unsubscribe. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void
  /** Stop the worker for good; pending requests fail with 'runtime-error'. */
  close(): Promise<void>
}

export interface EngineOptions {
  /** The worker module; engine-worker.ts beside this file by default (a .ts file runs through tsx). */
  workerUrl?: URL
  /**
   * Starts the WebGPU probe's child process for the worker, where the worker cannot (Electron: its
   * utilityProcess, as the RunAsNode fuse is off); by default the worker starts a Node child itself.
   */
  runProbe?: ProbeRunner
  /** Where graphs built from weights are cached (the app's user-data folder, the host's settings folder). */
  cacheDir?: string
  /** The history folder (HISTORY_DIR in the same folders): runs kept across sessions. */
  historyDir?: string
}

/** More restarts than this within RESTART_WINDOW_MS and the engine stays down (a crash at start-up would loop). */
const MAX_RESTARTS = 5
const RESTART_WINDOW_MS = 60_000
/** How long close() waits for the runs to stop and the model to be released before ending the worker. */
const CLOSE_TIMEOUT_MS = 10_000

/**
 * A Worker for a .ts module. Node 20 does not apply `execArgv: ['--import', 'tsx']` hooks inside a
 * worker (the worker fails with ERR_UNKNOWN_FILE_EXTENSION), so a tiny bootstrap registers tsx's ESM
 * loader in the worker itself, then imports the module.
 */
function spawn(url: URL, workerData: WorkerData): Worker {
  if (!url.pathname.endsWith('.ts')) return new Worker(url, { workerData })
  // tsx's ESM entry (its CommonJS one cannot register the ESM hooks), found through its package exports.
  const require = createRequire(import.meta.url)
  const pkg = require.resolve('tsx/package.json')
  const entry: string = require('tsx/package.json').exports['./esm/api'].import.default
  const tsxApi = pathToFileURL(join(dirname(pkg), entry)).href
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then(async (m) => { m.register(); await import(${JSON.stringify(url.href)}) })`
  return new Worker(bootstrap, { eval: true, workerData })
}

export function startEngine(options: EngineOptions = {}): EngineClient {
  const url = options.workerUrl ?? new URL('./engine-worker.ts', import.meta.url)
  const pending = new Map<number, (result: Result<unknown>) => void>()
  const listeners = new Map<EventName, Set<(payload: never) => void>>()
  /** Runs started and not yet done or failed: a dying worker takes them along, so they are failed here. */
  const activeRuns = new Set<string>()
  const restarts: number[] = []
  let nextId = 1
  let closed = false
  let down: ErrorData | undefined
  let worker!: Worker
  /** The last model.load that succeeded: a restarted worker loads it again before anything else. */
  let loadedModel: unknown
  /** Requests wait for that reload, so the next Generate finds the model the window still shows. */
  let reloading: Promise<unknown> = Promise.resolve()

  const emit = <E extends EventName>(event: E, payload: Events[E]) => {
    for (const listener of listeners.get(event) ?? []) (listener as (p: Events[E]) => void)(payload)
  }

  const failAll = (error: ErrorData) => {
    for (const [id, resolve] of pending) {
      pending.delete(id)
      resolve({ ok: false, error })
    }
    for (const runId of activeRuns) emit('failed', { runId, error })
    activeRuns.clear()
  }

  const onMessage = (message: WorkerMessage) => {
    if ('probe' in message) {
      const { probe, script, env } = message
      const self = worker
      const failed = (e: unknown): ChildOutput => ({ stdout: '', stderr: `Warning: ${(e as Error).message}`, code: -1 })
      void options.runProbe!(script, env)
        .then(undefined, failed)
        .then((output) => {
          if (self === worker && !closed) worker.postMessage({ probe, output } satisfies WorkerRequest)
        })
      return
    }
    if ('id' in message) {
      const resolve = pending.get(message.id)
      pending.delete(message.id)
      resolve?.(message.result)
      return
    }
    if (message.event === 'done' || message.event === 'failed') activeRuns.delete(message.payload.runId)
    emit(message.event, message.payload as never)
  }

  const start = () => {
    worker = spawn(url, {
      cacheDir: options.cacheDir,
      historyDir: options.historyDir,
      probeThroughClient: options.runProbe !== undefined,
    })
    worker.on('message', onMessage)
    // An 'error' (uncaught exception in the worker) is followed by 'exit'; the restart happens there.
    let crash: Error | undefined
    worker.on('error', (e) => (crash = e))
    const self = worker
    worker.on('exit', (code) => {
      if (closed || self !== worker) return
      const now = Date.now()
      while (restarts.length && now - restarts[0] > RESTART_WINDOW_MS) restarts.shift()
      const willRestart = restarts.length < MAX_RESTARTS
      const why = crash ? `: ${crash.message}` : ` (exit code ${code})`
      failAll({
        code: 'runtime-error',
        message: `the engine stopped unexpectedly${why}${willRestart ? '; it has been restarted' : ''}`,
      })
      if (willRestart) {
        restarts.push(now)
        start()
        if (loadedModel !== undefined) reloading = send('model.load', loadedModel)
      } else {
        down = {
          code: 'runtime-error',
          message: `the engine stopped ${MAX_RESTARTS + 1} times within a minute and was not restarted`,
        }
      }
    })
  }
  start()

  const send = (channel: EngineChannel, payload: unknown): Promise<Result<unknown>> => {
    if (closed)
      return Promise.resolve({ ok: false, error: { code: 'runtime-error', message: 'the engine has been closed' } })
    if (down) return Promise.resolve({ ok: false, error: down })
    const id = nextId++
    return new Promise((resolve) => {
      pending.set(id, (result) => {
        if (channel === 'sample.start' && result.ok) activeRuns.add((result.value as { runId: string }).runId)
        if (channel === 'model.load' && result.ok) loadedModel = payload
        resolve(result)
      })
      try {
        worker.postMessage({ id, channel, payload } satisfies WorkerRequest)
      } catch (e) {
        // e.g. a payload that cannot be structured-cloned (a function, a Svelte proxy).
        pending.delete(id)
        resolve({
          ok: false,
          error: { code: 'bad-argument', message: `${channel}: payload cannot be sent (${(e as Error).message})` },
        })
      }
    })
  }

  return {
    request: <C extends EngineChannel>(channel: C, payload: RequestOf<C>) =>
      reloading.then(() => send(channel, payload)) as Promise<Result<ResponseOf<C>>>,
    on(event, listener) {
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener as (payload: never) => void)
      return () => void set.delete(listener as (payload: never) => void)
    },
    async close() {
      if (closed) return
      // Runs stop at their next step and the model is released (bounded wait: a hung worker still goes).
      const id = nextId++
      const disposed = new Promise<void>((resolve) => {
        pending.set(id, () => resolve())
        worker.postMessage({ id, channel: null, payload: null } satisfies WorkerRequest)
      })
      await Promise.race([disposed, new Promise((resolve) => setTimeout(resolve, CLOSE_TIMEOUT_MS))])
      closed = true
      failAll({ code: 'runtime-error', message: 'the engine has been closed' })
      await worker.terminate()
    },
  }
}
