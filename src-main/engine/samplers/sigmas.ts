/**
 * What the sigma-space samplers share (diffusers' EulerDiscreteScheduler family and DPMSolverMultistepScheduler):
 * the training sigmas, numpy's interpolation, Karras / exponential / beta sigmas between two ends, sigma back
 * to a (fractional) timestep, and a start part-way. sigma_t = sqrt((1 - alpha_bar_t) / alpha_bar_t), so
 * x_sigma = x_vp * sqrt(sigma^2 + 1) (Karras et al. 2022, the variance-exploding view of a VP model).
 */
import type { FinalSigmas, PredictionType, SigmaSchedule, TimestepSpacing } from '../../../src-shared/names'
import { EngineError } from '../errors'
import type { Schedule } from '../schedule'
import { npLinspace, type Prediction, roundHalfEven, spacedTimesteps } from './common'
import type { Sampler, SamplerStart } from './sampler'

/**
 * diffusers' sigmas of the training schedule (index = training timestep), float32 as torch computes them:
 * float32 betas, their cumulative product accumulated in double and stored in float32 (torch.cumprod on the
 * CPU), then ((1 - ab) / ab) ** 0.5 in float32, where 1 - ab loses what it loses there (sigma_min =
 * 0.01000133 for linear betas from 1e-4, not 0.0100005). Timesteps diffusers derives from sigmas (Karras...)
 * are rounded or truncated, so these last bits can move one. Quirk kept: with zero terminal SNR the last
 * alpha_bar, 0, is taken as 2^-24 (fp16's smallest subnormal) so the first sigma is finite.
 */
export function trainingSigmas(schedule: Schedule): Float64Array {
  let acc = 1
  return schedule.betas.map((beta) => {
    acc *= Math.fround(1 - Math.fround(beta))
    const ab = Math.fround(acc) || 2 ** -24
    return Math.fround(Math.sqrt(Math.fround(Math.fround(1 - ab) / ab)))
  })
}

/**
 * x0 and epsilon from the model output in sigma space, x = x0 + sigma eps (EulerDiscreteScheduler.step), each
 * operation rounded to float32 as torch's are: the sigma-space samplers' arithmetic follows diffusers' to the
 * bit where it can (their published full-loop sums hold to 1e-7 of their size).
 */
export function predictionAtSigma(
  type: PredictionType,
  modelOutput: Float32Array,
  sample: Float32Array,
  sigma: number,
): Prediction {
  const f = Math.fround
  const predictedX0 = new Float32Array(sample.length)
  const predictedNoise = new Float32Array(sample.length)
  // v (Salimans & Ho 2022) with k-diffusion's c_out = -sigma / sqrt(sigma^2 + 1), c_skip = 1 / (sigma^2 + 1).
  const skip = f(f(sigma * sigma) + 1)
  const out = f(-sigma / f(Math.sqrt(skip)))
  for (let i = 0; i < sample.length; i++) {
    const x = sample[i]
    const m = modelOutput[i]
    // epsilon: x0 = x - sigma eps; sample: x0 is the output.
    const x0 = type === 'epsilon' ? f(x - f(sigma * m)) : type === 'sample' ? m : f(f(m * out) + f(x / skip))
    predictedX0[i] = x0
    predictedNoise[i] = type === 'epsilon' ? m : (x - x0) / sigma
  }
  return { predictedX0, predictedNoise }
}

/** Refuse a step count set_timesteps could not make. */
export function checkSteps(steps: number, trainSteps: number): void {
  if (!Number.isInteger(steps) || steps < 1)
    throw new EngineError('bad-argument', `steps must be a positive integer, got ${steps}`)
  if (steps > trainSteps)
    throw new EngineError('bad-argument', `steps (${steps}) cannot exceed the model's ${trainSteps} training timesteps`)
}

