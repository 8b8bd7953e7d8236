/**
 * The engine side of the contract: one function a channel, implemented with the engine. Knows nothing of
 * who carries it (worker thread, Electron, browser host): requests come in as data, events go out via `emit`.
 */
import { randomUUID } from 'node:crypto'
import {
  type Channel, type EventName, type Events, type ModelCard, type RequestOf, type ResponseOf, type Result, parseRequest,
} from '../../src-preload/contract'
import { EngineError, toErrorData } from '../engine/errors'
import { defaultModelPath } from '../engine/model/default-model'
import { type Denoiser, loadModel } from '../engine/model/load'
import { classLabelProblem, trainingOf } from '../engine/model/training'
import { runSampling } from '../engine/run'
import { samplerWith } from '../engine/samplers/config'
import { makeSampler } from '../engine/samplers/sampler'
import { makeSchedule, type ScheduleConfig } from '../engine/schedule'

export type Emit = <E extends EventName>(event: E, payload: Events[E], transfer?: ArrayBuffer[]) => void

export type Handlers = { [C in Channel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> } & {
  /** Cancel every run and release the model. */
  dispose(): Promise<void>
}

/** A fresh ArrayBuffer holding exactly these values (a frame's arrays are reused or views of larger ones). */
const bufferOf = (x: Float32Array): ArrayBuffer => x.slice().buffer as ArrayBuffer

const bad = (message: string) => new EngineError('bad-argument', message)

function cardOf(model: Denoiser): ModelCard {
  const info = model.info
  const t = trainingOf(info)
  return {
    name: info.name, path: info.path, onnxPath: info.onnxPath, layout: info.layout,
    channels: info.signature.channels, height: t.size.height, width: t.size.width, sizeFrom: t.size.from,
    classes: t.classes ? { names: t.classes.names, nullClassId: t.classes.nullClassId ?? null } : null,
    training: { schedule: t.schedule, predictionType: t.sampler.predictionType },
    samplerDefaults: t.sampler,
    metadataOrigin: info.metadata.origin, assumed: t.assumed,
    provider: info.provider, skippedProviders: info.skippedProviders,
  }
}

export function createHandlers(emit: Emit): Handlers {
  let model: { denoiser: Denoiser; key: string } | undefined
  const runs = new Map<string, { controller: AbortController; finished: Promise<void> }>()

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
      const denoiser = await loadModel(path, { providers: req.providers })
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
      if (old) void stopAll().then(() => old.denoiser.release()).catch(() => {})
      return card
    },

    async 'sample.start'(req) {
      if (!model) throw bad('sample.start: no model loaded (send model.load first)')
      const denoiser = model.denoiser
      const t = trainingOf(denoiser.info)
      const name = denoiser.info.name
      const sampler = samplerWith(t.sampler, req.sampler)
      const scheduleConfig: ScheduleConfig = { ...t.schedule, ...req.schedule }
      const classProblem = req.classLabel === undefined ? undefined : classLabelProblem(t, req.classLabel, name)
      if (classProblem) throw bad(`sample.start: classLabel: ${classProblem}`)
      const schedule = makeSchedule(scheduleConfig)
      // The sampler refuses impossible settings (more steps than train steps...) here, as a response, not an event.
      const timesteps = makeSampler(sampler, schedule).timesteps
      const shape = { batch: req.batch, channels: denoiser.info.signature.channels, height: req.height ?? t.size.height, width: req.width ?? t.size.width }
      const runId = randomUUID()
      const controller = new AbortController()
      let settle!: () => void
      const finished = new Promise<void>((resolve) => (settle = resolve))
      runs.set(runId, { controller, finished })
      const run = async () => {
        try {
          const result = await runSampling(denoiser, {
            sampler, schedule, seed: req.seed, batch: req.batch, height: shape.height, width: shape.width,
            classLabel: req.classLabel, guidance: req.guidance, nullClassId: t.classes?.nullClassId,
          }, {
            signal: controller.signal,
            onStep: (f) => {
              const sample = bufferOf(f.sample), predictedX0 = bufferOf(f.predictedX0), predictedNoise = bufferOf(f.predictedNoise)
              emit('frame', { runId, index: f.index, total: f.total, timestep: f.timestep, alphaBar: f.alphaBar, sample, predictedX0, predictedNoise },
                [sample, predictedX0, predictedNoise])
            },
            onProgress: (p) => emit('progress', { runId, ...p }),
          })
          const samples = bufferOf(result.samples)
          emit('done', { runId, samples, elapsedMs: result.elapsedMs }, [samples])
        } catch (e) {
          emit('failed', { runId, error: toErrorData(e) })
        } finally {
          runs.delete(runId)
        }
      }
      // Start after the response has gone out, so a run's events never arrive before its runId.
      setImmediate(() => void run().then(settle))
      return { runId, timesteps, shape }
    },

    async 'sample.cancel'(req) {
      const controller = runs.get(req.runId)?.controller
      if (!controller || controller.signal.aborted) return { cancelled: false }
      controller.abort()
      return { cancelled: true }
    },

    async 'schedule.get'(req) {
      const s = makeSchedule(req)
      return { betas: Array.from(s.betas), alphasCumprod: Array.from(s.alphasCumprod) }
    },

    async dispose() {
      const old = model
      model = undefined
      await stopAll()
      await old?.denoiser.release().catch(() => {})
    },
  }
}

/** Check a payload against its channel's schema, run the handler, and answer as data whatever happens. */
export async function dispatch(handlers: Handlers, channel: string, payload: unknown): Promise<Result<unknown>> {
  const parsed = parseRequest(channel, payload)
  if (!parsed.ok) return parsed
  try {
    const handler = handlers[channel as Channel] as (request: unknown) => Promise<unknown>
    return { ok: true, value: await handler(parsed.value) }
  } catch (e) {
    return { ok: false, error: toErrorData(e) }
  }
}
