/**
 * The engine side of the contract: one function a channel, implemented with the engine. Knows nothing of
 * who carries it (worker thread, Electron, browser host): requests come in as data, events go out via `emit`.
 */
import { randomUUID } from 'node:crypto'

import {
  type EngineChannel,
  type EventName,
  type Events,
  type FrameData,
  generationParameters,
  type ModelCard,
  type RequestOf,
  type ResponseOf,
  type Result,
  type Shape,
} from '../../src-preload/contract'
import { MODEL_FORMATS } from '../../src-shared/model'
import { stepStats } from '../engine/diagnostics'
import { EngineError, toErrorData } from '../engine/errors'
import { readStepwiseParameters } from '../engine/export/png'
import { encodeExport } from '../engine/export/runs'
import { previewForwardNoising } from '../engine/forward'
import { defaultModelPath } from '../engine/model/default-model'
import { type Denoiser, loadModel } from '../engine/model/load'
import { channelsOf, trainingOf } from '../engine/model/training'
import { modelFacts, planRun } from '../engine/plan'
import { runSampling } from '../engine/run'
import { makeSchedule } from '../engine/schedule'
import { finishTimeline, noiseOf, recordStep, startTimeline } from '../engine/timeline'
import { FRAME_MEMORY_BUDGET_BYTES, type HeldRun, RunStore } from './run-store'

export type Emit = <E extends EventName>(event: E, payload: Events[E], transfer?: ArrayBuffer[]) => void

