/**
 * The engine in a worker thread: onnxruntime's session.run blocks the thread it runs on, so sampling lives
 * here and the main thread stays free. Requests arrive as {id, channel, payload} and are answered as
 * {id, result}; events go out as {event, payload} with their float32 buffers transferred, not copied.
 */
import { parentPort, workerData } from 'node:worker_threads'

import { useProbeRunner } from '../engine/model/providers'
import type { ChildOutput } from '../engine/model/webgpu-probe'
import { createHandlers, dispatch } from './handlers'
import type { WorkerData, WorkerMessage, WorkerRequest } from './messages'

const port = parentPort
if (!port) throw new Error('engine-worker.ts runs inside a worker thread (see engine-client.ts)')

const post = (message: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer)

const { cacheDir, historyDir } = (workerData ?? {}) as WorkerData
const handlers = createHandlers((event, payload, transfer) => post({ event, payload } as WorkerMessage, transfer), {
  cacheDir,
  historyDir,
  log: (line) => console.warn(line),
})

/** The client starts the WebGPU probe's child process when it says so (see ProbeAsk). */
const probes = new Map<number, (output: ChildOutput) => void>()
if ((workerData as { probeThroughClient?: boolean } | undefined)?.probeThroughClient) {
  let next = 1
  useProbeRunner(
    (script, env) =>
      new Promise((resolve) => {
        const probe = next++
        probes.set(probe, resolve)
        post({ probe, script, env })
      }),
  )
}

port.on('message', (message: WorkerRequest) => {
  if ('probe' in message) {
    probes.get(message.probe)?.(message.output)
    probes.delete(message.probe)
    return
  }
  // Terminating a worker inside onnxruntime's session.run aborts the whole process: the client asks for
  // this first, so runs stop between steps and the session is released before the thread goes.
  if (message.channel === null) {
    void handlers.dispose().then(() => post({ id: message.id, result: { ok: true, value: null } }))
    return
  }
  void dispatch(handlers, message.channel, message.payload).then((result) => post({ id: message.id, result }))
})
