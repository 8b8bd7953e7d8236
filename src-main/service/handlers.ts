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
  type ModelCard,
  type RequestOf,
  type ResponseOf,
  type Result,
  type RunList,
  type StepPixels,
  type StepRecord,
} from '../../src-preload/contract'
import { LIVE_UPDATE_MS, LIVE_UPDATE_SHARED_CPU_MS } from '../../src-shared/limits'
import { sourceLabel } from '../../src-shared/model'
import { stepStats } from '../engine/diagnostics'
import { EngineError, toErrorData } from '../engine/errors'
import { readStepwiseParameters } from '../engine/export/png'
import { encodeExport } from '../engine/export/runs'
import { previewForwardNoising } from '../engine/forward'
import { defaultModelPath } from '../engine/model/default-model'
import { type Denoiser, loadModel, type ModelInfo } from '../engine/model/load'
import { channelsOf, describedSchedule, trainingOf } from '../engine/model/training'
import { modelFacts, planRun } from '../engine/plan'
import { runSampling } from '../engine/run'
import { makeSchedule } from '../engine/schedule'
import { finishTimeline, recordStep, startTimeline } from '../engine/timeline'
import { createFitRunner } from './fit-runner'
import { FRAME_MEMORY_BUDGET_BYTES, type HeldRun, RunStore } from './run-store'

export type Emit = <E extends EventName>(event: E, payload: Events[E], transfer?: ArrayBuffer[]) => void

export type Handlers = { [C in EngineChannel]: (request: RequestOf<C>) => Promise<ResponseOf<C>> } & {
  /** Cancel every run and release the model. */
  dispose(): Promise<void>
}

/** A fresh ArrayBuffer holding exactly these values (a frame's arrays are reused or views of larger ones). */
const bufferOf = (x: Float32Array): ArrayBuffer => x.slice().buffer as ArrayBuffer

const bad = (message: string) => new EngineError('bad-argument', message)

/** One step as every frame event carries it: where it stands and its diagnostics. */
const recordOf = (index: number, run: Pick<HeldRun, 'timesteps' | 'alphaBars' | 'stats'>): StepRecord => ({
  index,
  timestep: run.timesteps[index],
  alphaBar: run.alphaBars[index],
  stats: run.stats[index],
})

/** One step's images as buffers of their own (a frame's arrays are reused or views of larger ones). */
const pixelsOf = (arrays: { sample: Float32Array; predictedX0: Float32Array }): StepPixels => ({
  sample: bufferOf(arrays.sample),
  predictedX0: bufferOf(arrays.predictedX0),
})

/**
 * Whether to send a step's images: at most once an `intervalMs` (the newest step when it comes), and always
 * the first and the last step.
 */
function pixelPacer(intervalMs: number): (index: number, total: number) => boolean {
  let last = -Infinity
  return (index, total) => {
    const now = performance.now()
    if (index > 0 && index < total - 1 && now - last < intervalMs) return false
    last = now
    return true
  }
}

/** How often a run's images go to the page: less often where the model computes on the page's processor. */
export const liveImagesMs = (info: Pick<ModelInfo, 'provider' | 'adapter'>): number =>
  info.provider === 'cpu' || info.adapter?.software ? LIVE_UPDATE_SHARED_CPU_MS : LIVE_UPDATE_MS

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
    hash: info.hash ?? null,
    weights: info.weights ?? null,
    path: info.path,
    onnxPath: info.onnxPath,
    layout: info.layout,
    sourceFormat: sourceLabel(info.source),
    parameters: info.source.parameters ?? null,
    facts: info.source.facts,
    notes: info.source.notes,
    channels,
    height: t.size.height,
    width: t.size.width,
    sizeFrom: t.size.from,
    sizeMultiple: info.signature.sizeMultiple ?? null,
    classes: t.classes ? { names: t.classes.names, nullClassId: t.classes.nullClassId ?? null } : null,
    training: {
      schedule: t.schedule,
      described: describedSchedule(info, t) ?? null,
      predictionType: t.sampler.predictionType,
    },
    samplerDefaults: t.sampler,
    guidanceDefaults: t.guidance ?? null,
    samplerOptions: t.samplerOptions,
    metadataOrigin: info.metadata.origin,
    assumed: t.assumed,
    provider: info.provider,
    adapter: info.adapter ?? null,
    skippedProviders: info.skippedProviders,
  }
}