export type Handlers = { [C in EngineChannel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> } & {
  /** Cancel every run and release the model. */
  dispose(): Promise<void>
}

/** A fresh ArrayBuffer holding exactly these values (a frame's arrays are reused or views of larger ones). */
const bufferOf = (x: Float32Array): ArrayBuffer => x.slice().buffer as ArrayBuffer

const bad = (message: string) => new EngineError('bad-argument', message)

/** One step as a frame event and a reopened timeline carry it: buffers of their own, and its diagnostics. */
function frameData(
  step: { index: number; timestep: number; alphaBar: number },
  arrays: { sample: Float32Array; predictedX0: Float32Array; predictedNoise: Float32Array },
  shape: Shape,
  clipRange: number,
): FrameData {
  return {
    ...step,
    sample: bufferOf(arrays.sample),
    predictedX0: bufferOf(arrays.predictedX0),
    predictedNoise: bufferOf(arrays.predictedNoise),
    stats: stepStats(arrays, shape, clipRange),
  }
}

function cardOf(model: Denoiser): ModelCard {
  const info = model.info
  const t = trainingOf(info)
  const channels = channelsOf(info)
  if (channels === undefined)
    throw new EngineError(
      'bad-metadata',
      `${info.path}: the graph leaves the channel count open and no metadata gives it; add "in_channels" to a sidecar .json beside it`,
    )
  return {
    name: info.name,
    path: info.path,
    onnxPath: info.onnxPath,
    layout: info.layout,
    sourceFormat: MODEL_FORMATS[info.source.format],
    parameters: info.source.parameters ?? null,
    facts: info.source.facts,
    notes: info.source.notes,
    channels,
    height: t.size.height,
    width: t.size.width,
    sizeFrom: t.size.from,
    classes: t.classes ? { names: t.classes.names, nullClassId: t.classes.nullClassId ?? null } : null,
    training: { schedule: t.schedule, predictionType: t.sampler.predictionType },
    samplerDefaults: t.sampler,
    metadataOrigin: info.metadata.origin,
    assumed: t.assumed,
    provider: info.provider,
    adapter: info.adapter ?? null,
    skippedProviders: info.skippedProviders,
  }
}

export function createHandlers(
  emit: Emit,
  options: { frameBudgetBytes?: number; /** Where graphs built from weights are cached. */ cacheDir?: string } = {},
): Handlers {
  let model: { denoiser: Denoiser; key: string } | undefined
  const runs = new Map<string, { controller: AbortController; finished: Promise<void> }>()
  /** Every run of the session, oldest first; frames past the memory budget spill to disk. */
  const store = new RunStore(options.frameBudgetBytes)
  const heldRun = async (id: string, what: string) => {
    const run = await store.get(id)
    if (!run) throw bad(`${what}: no run ${id} (deleted, or from an earlier session)`)
    return run
  }

  /** Stop every run (each at its next step) and wait until they have stopped. */
  const stopAll = async () => {
    const stopping = [...runs.values()]
    stopping.forEach((r) => r.controller.abort())
    await Promise.all(stopping.map((r) => r.finished))
  }

  return {
    async 'model.load'(req) {
      const path = req.path ?? defaultModelPath()
      const key = JSON.stringify([path, req.providers ?? null])
      if (model?.key === key) return cardOf(model.denoiser)
      const denoiser = await loadModel(path, { providers: req.providers, cacheDir: options.cacheDir })
      let card: ModelCard
      try {
        card = cardOf(denoiser)
      } catch (e) {
        await denoiser.release()
        throw e
      }
      // Runs on the old model stop at their next step; its session is released once they have.
      const old = model
      model = { denoiser, key }
      if (old)
        void stopAll()
          .then(() => old.denoiser.release())
          .catch(() => {})
      return card
    },

    async 'sample.start'(req) {
      if (!model) throw bad('sample.start: no model loaded (send model.load first)')
      const { denoiser, key: modelKey } = model
      const parent = req.fork && (await heldRun(req.fork.runId, 'sample.start: fork'))
      if (parent && parent.modelKey !== modelKey) throw bad('sample.start: fork: that run was made with another model')
      const { fork, fromImage, ...generation } = req
      const plan = planRun(
        modelFacts(denoiser.info),
        {
          ...generation,
          fork: fork && { step: fork.step },
          fromImage: fromImage && { image: new Float32Array(fromImage.image), timestep: fromImage.timestep },
        },
        parent,
      )
      const { shape, startStep } = plan
      const steps = plan.timesteps.length
      await store.checkRoom(
        shape,
        steps,
        `a run of ${steps} steps of ${shape.batch} ${shape.width}x${shape.height} image(s)`,
      )
      const runId = randomUUID()
      const controller = new AbortController()
      let settle!: () => void
      const finished = new Promise<void>((resolve) => (settle = resolve))
      runs.set(runId, { controller, finished })
      const timeline: HeldRun = { ...startTimeline(plan, parent), modelKey }
      store.add(runId, timeline, steps)
      const run = async () => {
        try {
          const result = await runSampling(denoiser, plan.run, {
            signal: controller.signal,
            onStep: (f) => {
              recordStep(timeline, f)
              store.recorded()
              const step = { index: startStep + f.index, timestep: f.timestep, alphaBar: f.alphaBar }
              const frame = frameData(step, f, shape, plan.run.sampler.clipSampleRange ?? 1)
              const transfer = [frame.sample, frame.predictedX0, frame.predictedNoise]
              emit('frame', { runId, total: startStep + f.total, ...frame }, transfer)
            },
            onProgress: (p) => emit('progress', { runId, ...p, step: startStep + p.step, total: startStep + p.total }),
          })
          finishTimeline(timeline, result.samples)
          await store.ended(runId)
          const samples = bufferOf(result.samples)
          emit('done', { runId, samples, elapsedMs: result.elapsedMs }, [samples])
        } catch (e) {
          // A cancelled or failed run keeps the steps it made: they count against the budget too.
          await store.ended(runId)
          emit('failed', { runId, error: toErrorData(e) })
        } finally {
          runs.delete(runId)
        }
      }
      // Start after the response has gone out, so a run's events never arrive before its runId.
      setImmediate(() => void run().then(settle))
      return {
        runId,
        timesteps: plan.timesteps,
        shape,
        startStep,
        parent: fork && { ...fork },
        parameters: plan.parameters,
      }
    },

    async 'sample.cancel'(req) {
      const controller = runs.get(req.runId)?.controller
      if (!controller || controller.signal.aborted) return { cancelled: false }
      controller.abort()
      return { cancelled: true }
    },

    async 'schedule.get'(req) {
      // Over the loaded model's training schedule: its own alphas_cumprod (custom), its sigmoid's shape.
      const t = model && trainingOf(model.denoiser.info)
      const s = makeSchedule(t ? { ...t.schedule, ...req } : req, t?.alphasCumprod)
      return { betas: Array.from(s.betas), alphasCumprod: Array.from(s.alphasCumprod) }
    },

    async 'export.encode'(req) {
      const ids = [req.runId, ...(req.with ?? [])]
      const found = await Promise.all(ids.map((id) => heldRun(id, 'export')))
      return {
        files: encodeExport(found, req).map((f) => ({ name: f.name, bytes: f.bytes.slice().buffer as ArrayBuffer })),
      }
    },

    async 'png.read'(req) {
      const found = readStepwiseParameters(new Uint8Array(req.bytes), req.name)
      if (found === undefined) throw new EngineError('bad-png', `${req.name}: this PNG holds no Stepwise parameters`)
      const parsed = generationParameters.safeParse(found)
      if (!parsed.success)
        throw new EngineError(
          'bad-png',
          `${req.name}: its Stepwise parameters are damaged (${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message})`,
        )
      return parsed.data
    },

    async 'noise.preview'(req) {
      if (!model) throw bad('noise.preview: no model loaded (send model.load first)')
      const file = { bytes: new Uint8Array(req.image.bytes), name: req.image.name }
      const { image, rows } = previewForwardNoising(file, modelFacts(model.denoiser.info), req)
      return {
        channels: image.channels,
        height: image.height,
        width: image.width,
        image: bufferOf(image.data),
        rows: rows.map((r) => ({
          schedule: r.schedule,
          frames: r.frames.map((n) => ({ ...n, sample: bufferOf(n.sample) })),
        })),
      }
    },

    async 'runs.list'() {
      return {
        runs: store.list(),
        memoryBytes: store.memoryBytes(),
        budgetBytes: options.frameBudgetBytes ?? FRAME_MEMORY_BUDGET_BYTES,
      }
    },

    async 'runs.frames'(req) {
      const run = await heldRun(req.runId, 'runs.frames')
      const clipRange = run.parameters.sampler.clipSampleRange ?? 1
      const frames = run.frames.map((f, index) => {
        const alphaBar = run.alphaBars[index]
        const step = { index, timestep: run.timesteps[index], alphaBar }
        return frameData(step, { ...f, predictedNoise: noiseOf(f, alphaBar) }, run.shape, clipRange)
      })
      return {
        runId: req.runId,
        parameters: run.parameters,
        shape: run.shape,
        timesteps: run.timesteps,
        frames,
        samples: run.samples ? bufferOf(run.samples) : null,
      }
    },

    async 'runs.delete'(req) {
      if (runs.has(req.runId)) throw bad(`runs.delete: run ${req.runId} is still sampling (cancel it first)`)
      return { deleted: await store.delete(req.runId) }
    },

    async dispose() {
      const old = model
      model = undefined
      await stopAll()
      store.dispose()
      await old?.denoiser.release().catch(() => {})
    },
  }
}

/**
 * Run the handler of a request the shell has already checked against the contract, and answer as data
 * whatever happens.
 */
export async function dispatch(handlers: Handlers, channel: EngineChannel, request: unknown): Promise<Result<unknown>> {
  try {
    const handler = handlers[channel] as (request: unknown) => Promise<unknown>
    return { ok: true, value: await handler(request) }
  } catch (e) {
    return { ok: false, error: toErrorData(e) }
  }
}
