/**
 * The engine side of the contract: one function a channel, implemented with the engine. Knows nothing of
 * who carries it (worker thread, Electron, browser host): requests come in as data, events go out via `emit`.
 */
import { randomUUID } from 'node:crypto'

import {
  type EngineChannel,
  type EventName,
  type Events,
  generationParameters,
  isEngineChannel,
  type ModelCard,
  parseRequest,
  type RequestOf,
  type ResponseOf,
  type Result,
} from '../../src-preload/contract'
import { stepStats } from '../engine/diagnostics'
import { EngineError, toErrorData } from '../engine/errors'
import { readStepwiseParameters } from '../engine/export/png'
import { noiseImage, previewNoise, startFromImage } from '../engine/forward'
import { imageForModel } from '../engine/image-input'
import { defaultModelPath } from '../engine/model/default-model'
import { type Denoiser, loadModel } from '../engine/model/load'
import { classLabelProblem, trainingOf } from '../engine/model/training'
import type { GenerationParameters } from '../engine/parameters'
import { forkPoint, type RunStart } from '../engine/run'
import { runSampling } from '../engine/run'
import { samplerWith } from '../engine/samplers/config'
import { makeSampler } from '../engine/samplers/sampler'
import { SCHEDULES } from '../engine/schedule'
import { makeSchedule, type ScheduleConfig } from '../engine/schedule'
import { imageSize } from '../engine/tensor'
import { encodeExport, type HeldRun } from './run-exports'
import { FRAME_MEMORY_BUDGET_BYTES, RunStore } from './run-store'

export type Emit = <E extends EventName>(event: E, payload: Events[E], transfer?: ArrayBuffer[]) => void