/**
 * EulerDiscreteScheduler.set_timesteps (Heun, LMS, KDPM2 copy it): float32 timesteps, "linspace" ones
 * fractional (np.linspace(0, T - 1, N) in float32); sigmas interpolated at them (np.interp), or Karras /
 * exponential / beta sigmas between the first and last of those, their timesteps then from the sigmas
 * (fractional too); and the final sigma. Quirk kept: the ends of Karras & co. are the spaced timesteps'
 * sigmas, so with "trailing" spacing sigma_min is sigma(T / N - 1), not the schedule's smallest. KDPM2's
 * copy rounds its Karras timesteps (np.round, half to even), not its exponential or beta ones
 * (`roundKarrasTimesteps`).
 */
export function eulerFamilySchedule(
  config: { steps: number; timestepSpacing: TimestepSpacing; stepsOffset: number; sigmas: SigmaSchedule },
  train: Float64Array,
  { finalSigmas = 'zero', roundKarrasTimesteps = false }: EulerFamilyQuirks = {},
): { timesteps: number[]; sigmas: number[] } {
  const T = train.length
  const N = config.steps
  checkSteps(N, T)
  let timesteps =
    config.timestepSpacing === 'linspace'
      ? npLinspace(0, T - 1, N)
          .map(Math.fround)
          .reverse()
      : spacedTimesteps(T, N, config.timestepSpacing, config.stepsOffset)
  let sigmas = timesteps.map((t) => interpAtTimestep(train, t))
  if (config.sigmas !== 'spacing') {
    sigmas = sigmasBetween(config.sigmas, sigmas[sigmas.length - 1], sigmas[0], N)
    const logSigmas = logSigmasOf(train)
    const round = roundKarrasTimesteps && config.sigmas === 'karras' ? roundHalfEven : (t: number) => t
    timesteps = sigmas.map((s) => Math.fround(round(sigmaToTimestep(s, logSigmas))))
  }
  const last = finalSigmas === 'sigma_min' ? train[0] : 0
  return { timesteps, sigmas: [...sigmas, last].map(Math.fround) }
}

/** Where a copy of EulerDiscreteScheduler.set_timesteps differs: Euler's final_sigmas_type, KDPM2's rounding. */
export interface EulerFamilyQuirks {
  finalSigmas?: FinalSigmas
  roundKarrasTimesteps?: boolean
}

/** EulerDiscreteScheduler's init_noise_sigma: the largest sigma, or sqrt(sigma^2 + 1) with "leading" spacing. */
export function eulerInitNoiseSigma(sigmas: number[], spacing: TimestepSpacing): number {
  const max = Math.max(...sigmas)
  // diffusers quirk: linspace and trailing give sigma_max, not the sqrt(sigma_max^2 + 1) a VP model's x_T has.
  return spacing === 'leading' ? Math.fround(Math.sqrt(Math.fround(max * max) + 1)) : max
}

/** x / sqrt(sigma^2 + 1), float32 as diffusers' scale_model_input computes it; `inverse` multiplies back. */
export function scaleBySigma(sample: Float32Array, sigma: number, inverse = false): Float32Array {
  const c = Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)))
  return inverse ? sample.map((v) => v * c) : sample.map((v) => v / c)
}

/**
 * A sigma-space sampler with one model call a step (Euler, Euler a, LMS): the model takes x / sqrt(sigma^2 + 1)
 * at the step's sigma; the rest diffusers' defaults unless given (order 1, deterministic, no memory).
 */
export function sigmaSampler(
  steps: Pick<Sampler, 'timesteps' | 'alphaBars' | 'initNoiseSigma'> & { sigmas: number[] },
  s: Pick<Sampler, 'step'> & Partial<Pick<Sampler, 'isStochastic' | 'state'>>,
): Sampler {
  const { timesteps, sigmas } = steps
  return {
    ...steps,
    order: 1,
    callsAt: () => 1,
    timestepAt: (index) => timesteps[index],
    scaleModelInput: (sample, index) => scaleBySigma(sample, sigmas[index]),
    fromModelInput: (input, index) => scaleBySigma(input, sigmas[index], true),
    isStochastic: () => false,
    state: () => undefined,
    ...s,
  }
}

