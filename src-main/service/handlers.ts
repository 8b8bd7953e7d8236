/**
 * The engine side of the contract: one function a channel, implemented with the engine. Knows nothing of
 * who carries it (worker thread, Electron, browser host): requests come in as data, events go out via `emit`.
 */
import { randomUUID } from 'node:crypto'
import {
  type EngineChannel, type EventName, type Events, type ExportRequest, type ModelCard, type RequestOf, type ResponseOf, type Result,
  generationParameters, isEngineChannel, parseRequest,
} from '../../src-preload/contract'
import { EngineError, toErrorData } from '../engine/errors'
import { encodeGif, selectFrames } from '../engine/export/gif'
import { encodePng, readStepwiseParameters } from '../engine/export/png'
import { contactSheet, encodeSheetPng } from '../engine/export/sheet'
import { tileBatch } from '../engine/export/tile'
import { type GenerationParameters, summarize } from '../engine/parameters'
import { type PlanarImage, type Shape4, imageOf } from '../engine/tensor'
import { defaultModelPath } from '../engine/model/default-model'
import { type Denoiser, loadModel } from '../engine/model/load'
import { classLabelProblem, trainingOf } from '../engine/model/training'
import { runSampling } from '../engine/run'
import { samplerWith } from '../engine/samplers/config'
import { makeSampler } from '../engine/samplers/sampler'
import { makeSchedule, type ScheduleConfig } from '../engine/schedule'

export type Emit = <E extends EventName>(event: E, payload: Events[E], transfer?: ArrayBuffer[]) => void