export type Handlers = { [C in EngineChannel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> } & {
  /** Cancel every run and release the model. */
  dispose(): Promise<void>
}

/** A fresh ArrayBuffer holding exactly these values (a frame's arrays are reused or views of larger ones). */
const bufferOf = (x: Float32Array): ArrayBuffer => x.slice().buffer as ArrayBuffer

const bad = (message: string) => new EngineError('bad-argument', message)

/** The schedules a forward-noising preview shows by default (scaled_linear is quadratic's diffusers name). */
const PREVIEW_SCHEDULES = SCHEDULES.filter((s) => s !== 'scaled_linear')

function cardOf(model: Denoiser): ModelCard {
  const info = model.info
  const t = trainingOf(info)
  return {
    name: info.name,
    path: info.path,
    onnxPath: info.onnxPath,
    layout: info.layout,
    channels: info.signature.channels,
    height: t.size.height,
    width: t.size.width,
    sizeFrom: t.size.from,
    classes: t.classes ? { names: t.classes.names, nullClassId: t.classes.nullClassId ?? null } : null,
    training: { schedule: t.schedule, predictionType: t.sampler.predictionType },
    samplerDefaults: t.sampler,
    metadataOrigin: info.metadata.origin,
    assumed: t.assumed,
    provider: info.provider,
    skippedProviders: info.skippedProviders,
  }
}

export function createHandlers(emit: Emit, options: { frameBudgetBytes?: number } = {}): Handlers {
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
      if (old)
        void stopAll()
          .then(() => old.denoiser.release())
          .catch(() => {})
      return card
    },

    async 'sample.start'(req) {
      if (!model) throw bad('sample.start: no model loaded (send model.load first)')
      const denoiser = model.denoiser
      const modelKey = model.key
      const t = trainingOf(denoiser.info)
      const name = denoiser.info.name
      if (req.fork && req.fromImage) throw bad('sample.start: fork and fromImage cannot be combined')
      const parent = req.fork && (await heldRun(req.fork.runId, 'sample.start: fork'))
      if (parent && parent.modelKey !== modelKey) throw bad('sample.start: fork: that run was made with another model')
      const sampler = samplerWith(t.sampler, req.sampler)
      const scheduleConfig: ScheduleConfig = { ...t.schedule, ...req.schedule }
      // A fork keeps its parent's seed, batch, size and class: it continues those images.
      const seed = parent?.parameters.seed ?? req.seed
      const classLabel = parent ? parent.parameters.classLabel : req.classLabel
      const shape = parent?.shape ?? {
        batch: req.batch,
        channels: denoiser.info.signature.channels,
        height: req.height ?? t.size.height,
        width: req.width ?? t.size.width,
      }
      const classProblem = classLabel === undefined ? undefined : classLabelProblem(t, classLabel, name)
      if (classProblem) throw bad(`sample.start: classLabel: ${classProblem}`)
      const schedule = makeSchedule(scheduleConfig)
      const per = imageSize(shape)

      let start: RunStart | undefined
      let startStep = 0
      const parameters: GenerationParameters = {
        model: name,
        sampler,
        schedule: scheduleConfig,
        seed,
        height: shape.height,
        width: shape.width,
        classLabel,
        guidance: req.guidance,
      }
      if (parent && req.fork) {
        const step = req.fork.step
        if (step >= parent.frames.length)
          throw bad(`sample.start: fork: step ${step} is beyond the ${parent.frames.length} steps that run has`)
        start = {
          ...forkPoint(
            { sampler: parent.parameters.sampler, schedule: makeSchedule(parent.parameters.schedule) },
            step,
          ),
          sample: parent.frames[step].sample,
        }
        startStep = step
        parameters.forkedFrom = { step, parameters: parent.parameters }
      } else if (req.fromImage) {
        const image = new Float32Array(req.fromImage.image)
        if (image.length !== per)
          throw bad(
            `sample.start: fromImage: the image has ${image.length} values; ${shape.channels}x${shape.height}x${shape.width} needs ${per}`,
          )
        start = startFromImage(image, { batch: shape.batch, seed, timestep: req.fromImage.timestep, schedule })
        parameters.fromImageAt = req.fromImage.timestep
      }
      // The sampler refuses impossible settings (more steps than train steps...) here, as a response, not an event.
      const own = makeSampler(sampler, schedule, { startAt: start?.timestep }).timesteps
      const timesteps = parent ? [...parent.timesteps.slice(0, startStep), ...own] : own
      const runId = randomUUID()
      const controller = new AbortController()
      let settle!: () => void
      const finished = new Promise<void>((resolve) => (settle = resolve))
      runs.set(runId, { controller, finished })
      // A fork's timeline begins with its parent's steps (shared, not copied).
      const keep: HeldRun = {
        parameters,
        shape,
        frames: parent ? parent.frames.slice(0, startStep) : [],
        bytes: 0,
        modelKey,
        timesteps,
        alphaBars: parent ? parent.alphaBars.slice(0, startStep) : [],
      }
      store.add(runId, keep)
      const run = async () => {
        try {
          const result = await runSampling(
            denoiser,
            {
              sampler,
              schedule,
              seed,
              batch: shape.batch,
              height: shape.height,
              width: shape.width,
              classLabel,
              guidance: req.guidance,
              nullClassId: t.classes?.nullClassId,
              start,
            },
            {
              signal: controller.signal,
              onStep: (f) => {
                keep.frames.push({ sample: f.sample.slice(), predictedX0: f.predictedX0.slice() })
                keep.alphaBars.push(f.alphaBar)
                keep.bytes += 8 * f.sample.length
                const stats = stepStats(f, shape, sampler.clipSampleRange)
                const sample = bufferOf(f.sample),
                  predictedX0 = bufferOf(f.predictedX0),
                  predictedNoise = bufferOf(f.predictedNoise)
                emit(
                  'frame',
                  {
                    runId,
                    index: startStep + f.index,
                    total: startStep + f.total,
                    timestep: f.timestep,
                    alphaBar: f.alphaBar,
                    sample,
                    predictedX0,
                    predictedNoise,
                    stats,
                  },
                  [sample, predictedX0, predictedNoise],
                )
              },
              onProgress: (p) =>
                emit('progress', { runId, ...p, step: startStep + p.step, total: startStep + p.total }),
            },
          )
          keep.samples = result.samples.slice()
          keep.bytes += 4 * result.samples.length
          await store.keepWithinBudget()
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
      return { runId, timesteps, shape, startStep, parent: req.fork && { ...req.fork }, parameters }
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
      const t = trainingOf(model.denoiser.info)
      const size = { channels: model.denoiser.info.signature.channels, height: t.size.height, width: t.size.width }
      const x0 = imageForModel(new Uint8Array(req.image.bytes), req.image.name, size).data
      const noise = previewNoise(x0.length, req.seed)
      const names = req.schedules ?? PREVIEW_SCHEDULES
      return {
        ...size,
        image: bufferOf(x0),
        rows: names.map((schedule) => ({
          schedule,
          frames: noiseImage(x0, noise, makeSchedule({ ...t.schedule, schedule }), req.timesteps).map((n) => ({
            timestep: n.timestep,
            alphaBar: n.alphaBar,
            snr: n.snr,
            sample: bufferOf(n.sample),
          })),
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
      const frames = run.frames.map((f, i) => {
        const alphaBar = run.alphaBars[i]
        // The noise the model predicted follows from x_t and its (unclipped) x0: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps.
        const noise = f.sample.map((x, j) => (x - Math.sqrt(alphaBar) * f.predictedX0[j]) / Math.sqrt(1 - alphaBar))
        return {
          index: i,
          timestep: run.timesteps[i],
          alphaBar,
          sample: bufferOf(f.sample),
          predictedX0: bufferOf(f.predictedX0),
          predictedNoise: bufferOf(noise),
          stats: stepStats({ ...f, predictedNoise: noise }, run.shape, run.parameters.sampler.clipSampleRange),
        }
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

/** Check a payload against its channel's schema, run the handler, and answer as data whatever happens. */
export async function dispatch(handlers: Handlers, channel: string, payload: unknown): Promise<Result<unknown>> {
  if (!isEngineChannel(channel))
    return { ok: false, error: { code: 'bad-argument', message: `"${channel}" is not a channel of the engine` } }
  const parsed = parseRequest(channel, payload)
  if (!parsed.ok) return parsed
  try {
    const handler = handlers[channel] as (request: unknown) => Promise<unknown>
    return { ok: true, value: await handler(parsed.value) }
  } catch (e) {
    return { ok: false, error: toErrorData(e) }
  }
}
