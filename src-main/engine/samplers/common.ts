/** What the samplers share: timestep spacing, x0/noise from the model output, clipping, starts part-way. */
import type { PredictionType, SamplerOptionValues, TimestepSpacing } from '../../../src-shared/names'
import { EngineError } from '../errors'
import type { Sampler } from './sampler'

/** numpy's round(): half to even. diffusers rounds timesteps with it, so 937.5 -> 938 and 812.5 -> 812. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/**
 * np.linspace(start, stop, n): numpy computes start + i * ((stop - start) / (n - 1)) and sets the last value
 * to `stop`; the last bits decide some of the roundings after it.
 */
export function npLinspace(start: number, stop: number, n: number): number[] {
  if (n === 1) return [start]
  const step = (stop - start) / (n - 1)
  return Array.from({ length: n }, (_, i) => (i === n - 1 ? stop : i * step + start))
}

/** diffusers' `set_timesteps` (DDPMScheduler and DDIMScheduler share it), descending. */
export function spacedTimesteps(
  trainSteps: number,
  steps: number,
  spacing: TimestepSpacing,
  stepsOffset = 0,
): number[] {
  if (!Number.isInteger(steps) || steps < 1)
    throw new EngineError('bad-argument', `steps must be a positive integer, got ${steps}`)
  if (steps > trainSteps) {
    throw new EngineError('bad-argument', `steps (${steps}) cannot exceed the model's ${trainSteps} training timesteps`)
  }
  if (spacing === 'linspace') {
    // np.linspace(0, T - 1, N).round()[::-1]. numpy computes i * ((T - 1) / (N - 1)) and sets the last value
    // to T - 1 (one value: 0); (T - 1) * i / (N - 1) differs in the last bit, which decides some .5 ties
    // (N = 27 of 1000).
    if (steps === 1) return [0]
    const last = trainSteps - 1
    const step = last / (steps - 1)
    return Array.from({ length: steps }, (_, i) => (i === steps - 1 ? last : roundHalfEven(i * step))).reverse()
  }
  if (spacing === 'lucidrains') return lucidrainsTimesteps(trainSteps, steps)
  if (spacing === 'leading') {
    // (np.arange(0, N) * (T // N)).round()[::-1] + steps_offset
    const ratio = Math.floor(trainSteps / steps)
    const first = (steps - 1) * ratio + stepsOffset
    if (first >= trainSteps) {
      // diffusers' first step would fail indexing alphas_cumprod[first].
      throw new EngineError(
        'bad-argument',
        `steps offset ${stepsOffset} puts the first of ${steps} steps at timestep ${first}; the model's last is ${trainSteps - 1}`,
      )
    }
    return Array.from({ length: steps }, (_, i) => i * ratio + stepsOffset).reverse()
  }
  // trailing: np.round(np.arange(T, 0, -T / N)) - 1, the way numpy's arange computes it: ceil(T / (T / N))
  // values T + i * delta, delta = (T - T / N) - T. T - i * T / N rounds differently at some .5 ties
  // (N = 48 of 1000). The count can come out N + 1 (N = 61 of 1000), the extra value rounding to
  // timestep -1, where diffusers would sample at alphas_cumprod[-1] (the last); we keep the first N.
  const stride = -trainSteps / steps
  const count = Math.ceil(-trainSteps / stride)
  const delta = trainSteps + stride - trainSteps
  const out: number[] = []
  for (let i = 0; i < Math.min(count, steps); i++) {
    out.push(roundHalfEven(i === 1 ? trainSteps + stride : trainSteps + i * delta) - 1)
  }
  return out
}

/**
 * lucidrains' ddim_sample: torch.linspace(-1, T - 1, N + 1).int() reversed, the model called at all but the
 * last (-1). The values are torch's float32 CPU kernel's (RangeFactoriesKernel.cpp, linspace_kernel, AVX2 build
 * as PyTorch ships it): start + step * i below the middle, end - step * (N - i) from it, each rounded once (a
 * fused multiply-add); runs of 16 from the start in two vectors of 8, lane k = base + float(k * step). .int()
 * truncates. Where a value lands on an integer that rounding moves it below, the timestep is one less than
 * the exact floor(-1 + i T / N) (N = 36, 48, 72... of 1000): torch 1.13 gives these same timesteps for every N
 * of T = 1000, 500 and 256 (test/fixtures/lucidrains/time-pairs.json).
 */
function lucidrainsTimesteps(trainSteps: number, steps: number): number[] {
  const f = Math.fround
  const n = steps + 1
  const [start, end] = [-1, trainSteps - 1]
  const step = f((end - start) / steps)
  const half = Math.floor(n / 2)
  const at = (i: number) => f(i < half ? start + step * i : end - step * (n - i - 1))
  const lanes = 8
  const values: number[] = []
  let i = 0
  // cpu_serial_kernel_vec: two vectors an iteration while 16 values remain, then one value at a time.
  for (; i + 2 * lanes <= n; i += 2 * lanes)
    for (let v = i; v < i + 2 * lanes; v += lanes) for (let k = 0; k < lanes; k++) values.push(f(at(v) + f(step * k)))
  for (; i < n; i++) values.push(at(i))
  return values.map(Math.trunc).reverse().slice(0, steps)
}

export interface Prediction {
  predictedX0: Float32Array
  predictedNoise: Float32Array
}

