/**
 * The sampling loop: initial noise, the model calls each sampler step asks for, classifier-free guidance,
 * progress (in model calls), cancellation and the timeline frames (x_t, predicted x0, predicted noise, one
 * a step) with what a fork needs to go on from each.
 *
 * Between steps the loop keeps x_t in the variance-preserving space: what the model is given
 * (scale_model_input), what the timeline shows and what a fork starts from. A sigma-space sampler's sample
 * is rebuilt from it at each step (x_vp * sqrt(sigma^2 + 1)): one float32 rounding a step beyond diffusers'
 * arithmetic, so that a fork with its parent's settings goes on from exactly the sample its parent did.
 */
import { SAMPLER_INFO } from '../../src-shared/names'
import { type Apg, type SamplerConfig, samplerProblem, type Variation } from '../../src-shared/parameters'
import { EngineError } from './errors'
import { guide } from './guidance'
import type { Denoiser } from './model/load'
import { clipPredictedX0 } from './samplers/common'
import { makeSampler, type SamplerState } from './samplers/sampler'
import { type Schedule } from './schedule'
import { drawInitialNoise, imageGenerator } from './seed-noise'
import { imageSize, type Shape } from './tensor'

export interface RunRequest {
  sampler: SamplerConfig
  schedule: Schedule
  seed: number
  batch: number
  /** A variation seed (seed-noise.ts): every image draws from the seed, its x_T moved toward variation seed + k. */
  variation?: Variation
  /** The image channels; the graph's own when left out (the planner always gives them). */
  channels?: number
  height: number
  width: number
  /** Class id for every image, when the model takes class labels. */
  classLabel?: number
  /** Classifier-free guidance scale (>= 0); needs the model's null class. 1 = plain conditional. */
  guidance?: number
  /** diffusers' guidance_rescale in [0, 1] (guidance.ts): 0 or absent, none. */
  guidanceRescale?: number
  /** Adaptive projected guidance instead of plain (guidance.ts). */
  apg?: Apg
  nullClassId?: number
  /** x_T for the whole batch instead of seeded noise (e.g. from a .npy file), before init_noise_sigma. */
  initNoise?: Float32Array
  /** Start part-way: a fork of another run, or a noised image to denoise (SDEdit). */
  start?: RunStart
}

/** What a run needs to go on from one of its steps, beside that step's x_t: every frame carries it. */
export interface ForkPoint {
  /** The model timestep of the step (fractional for sigma-space samplers). */
  timestep: number
  /** Its sigma, when the sampler works in sigma space (Karras sigmas need not be any timestep's). */
  sigma?: number
  /**
   * Per-step noise draws each image's generator had made (after x_T) before this step: a fork skips them,
   * so it continues the parent's noise.
   */
  skipDraws: number
  /** The sampler's state entering the step (a multistep solver's history); a fork with the same kind carries it. */
  state?: SamplerState
  /** A self-conditioned model's x0 from the call before the step (what it is given at the step). */
  selfCondition?: Float32Array
  /** APG momentum's running sum of guidance updates entering the step; a fork with momentum carries it. */
  apgMomentum?: Float32Array
}

/** Where a run starts when it does not start from pure noise at the first timestep. */
export interface RunStart extends ForkPoint {
  /** x_t for the whole batch in the variance-preserving space, [batch, channels, height, width]. */
  sample: Float32Array
}

export interface StepFrame {
  index: number
  total: number
  timestep: number
  /** alpha_bar of x_t entering the step (its sigma's, for sigma-space samplers). */
  alphaBar: number
  /** x_t entering this step, variance-preserving (what the model is given). */
  sample: Float32Array
  /** The step's first model call's estimates. */
  predictedX0: Float32Array
  predictedNoise: Float32Array
  /** How a fork goes on from this step. */
  fork: ForkPoint
}