/** The variance-preserving alpha_bar of a sigma: 1 / (1 + sigma^2). */
export const alphaBarOfSigma = (sigma: number): number => 1 / (1 + sigma * sigma)

/** np.interp(x, arange(len(fp)), fp): linear between integer points, the ends held outside them. */
export function interpAtTimestep(fp: ArrayLike<number>, x: number): number {
  if (x <= 0) return fp[0]
  const last = fp.length - 1
  if (x >= last) return fp[last]
  const j = Math.floor(x)
  // numpy returns fp[j] itself at a grid point, else slope * (x - xp[j]) + fp[j].
  return x === j ? fp[j] : (fp[j + 1] - fp[j]) * (x - j) + fp[j]
}

/**
 * diffusers' `_sigma_to_t`: the fractional training timestep of a sigma, interpolating log sigma linearly
 * between the two training timesteps around it (k-diffusion's sigma_to_t). diffusers takes the logs of its
 * float32 sigmas in float32; we keep them in double, so a training sigma (the ends of Karras sigmas) maps to
 * its own timestep exactly rather than to a hair below it, which truncation would turn into the one before.
 */
export function sigmaToTimestep(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10))
  // The last index whose log sigma is <= logSigma (numpy's cumsum(dists >= 0).argmax()), at most T - 2.
  let low = 0
  for (let j = 0; j < logSigmas.length; j++) if (logSigmas[j] <= logSigma) low = j
  low = Math.min(low, logSigmas.length - 2)
  const w = Math.min(1, Math.max(0, (logSigmas[low] - logSigma) / (logSigmas[low] - logSigmas[low + 1])))
  return (1 - w) * low + w * (low + 1)
}

export const logSigmasOf = (sigmas: Float64Array): Float64Array => sigmas.map(Math.log)

/** Karras et al. 2022, eq. 5: (sigma_max^(1/rho) + i/(n-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho, rho = 7. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7): number[] {
  const minInv = sigmaMin ** (1 / rho)
  const maxInv = sigmaMax ** (1 / rho)
  return npLinspace(0, 1, n).map((ramp) => (maxInv + ramp * (minInv - maxInv)) ** rho)
}

/** k-diffusion's get_sigmas_exponential: evenly spaced in log sigma. */
export const exponentialSigmas = (sigmaMin: number, sigmaMax: number, n: number): number[] =>
  npLinspace(Math.log(sigmaMax), Math.log(sigmaMin), n).map(Math.exp)

/**
 * "Beta Sampling is All You Need" (Lee et al. 2024): sigma_min + ppf(1 - i/(n-1)) (sigma_max - sigma_min) with
 * ppf the quantile function of Beta(0.6, 0.6), as diffusers' `_convert_to_beta` (scipy.stats.beta.ppf).
 */
export const betaSigmas = (sigmaMin: number, sigmaMax: number, n: number, a = 0.6, b = 0.6): number[] =>
  npLinspace(0, 1, n).map((x) => sigmaMin + betaQuantile(1 - x, a, b) * (sigmaMax - sigmaMin))

/** The sigma schedule a sampler's `sigmas` option names, between sigma_min and sigma_max (descending). */
export function sigmasBetween(kind: Exclude<SigmaSchedule, 'spacing'>, min: number, max: number, n: number): number[] {
  if (kind === 'karras') return karrasSigmas(min, max, n)
  if (kind === 'exponential') return exponentialSigmas(min, max, n)
  return betaSigmas(min, max, n)
}

/**
 * The steps of a run that starts part-way (a fork, an image to denoise): at the given sigma and model
 * timestep, then the sampler's own steps below it. A start at one of its own sigmas is exactly the tail of
 * its full run (a fork with the parent's settings).
 */
