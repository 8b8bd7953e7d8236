/**
 * Forward noising, q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I) (DDPM paper, eq. 4):
 * what each schedule does to an image at a given t. One seeded noise for every schedule and t, so the
 * schedules differ only in how fast they destroy structure.
 */
import { type ScheduleName } from '../../src-shared/names'
import type { Variation } from '../../src-shared/parameters'
import { EngineError } from './errors'
import { imageForModel } from './image-input'
import type { Training } from './model/training'
import { Gaussian } from './rng'
import type { RunStart } from './run'
import { addNoise } from './samplers/common'
import { makeSchedule, type Schedule } from './schedule'
import { drawInitialNoise, imageGenerator } from './seed-noise'
import type { PlanarImage } from './tensor'

export interface NoisedImage {
  timestep: number
  alphaBar: number
  /** alpha_bar / (1 - alpha_bar). */
  snr: number
  sample: Float32Array
}

/** The noise every preview of this seed uses: image-sized, standard normal. */
export const previewNoise = (size: number, seed: number): Float32Array =>
  new Gaussian(seed).fill(new Float32Array(size))

/** x_t for each t, under one schedule, from one image and one noise. */
export function noiseImage(
  x0: Float32Array,
  noise: Float32Array,
  schedule: Schedule,
  timesteps: number[],
): NoisedImage[] {
  if (noise.length !== x0.length)
    throw new EngineError('bad-argument', `noise has ${noise.length} values, the image ${x0.length}`)
  const T = schedule.alphasCumprod.length
  return timesteps.map((t) => {
    if (!Number.isInteger(t) || t < 0 || t >= T)
      throw new EngineError('bad-argument', `timestep must be an integer in [0, ${T - 1}], got ${t}`)
    const alphaBar = schedule.alphasCumprod[t]
    return { timestep: t, alphaBar, snr: alphaBar / (1 - alphaBar), sample: addNoise(x0, noise, alphaBar) }
  })
}

/**
 * Where a run that denoises an image starts (SDEdit, Meng et al. 2022): the image noised to `timestep`
 * with each image's own x_T as the noise (seed-noise.ts), so the run's stochastic noise goes on after it
 * (skipDraws 0).
 * A sampler's own step may give its noise level (alphaBar, and a sigma-space sampler's sigma) where it is
 * not the schedule's at a training timestep.
 */
export function startFromImage(
  image: Float32Array,
  opts: {
    batch: number
    seed: number
    variation?: Variation
    timestep: number
    schedule: Schedule
    alphaBar?: number
    sigma?: number
  },
): RunStart {
  const T = opts.schedule.alphasCumprod.length
  const onGrid = Number.isInteger(opts.timestep) || opts.alphaBar !== undefined
  if (!onGrid || !(opts.timestep >= 0 && opts.timestep < T)) {
    throw new EngineError('bad-argument', `start timestep must be an integer in [0, ${T - 1}], got ${opts.timestep}`)
  }
  const per = image.length
  const sample = new Float32Array(opts.batch * per)
  const alphaBar = opts.alphaBar ?? opts.schedule.alphasCumprod[opts.timestep]
  const noise = new Float32Array(per)
  for (let k = 0; k < opts.batch; k++) {
    drawInitialNoise(imageGenerator(opts.seed, k, opts.variation), noise, k, opts.batch, opts.variation)
    sample.set(addNoise(image, noise, alphaBar), k * per)
  }
  return { timestep: opts.timestep, ...(opts.sigma !== undefined && { sigma: opts.sigma }), skipDraws: 0, sample }
}

/**
 * The schedules a forward-noising preview shows by default (scaled_linear is quadratic under diffusers' name),
 * and the model's own (`custom`) when it has one.
 */
export const PREVIEW_SCHEDULES = ['linear', 'cosine', 'quadratic', 'sigmoid'] as const satisfies ScheduleName[]

export interface ForwardPreview {
  /** The image as the model sees it: [channels, height, width] in [-1, 1]. */
  image: PlanarImage
  rows: { schedule: ScheduleName; frames: NoisedImage[] }[]
}

/**
 * An image file noised under each schedule (the model's T and beta range, one noise for all): what the
 * app's Noise tab and the CLI's `noise` command show.
 */
export function previewForwardNoising(
  file: { bytes: Uint8Array; name: string },
  model: { channels?: number; training: Training },
  opts: { timesteps: number[]; schedules?: readonly ScheduleName[]; seed: number },
): ForwardPreview {
  const t = model.training
  // Noising needs no model call: a graph that leaves the channels open previews the image in colour.
  const size = { channels: model.channels ?? 3, height: t.size.height, width: t.size.width }
  const image = imageForModel(file.bytes, file.name, size)
  const noise = previewNoise(image.data.length, opts.seed)
  const schedules = opts.schedules ?? [...PREVIEW_SCHEDULES, ...(t.alphasCumprod ? (['custom'] as const) : [])]
  const rows = schedules.map((schedule) => ({
    schedule,
    frames: noiseImage(image.data, noise, makeSchedule({ ...t.schedule, schedule }, t.alphasCumprod), opts.timesteps),
  }))
  return { image, rows }
}
