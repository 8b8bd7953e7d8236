/**
 * The sampling loop: initial noise, one model call and one sampler step a timestep, classifier-free
 * guidance, progress, cancellation and the timeline frames (x_t, predicted x0, predicted noise).
 */
import type { SamplerConfig } from '../../src-shared/parameters'
import { EngineError } from './errors'
import type { Denoiser } from './model/load'
import { Gaussian } from './rng'
import { makeSampler } from './samplers/sampler'
import { type Schedule } from './schedule'
import { imageSize, type Shape } from './tensor'

export interface RunRequest {
  sampler: SamplerConfig
  schedule: Schedule
  seed: number
  batch: number
  /** The image channels; the graph's own when left out (the planner always gives them). */
  channels?: number
  height: number
  width: number
  /** Class id for every image, when the model takes class labels. */
  classLabel?: number
  /** Classifier-free guidance scale (>= 0); needs the model's null class. 1 = plain conditional. */
  guidance?: number
  nullClassId?: number
  /** x_T for the whole batch instead of seeded noise (e.g. from a .npy file). */
  initNoise?: Float32Array
  /** Start part-way: a fork of another run, or a noised image to denoise (SDEdit). */
  start?: RunStart
}

/** Where a run starts when it does not start from pure noise at the first timestep. */
export interface RunStart {
  /** The training timestep of `sample`: the first model call is made there. */
  timestep: number
  /** x_t for the whole batch, [batch, channels, height, width]. */
  sample: Float32Array
  /**
   * Per-step noise draws each image's generator skips (after x_T) before this run's first stochastic
   * step: a fork skips its parent's stochastic steps before the fork, so it continues the parent's noise.
   */
  skipDraws: number
}

/**
 * Where a fork of a run at step `index` starts: that step's timestep and the noise its parent drew
 * before it. A fork with the parent's own settings then reproduces the parent's remaining steps exactly.
 */
export function forkPoint(
  parent: { sampler: SamplerConfig; schedule: Schedule },
  index: number,
): Omit<RunStart, 'sample'> {
  const s = makeSampler(parent.sampler, parent.schedule)
  if (!Number.isInteger(index) || index < 0 || index >= s.timesteps.length) {
    throw new EngineError('bad-argument', `fork step must be in [0, ${s.timesteps.length - 1}], got ${index}`)
  }
  let skipDraws = 0
  for (let i = 0; i < index; i++) if (s.isStochastic(i)) skipDraws++
  return { timestep: s.timesteps[index], skipDraws }
}

export interface StepFrame {
  index: number
  total: number
  timestep: number
  alphaBar: number
  /** The sample entering this step. */
  sample: Float32Array
  predictedX0: Float32Array
  predictedNoise: Float32Array
}

export interface Progress {
  step: number
  total: number
  timestep: number
  elapsedMs: number
}

export interface RunHooks {
  onStep?(frame: StepFrame): void
  onProgress?(p: Progress): void
  signal?: AbortSignal
}

export interface RunResult {
  shape: Shape
  /** The final x0 (the last step's output), values nominally in [-1, 1]. */
  samples: Float32Array
  timesteps: number[]
  elapsedMs: number
}

/** A model output with NaN or infinity ends the run: every later step would carry it into the images. */
function checkFinite(output: Float32Array, modelName: string, index: number, total: number, t: number): void {
  for (let j = 0; j < output.length; j++) {
    const v = output[j]
    if (Number.isFinite(v)) continue
    const what = Number.isNaN(v) ? 'NaN' : 'an infinite value'
    throw new EngineError(
      'runtime-error',
      `${modelName}: the model produced ${what} at step ${index + 1} of ${total} (t=${t})`,
    )
  }
}