export type Handlers = { [C in EngineChannel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> } & {
  /** Cancel every run and release the model. */
  dispose(): Promise<void>
}

/** A fresh ArrayBuffer holding exactly these values (a frame's arrays are reused or views of larger ones). */
const bufferOf = (x: Float32Array): ArrayBuffer => x.slice().buffer as ArrayBuffer

const bad = (message: string) => new EngineError('bad-argument', message)

/**
 * The engine keeps the frames of finished runs for exporting, up to this many bytes; the oldest runs go
 * first. (Spilling old timelines to disk instead is the history issue's.)
 */
export const HELD_RUNS_BUDGET_BYTES = 512 * 1024 * 1024

/** A run the engine holds: its parameters (image k has seed + k) and its timeline. */
interface HeldRun {
  parameters: GenerationParameters
  shape: Shape4
  /** x_t entering each step and the predicted x0 of each step. */
  frames: { sample: Float32Array; predictedX0: Float32Array }[]
  samples?: Float32Array
  bytes: number
}

/** The files one export request makes, named after the seeds. */
function encodeExport(run: HeldRun, req: ExportRequest): { name: string; bytes: Uint8Array }[] {
  const { parameters: p, shape, samples } = run
  if (!samples) throw bad(`export: run ${req.runId} has not finished (cancelled or still sampling)`)
  if (req.index !== undefined && req.index >= shape.batch) throw bad(`export: index ${req.index} is outside the batch of ${shape.batch}`)
  const paramsOf = (k: number): GenerationParameters => ({ ...p, seed: p.seed + k })
  const meta = (q: GenerationParameters & { batch?: number }) => ({ parameters: summarize(q), stepwise: q })
  const indices = req.index === undefined ? Array.from({ length: shape.batch }, (_, k) => k) : [req.index]
  switch (req.kind) {
    case 'png':
      return indices.map((k) => ({ name: `seed-${p.seed + k}.png`, bytes: encodePng(imageOf(samples, shape, k), meta(paramsOf(k))) }))
    case 'sheet': {
      const images = indices.map((k) => imageOf(samples, shape, k))
      const sheet = contactSheet(images, { scale: Math.max(1, Math.ceil(96 / shape.width)) })
      return [{ name: `sheet-seed-${p.seed}.png`, bytes: encodeSheetPng(sheet, meta({ ...p, batch: shape.batch })) }]
    }
    case 'gif': {
      const views = run.frames.map((f) => (req.gifOf === 'x0' ? f.predictedX0 : f.sample))
      // The final sample closes the animation (held by encodeGif).
      const picked = selectFrames([...views, samples], { count: req.gifFrames })
      const image = (x: Float32Array): PlanarImage => (req.index === undefined ? tileBatch(x, shape) : imageOf(x, shape, req.index))
      const what = req.gifOf === 'x0' ? 'x0' : 'xt'
      const name = req.index === undefined ? `denoising-${what}-seed-${p.seed}-batch.gif` : `denoising-${what}-seed-${p.seed + req.index}.gif`
      return [{ name, bytes: encodeGif(picked.map(image), { delayMs: req.gifDelayMs }) }]
    }
  }
}

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
  /** Finished and running runs, oldest first (a Map keeps insertion order). */
  const held = new Map<string, HeldRun>()
  const keepWithinBudget = () => {
    let total = [...held.values()].reduce((sum, r) => sum + r.bytes, 0)
    for (const [id, r] of held) {
      if (total <= HELD_RUNS_BUDGET_BYTES || held.size === 1) break
      if (runs.has(id)) continue
      held.delete(id)
      total -= r.bytes
    }
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
      const keep: HeldRun = {
        parameters: { model: name, sampler, schedule: scheduleConfig, seed: req.seed, height: shape.height, width: shape.width, classLabel: req.classLabel, guidance: req.guidance },
        shape, frames: [], bytes: 0,
      }
      held.set(runId, keep)
      const run = async () => {
        try {
          const result = await runSampling(denoiser, {
            sampler, schedule, seed: req.seed, batch: req.batch, height: shape.height, width: shape.width,
            classLabel: req.classLabel, guidance: req.guidance, nullClassId: t.classes?.nullClassId,
          }, {
            signal: controller.signal,
            onStep: (f) => {
              keep.frames.push({ sample: f.sample.slice(), predictedX0: f.predictedX0.slice() })
              keep.bytes += 8 * f.sample.length
              const sample = bufferOf(f.sample), predictedX0 = bufferOf(f.predictedX0), predictedNoise = bufferOf(f.predictedNoise)
              emit('frame', { runId, index: f.index, total: f.total, timestep: f.timestep, alphaBar: f.alphaBar, sample, predictedX0, predictedNoise },
                [sample, predictedX0, predictedNoise])
            },
            onProgress: (p) => emit('progress', { runId, ...p }),
          })
          keep.samples = result.samples.slice()
          keep.bytes += 4 * result.samples.length
          keepWithinBudget()
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

    async 'export.encode'(req) {
      const run = held.get(req.runId)
      if (!run) throw bad(`export: no run ${req.runId} (finished runs are kept up to ${HELD_RUNS_BUDGET_BYTES / 2 ** 20} MiB, oldest dropped first)`)
      return { files: encodeExport(run, req).map((f) => ({ name: f.name, bytes: f.bytes.slice().buffer as ArrayBuffer })) }
    },

    async 'png.read'(req) {
      const found = readStepwiseParameters(new Uint8Array(req.bytes), req.name)
      if (found === undefined) throw new EngineError('bad-png', `${req.name}: this PNG holds no Stepwise parameters`)
      const parsed = generationParameters.safeParse(found)
      if (!parsed.success) throw new EngineError('bad-png', `${req.name}: its Stepwise parameters are damaged (${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message})`)
      return parsed.data
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
  if (!isEngineChannel(channel)) return { ok: false, error: { code: 'bad-argument', message: `"${channel}" is not a channel of the engine` } }
  const parsed = parseRequest(channel, payload)
  if (!parsed.ok) return parsed
  try {
    const handler = handlers[channel] as (request: unknown) => Promise<unknown>
    return { ok: true, value: await handler(parsed.value) }
  } catch (e) {
    return { ok: false, error: toErrorData(e) }
  }
}