export function createHandlers(
  emit: Emit,
  options: {
    frameBudgetBytes?: number
    /** Where graphs built from weights are cached. */
    cacheDir?: string
    /** The history folder (runs kept across sessions); a temporary folder when absent. */
    historyDir?: string
    log?: (line: string) => void
  } = {},
): Handlers {
  let model: { denoiser: Denoiser; key: string } | undefined
  const runs = new Map<string, { controller: AbortController; finished: Promise<void> }>()
  const fits = createFitRunner(emit)
  /** Every run, oldest first: frames past the memory budget, and every stopped run, on disk. */
  const store = new RunStore({
    memoryBudgetBytes: options.frameBudgetBytes,
    dir: options.historyDir,
    log: options.log,
  })
  const heldRun = async (id: string, what: string) => {
    const run = await store.get(id)
    if (!run) throw bad(`${what}: no run ${id} (deleted?)`)
    return run
  }
  const runList = (): RunList => ({
    runs: store.list(),
    memoryBytes: store.memoryBytes(),
    budgetBytes: options.frameBudgetBytes ?? FRAME_MEMORY_BUDGET_BYTES,
    diskBytes: store.disk().bytes,
    diskBudgetBytes: store.disk().budgetBytes,
    persistent: store.persistent,
  })

  /** Stop every run (each at its next step) and the fit, and wait until they have stopped. */
  const stopAll = async () => {
    const stopping = [...runs.values()]
    stopping.forEach((r) => r.controller.abort())
    await Promise.all([...stopping.map((r) => r.finished), fits.stop()])
  }

  return {
    async 'model.load'(req) {
      const path = req.path ?? defaultModelPath()
      const key = JSON.stringify([path, req.providers ?? null, req.weights ?? null])
      if (model?.key === key) return cardOf(model.denoiser)
      const denoiser = await loadModel(path, {
        providers: req.providers,
        cacheDir: options.cacheDir,
        weights: req.weights,
      })
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
      if (parent && parent.forkPoints.length < parent.frames.length)
        throw bad(
          `sample.start: fork: run ${req.fork!.runId} comes from an earlier session and its sampler's state at each ` +
            "step (a multistep sampler's history, a self-conditioned model's x0 or APG's momentum) was not kept; " +
            'fork a run of this session (or sample it again)',
        )
      const { fork, fromImage, group, ...generation } = req
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
      const timeline: HeldRun = {
        ...startTimeline(plan, parent),
        modelKey,
        stats: parent ? parent.stats.slice(0, startStep) : [],
      }
      const number = store.add(runId, timeline, steps, { parent: fork && { ...fork }, group })
      const clipRange = plan.run.sampler.clipSampleRange ?? 1
      const sendPixels = pixelPacer(liveImagesMs(denoiser.info))
      const run = async () => {
        try {
          const result = await runSampling(denoiser, plan.run, {
            signal: controller.signal,
            onStep: (f) => {
              recordStep(timeline, f)
              timeline.stats.push(stepStats(f, shape, clipRange))
              store.recorded()
              const index = startStep + f.index
              const total = startStep + f.total
              const pixels = sendPixels(f.index, f.total) ? pixelsOf(f) : undefined
              const transfer = pixels ? [pixels.sample, pixels.predictedX0] : []
              emit('frame', { runId, total, ...recordOf(index, timeline), ...(pixels && { pixels }) }, transfer)
            },
            onProgress: (p) => emit('progress', { runId, ...p, step: startStep + p.step, total: startStep + p.total }),
          })
          finishTimeline(timeline, result.samples)
          const samples = bufferOf(result.samples)
          emit('done', { runId, samples, elapsedMs: result.elapsedMs }, [samples])
          await store.ended(runId, 'done')
        } catch (e) {
          // A cancelled or failed run keeps the steps it made.
          const error = toErrorData(e)
          emit('failed', { runId, error })
          await store.ended(runId, error.code === 'cancelled' ? 'cancelled' : 'failed')
        } finally {
          runs.delete(runId)
        }
      }
      // Start after the response has gone out, so a run's events never arrive before its runId.
      setImmediate(() => void run().then(settle))
      return {
        runId,
        number,
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
      return runList()
    },

    async 'runs.frames'(req) {
      const records = await store.records(req.runId)
      const summary = store.list().find((r) => r.runId === req.runId)
      if (!records || !summary) throw bad(`runs.frames: no run ${req.runId} (deleted?)`)
      const samples = await store.samples(req.runId)
      return {
        runId: req.runId,
        parameters: summary.parameters,
        shape: summary.shape,
        timesteps: records.timesteps,
        frames: records.stats.slice(0, summary.steps).map((_, i) => recordOf(i, records)),
        samples: samples ? bufferOf(samples) : null,
        timeline: summary.timeline,
      }
    },

    async 'runs.steps'(req) {
      const steps = await store.steps(req.runId, req.steps, req.image)
      return {
        steps: steps.map((f) => ({ index: f.index, alphaBar: f.alphaBar, ...pixelsOf(f) })),
      }
    },

    async 'runs.pixel'(req) {
      return store.pixel(req.runId, req.image, req.x, req.y, req.from)
    },

    async 'runs.delete'(req) {
      if (runs.has(req.runId)) throw bad(`runs.delete: run ${req.runId} is still sampling (cancel it first)`)
      return { deleted: await store.delete(req.runId) }
    },

    async 'runs.thumbnails'(req) {
      const found = await Promise.all(req.runIds.map(async (runId) => ({ runId, t: await store.thumbnail(runId) })))
      return {
        thumbnails: found.flatMap(({ runId, t }) => (t ? [{ runId, shape: t.shape, values: bufferOf(t.values) }] : [])),
      }
    },

    async 'runs.budget'(req) {
      await store.setDiskBudget(req.diskBudgetBytes)
      return runList()
    },

    async 'fit.timesteps'(req) {
      if (!model) throw bad('fit.timesteps: no model loaded (send model.load first)')
      return fits.fit(model.denoiser, req)
    },

    async 'fit.cancel'() {
      return fits.cancel()
    },

    async dispose() {
      const old = model
      model = undefined
      await stopAll()
      await store.close()
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