export async function runSampling(model: Denoiser, req: RunRequest, hooks: RunHooks = {}): Promise<RunResult> {
  const sig = model.info.signature
  const channels = req.channels ?? sig.channels
  if (channels === undefined)
    throw new EngineError('bad-argument', `${model.info.name}: the graph leaves the channel count open; give channels`)
  const shape: Shape = { batch: req.batch, channels, height: req.height, width: req.width }
  const per = imageSize(shape)
  const sampler = makeSampler(req.sampler, req.schedule, { startAt: req.start?.timestep })
  const guidance = req.guidance ?? 1
  if (!(guidance >= 0)) throw new EngineError('bad-argument', `guidance must be >= 0, got ${req.guidance}`)
  const cond = sig.classLabels ? (req.classLabel ?? req.nullClassId ?? 0) : undefined
  const guided =
    sig.classLabels !== undefined && guidance !== 1 && req.nullClassId !== undefined && cond !== req.nullClassId
  if (sig.classLabels === undefined && req.guidance !== undefined && req.guidance !== 1) {
    throw new EngineError('bad-argument', `${model.info.name} takes no class label, so guidance cannot apply`)
  }
  if (guidance !== 1 && sig.classLabels && req.nullClassId === undefined) {
    throw new EngineError(
      'bad-argument',
      `${model.info.name} names no null class (stepwise.null_class_id), so guidance cannot apply`,
    )
  }

  // One generator an image (seed + k): its x_T first, then each stochastic step's noise.
  const rngs = Array.from({ length: req.batch }, (_, k) => new Gaussian(req.seed + k))
  let sample: Float32Array = new Float32Array(req.batch * per)
  if (req.start) {
    if (req.start.sample.length !== sample.length) {
      throw new EngineError(
        'bad-argument',
        `start sample has ${req.start.sample.length} values; [${req.batch},${shape.channels},${req.height},${req.width}] needs ${sample.length}`,
      )
    }
    // The generators pass x_T and the skipped steps' noise, so the noise to come is the parent's.
    const scratch = new Float32Array(per)
    for (const g of rngs) for (let d = 0; d <= req.start.skipDraws; d++) g.fill(scratch)
    sample.set(req.start.sample)
  } else if (req.initNoise) {
    if (req.initNoise.length !== sample.length) {
      throw new EngineError(
        'bad-argument',
        `initial noise has ${req.initNoise.length} values; [${req.batch},${shape.channels},${req.height},${req.width}] needs ${sample.length}`,
      )
    }
    sample.set(req.initNoise)
  } else {
    rngs.forEach((g, k) => g.fill(sample.subarray(k * per, (k + 1) * per)))
  }

  const started = performance.now()
  const total = sampler.timesteps.length
  for (let i = 0; i < total; i++) {
    if (hooks.signal?.aborted) throw new EngineError('cancelled', `cancelled at step ${i} of ${total}`)
    const t = sampler.timesteps[i]
    let modelOutput: Float32Array
    if (guided) {
      // Conditional and unconditional halves in one session.run (classifier-free guidance, Ho & Salimans 2022).
      const both = new Float32Array(2 * sample.length)
      both.set(sample)
      both.set(sample, sample.length)
      const labels = [...Array(req.batch).fill(cond), ...Array(req.batch).fill(req.nullClassId)]
      const out = await model.predict(both, { ...shape, batch: 2 * req.batch }, t, labels)
      modelOutput = new Float32Array(sample.length)
      for (let j = 0; j < sample.length; j++) {
        const u = out[sample.length + j]
        modelOutput[j] = u + guidance * (out[j] - u)
      }
    } else {
      const label = guidance === 0 ? req.nullClassId : cond
      modelOutput = await model.predict(
        sample,
        shape,
        t,
        label === undefined ? undefined : Array(req.batch).fill(label),
      )
    }
    checkFinite(modelOutput, model.info.name, i, total, t)
    let noise: Float32Array | undefined
    if (sampler.isStochastic(i)) {
      noise = new Float32Array(sample.length)
      rngs.forEach((g, k) => g.fill(noise!.subarray(k * per, (k + 1) * per)))
    }
    const r = sampler.step(modelOutput, i, sample, per, noise)
    hooks.onStep?.({
      index: i,
      total,
      timestep: t,
      alphaBar: req.schedule.alphasCumprod[t],
      sample,
      predictedX0: r.predictedX0,
      predictedNoise: r.predictedNoise,
    })
    sample = r.prevSample
    hooks.onProgress?.({ step: i + 1, total, timestep: t, elapsedMs: performance.now() - started })
    // Let cancellation and other events in between steps.
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { shape, samples: sample, timesteps: sampler.timesteps, elapsedMs: performance.now() - started }
}