export function sigmaStart(
  own: { timesteps: number[]; sigmas: number[] },
  start: { timestep: number; sigma: number },
): { timesteps: number[]; sigmas: number[]; offset: number } {
  const steps = own.timesteps.length
  const at = own.sigmas.slice(0, steps).indexOf(start.sigma)
  if (at >= 0) return { timesteps: own.timesteps.slice(at), sigmas: own.sigmas.slice(at), offset: at }
  const below = own.sigmas.slice(0, steps).findIndex((s) => s < start.sigma)
  const from = below < 0 ? steps : below
  return {
    timesteps: [start.timestep, ...own.timesteps.slice(from)],
    sigmas: [start.sigma, ...own.sigmas.slice(from)],
    offset: -1,
  }
}

/**
 * A sigma-space sampler's steps: its own (set_timesteps' timesteps and sigmas), or from a start part-way
 * (sigmaStart), with each step's variance-preserving alpha_bar.
 */
export function sigmaSteps(
  own: { timesteps: number[]; sigmas: number[] },
  train: Float64Array,
  start: SamplerStart,
): { timesteps: number[]; sigmas: number[]; alphaBars: number[] } {
  const from = startSigma(train, start)
  const { timesteps, sigmas } = from === undefined ? own : sigmaStart(own, { timestep: start.startAt!, sigma: from })
  return { timesteps, sigmas, alphaBars: timesteps.map((_, i) => alphaBarOfSigma(sigmas[i])) }
}

/** The steps of an EulerDiscreteScheduler-family sampler (Euler, Heun, LMS...), and its init_noise_sigma. */
export function eulerFamilySteps(
  config: Parameters<typeof eulerFamilySchedule>[0],
  schedule: Schedule,
  start: SamplerStart,
  quirks: EulerFamilyQuirks = {},
) {
  const train = trainingSigmas(schedule)
  const own = eulerFamilySchedule(config, train, quirks)
  return { ...sigmaSteps(own, train, start), initNoiseSigma: eulerInitNoiseSigma(own.sigmas, config.timestepSpacing) }
}

/** A start's sigma: the one it carries (a sigma-space parent's), else the training schedule's at its timestep. */
export function startSigma(trainSigmas: Float64Array, start: { startAt?: number; sigma?: number }): number | undefined {
  if (start.startAt === undefined) return undefined
  const T = trainSigmas.length
  if (!(start.startAt >= 0 && start.startAt <= T - 1))
    throw new EngineError('bad-argument', `start timestep must be in [0, ${T - 1}], got ${start.startAt}`)
  return start.sigma ?? Math.fround(interpAtTimestep(trainSigmas, start.startAt))
}

// ---- the quantile function of the beta distribution ------------------------------------------------------

/** ln Gamma (Lanczos, g = 7, n = 9; about 1e-15 relative). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ]
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x)
  x -= 1
  let a = c[0]
  const t = x + 7.5
  for (let i = 1; i < 9; i++) a += c[i] / (x + i)
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a)
}

/** The continued fraction of the regularized incomplete beta function (Lentz's method). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const delta = d * c
    h *= delta
    if (Math.abs(delta - 1) < 1e-16) break
  }
  return h
}

/** I_x(a, b), the regularized incomplete beta function: the Beta(a, b) distribution function. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x))
  return x < (a + 1) / (a + b + 2)
    ? (front * betaContinuedFraction(x, a, b)) / a
    : 1 - (front * betaContinuedFraction(1 - x, b, a)) / b
}

/**
 * The Beta(a, b) quantile: the x with I_x(a, b) = p, by bisection to the last bit (scipy's beta.ppf to
 * about 1e-15; no library of ours has one). Monotone, so bisection cannot fail where Newton might.
 */
export function betaQuantile(p: number, a: number, b: number): number {
  if (p <= 0) return 0
  if (p >= 1) return 1
  let lo = 0
  let hi = 1
  for (let i = 0; i < 200 && hi - lo > 0; i++) {
    const mid = (lo + hi) / 2
    if (mid === lo || mid === hi) break
    if (incompleteBeta(mid, a, b) < p) lo = mid
    else hi = mid
  }
  return (lo + hi) / 2
}