/** x0 and epsilon from the model output; DDIM paper eq. 12 and the v-parameterisation (Salimans & Ho 2022, eq. 9). */
export const predictionOf = (
  type: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  alphaBar: number,
): Prediction => predictionAt(type, modelOutput, sample, Math.sqrt(alphaBar), Math.sqrt(1 - alphaBar))

/** The same with x_t = a x0 + b eps given as a and b (DPM-Solver's alpha_t and sigma_t). */
export function predictionAt(
  type: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  a: number,
  b: number,
): Prediction {
  const n = sample.length
  const predictedX0 = new Float32Array(n)
  const predictedNoise = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    const x = sample[i]
    const m = modelOutput[i]
    if (type === 'epsilon') {
      predictedX0[i] = (x - b * m) / a
      predictedNoise[i] = m
    } else if (type === 'sample') {
      predictedX0[i] = m
      predictedNoise[i] = (x - a * m) / b
    } else {
      predictedX0[i] = a * x - b * m
      predictedNoise[i] = a * m + b * x
    }
  }
  return { predictedX0, predictedNoise }
}

/** The clipping options; a sampler that reads none of them (Euler) leaves x0 as it is. */
export type Clipping = Partial<
  Pick<
    SamplerOptionValues,
    'clipSample' | 'clipSampleRange' | 'thresholding' | 'dynamicThresholdingRatio' | 'sampleMaxValue'
  >
>

/**
 * Clip or dynamically threshold predicted x0, one image (`imageSize` values) at a time. Returns the
 * clipped x0 (a copy when anything changes, so the timeline can still show the raw one).
 */
export function clipPredictedX0(x0: Float32Array, config: Clipping, imageSize: number): Float32Array {
  if (config.thresholding) return dynamicThreshold(x0, config, imageSize)
  if (!config.clipSample) return x0
  const r = config.clipSampleRange ?? 1
  return x0.map((v) => Math.min(r, Math.max(-r, v)))
}

/** diffusers' `_threshold_sample`: s = clamp(quantile(|x0|, ratio), 1, sample_max_value); x0 = clamp(x0, -s, s) / s. */
function dynamicThreshold(x0: Float32Array, config: Clipping, imageSize: number): Float32Array {
  const ratio = config.dynamicThresholdingRatio ?? 0.995
  const max = config.sampleMaxValue ?? 1
  const out = new Float32Array(x0.length)
  for (let start = 0; start < x0.length; start += imageSize) {
    const img = x0.subarray(start, start + imageSize)
    const s = Math.min(max, Math.max(1, quantile(Float64Array.from(img, Math.abs), ratio)))
    for (let i = 0; i < img.length; i++) out[start + i] = Math.min(s, Math.max(-s, img[i])) / s
  }
  return out
}

/** torch.quantile's default ('linear' interpolation between the two nearest ranks). */
export function quantile(values: Float64Array, q: number): number {
  const sorted = values.slice().sort()
  const pos = q * (sorted.length - 1)
  const lo = Math.floor(pos)
  const hi = Math.min(lo + 1, sorted.length - 1)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}

/**
 * The timesteps of a run that starts at timestep `t` (a fork, or denoising a noised image): `t` itself,
 * then the sampler's own timesteps below it. Starting at one of the sampler's own timesteps gives
 * exactly the tail of its full run.
 */
export function startingAt(timesteps: number[], t: number, trainSteps: number): number[] {
  if (!Number.isInteger(t) || t < 0 || t >= trainSteps)
    throw new EngineError('bad-argument', `start timestep must be an integer in [0, ${trainSteps - 1}], got ${t}`)
  return [t, ...timesteps.filter((s) => s < t)]
}

/**
 * The training timestep a timestep-space sampler (DDPM, DDIM) starts at: a sigma-space parent's fractional
 * timestep goes to the nearest training one (half to even), where x_t is then taken to be.
 */
export const timestepStart = (start: { startAt?: number }): number | undefined =>
  start.startAt === undefined ? undefined : roundHalfEven(start.startAt)

/** q(x_t | x_0) (DDPM eq. 4): sqrt(ab) x0 + sqrt(1 - ab) noise; diffusers' `add_noise`. */
export function addNoise(x0: Float32Array, noise: Float32Array, alphaBar: number): Float32Array {
  const a = Math.sqrt(alphaBar)
  const b = Math.sqrt(1 - alphaBar)
  return x0.map((v, i) => a * v + b * noise[i])
}

/**
 * A variance-preserving sampler (DDPM, DDIM, DPM-Solver, PNDM): its steps' timesteps and alpha_bars, the rest
 * diffusers' defaults unless given (order 1, one model call a step, init_noise_sigma 1, scale_model_input the
 * identity).
 */
export function vpSampler(
  s: Pick<Sampler, 'timesteps' | 'alphaBars' | 'isStochastic' | 'step'> &
    Partial<Pick<Sampler, 'sigmas' | 'state' | 'callsAt' | 'timestepAt'>>,
): Sampler {
  return {
    order: 1,
    initNoiseSigma: 1,
    callsAt: () => 1,
    timestepAt: (index) => s.timesteps[index],
    scaleModelInput: (sample) => sample,
    fromModelInput: (input) => input,
    state: () => undefined,
    ...s,
  }
}