export interface Progress {
  /** Steps finished, of `total` (the timeline's frames). */
  step: number
  total: number
  /** Model calls made, of `totalCalls`: a Heun step makes two. One progress event a model call. */
  calls: number
  totalCalls: number
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

/**
 * NaN or infinity ends the run: every later step would carry it into the images. `who` made it: the model
 * ("Stepwise digits: the model") or, from a finite model output, the sampler, with why where diffusers breaks
 * there too (samplerProblem).
 */
function checkFinite(values: Float32Array, who: string, index: number, total: number, t: number, why?: string) {
  for (let j = 0; j < values.length; j++) {
    const v = values[j]
    if (Number.isFinite(v)) continue
    const what = Number.isNaN(v) ? 'NaN' : 'an infinite value'
    throw new EngineError(
      'runtime-error',
      `${who} produced ${what} at step ${index + 1} of ${total} (t=${t})${why ? `: ${why}` : ''}`,
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
  const sampler = makeSampler(req.sampler, req.schedule, {
    startAt: req.start?.timestep,
    sigma: req.start?.sigma,
    state: req.start?.state,
  })
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

  // Self-conditioning (lucidrains' self_condition): the model is also given the x0 of its previous call, as
  // the sampler used it (clipped where it clips: lucidrains' samplers clip and feed that), zeros at the first.
  let selfCondition = sig.selfCondition ? (req.start?.selfCondition ?? new Float32Array(req.batch * per)) : undefined
  // APG momentum's running sum of the guidance updates (zeros before the first call; a fork's parent's).
  const momentumSum =
    guided && req.apg?.momentum ? (req.start?.apgMomentum?.slice() ?? new Float32Array(req.batch * per)) : undefined
  const twice = (x: Float32Array) => {
    const both = new Float32Array(2 * x.length)
    both.set(x)
    both.set(x, x.length)
    return both
  }

  /** The model output for x_t (variance-preserving) at timestep t, guided when asked. */
  const predict = async (x: Float32Array, t: number): Promise<Float32Array> => {
    if (guided) {
      // Conditional and unconditional halves in one session.run (classifier-free guidance, Ho & Salimans 2022).
      const labels = [...Array(req.batch).fill(cond), ...Array(req.batch).fill(req.nullClassId)]
      const doubled = { ...shape, batch: 2 * req.batch }
      const out = await model.predict(twice(x), doubled, t, labels, selfCondition && twice(selfCondition))
      const [c, u] = [out.subarray(0, x.length), out.subarray(x.length)]
      return guide(c, u, guidance, req.guidanceRescale ?? 0, per, req.apg, momentumSum)
    }
    const label = guidance === 0 ? req.nullClassId : cond
    return model.predict(x, shape, t, label === undefined ? undefined : Array(req.batch).fill(label), selfCondition)
  }

  // One generator an image (seed + k; seed-noise.ts): its x_T first, then each stochastic step's noise.
  const rngs = Array.from({ length: req.batch }, (_, k) => imageGenerator(req.seed, k, req.variation))
  let draws = req.start?.skipDraws ?? 0
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
    sample = sampler.fromModelInput(req.start.sample.slice(), 0)
  } else {
    if (req.initNoise) {
      if (req.initNoise.length !== sample.length) {
        throw new EngineError(
          'bad-argument',
          `initial noise has ${req.initNoise.length} values; [${req.batch},${shape.channels},${req.height},${req.width}] needs ${sample.length}`,
        )
      }
      sample.set(req.initNoise)
    } else {
      const image = (k: number) => sample.subarray(k * per, (k + 1) * per)
      rngs.forEach((g, k) => drawInitialNoise(g, image(k), k, req.batch, req.variation))
    }
    // diffusers' prepare_latents: x_T = noise * init_noise_sigma (1 for a variance-preserving sampler).
    if (sampler.initNoiseSigma !== 1) sample = sample.map((v) => v * sampler.initNoiseSigma)
  }

  const samplerWho = `${model.info.name}: the ${SAMPLER_INFO[req.sampler.sampler].label} sampler`
  const samplerWhy = samplerProblem(req.sampler, req.schedule.config.schedule, req.schedule.betas.length)
  const started = performance.now()
  const total = sampler.timesteps.length
  const totalCalls = sampler.timesteps.reduce((n, _, i) => n + sampler.callsAt(i), 0)
  let calls = 0
  for (let i = 0; i < total; i++) {
    if (hooks.signal?.aborted) throw new EngineError('cancelled', `cancelled at step ${i} of ${total}`)
    const state = sampler.state()
    const fork: ForkPoint = {
      timestep: sampler.timesteps[i],
      ...(sampler.sigmas && { sigma: sampler.sigmas[i] }),
      skipDraws: draws,
      ...(state && { state }),
      ...(selfCondition && { selfCondition }),
      ...(momentumSum && { apgMomentum: momentumSum.slice() }),
    }
    // x_t as the model sees it, and the sampler's sample rebuilt from it (see the top of this file).
    const input = sampler.scaleModelInput(sample, i)
    if (input !== sample) sample = sampler.fromModelInput(input, i)
    let noise: Float32Array | undefined
    if (sampler.isStochastic(i)) {
      noise = new Float32Array(sample.length)
      rngs.forEach((g, k) => g.fill(noise!.subarray(k * per, (k + 1) * per)))
      draws++
    }
    // The calls the sampler asks for; the frame is the first call's (x_t entering the step).
    let x = sample
    for (let call = 0; call < sampler.callsAt(i); call++) {
      const t = sampler.timestepAt(i, call)
      const modelOutput = await predict(call === 0 ? input : sampler.scaleModelInput(x, i, call), t)
      checkFinite(modelOutput, `${model.info.name}: the model`, i, total, t)
      const r = sampler.step(modelOutput, i, x, per, noise, call)
      checkFinite(r.prevSample, samplerWho, i, total, t, samplerWhy)
      x = r.prevSample
      if (selfCondition) selfCondition = clipPredictedX0(r.predictedX0, req.sampler, per)
      if (call === 0) {
        const { predictedX0, predictedNoise } = r
        const alphaBar = sampler.alphaBars[i]
        hooks.onStep?.({ index: i, total, timestep: t, alphaBar, sample: input, predictedX0, predictedNoise, fork })
      }
      calls++
      const step = call === sampler.callsAt(i) - 1 ? i + 1 : i
      const elapsedMs = performance.now() - started
      hooks.onProgress?.({ step, total, calls, totalCalls, timestep: t, elapsedMs })
    }
    sample = x
    // Let cancellation and other events in between steps.
    await new Promise((resolve) => setImmediate(resolve))
  }
  return { shape, samples: sample, timesteps: sampler.timesteps, elapsedMs: performance.now() - started }
}
