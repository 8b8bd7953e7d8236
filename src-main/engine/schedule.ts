/**
 * Noise schedules: beta_t for t = 0..T-1 and alphas_cumprod (alpha-bar) from them.
 * One function a schedule (their names live in src-shared/names.ts).
 * Formulas follow diffusers' `betas_for_alpha_bar` / DDPMScheduler.__init__, and lucidrains'
 * denoising_diffusion_pytorch for its sigmoid; `custom` is a model's own alphas_cumprod.
 */
import { MAX_TRAIN_STEPS } from '../../src-shared/limits'
import { NAMED_SCHEDULES, parseScheduleName, type ScheduleName, SCHEDULES } from '../../src-shared/names'
import { DEFAULT_SCHEDULE, type ScheduleConfig, type SigmoidShape } from '../../src-shared/parameters'
import { EngineError } from './errors'

export { DEFAULT_SCHEDULE, NAMED_SCHEDULES, parseScheduleName, type ScheduleConfig, type ScheduleName, SCHEDULES }

/** lucidrains' defaults for sigmoid_beta_schedule (GaussianDiffusion's default schedule). */
export const LUCIDRAINS_SIGMOID: SigmoidShape = { start: -3, end: 3, tau: 1 }

const linspace = (a: number, b: number, n: number): number[] =>
  n === 1 ? [a] : Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1))

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))

/** Improved DDPM (Nichol & Dhariwal 2021), eq. 17: alpha-bar(t) = cos^2(((t/T + s)/(1 + s)) pi/2), s = 0.008. */
function cosineBetas(T: number, maxBeta = 0.999): number[] {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2
  return Array.from({ length: T }, (_, i) => Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), maxBeta))
}

/**
 * lucidrains' sigmoid_beta_schedule (Chen 2023, arXiv 2212.11972, fig. 8): alpha-bar(t) = (v_end -
 * sigmoid((t (end - start) + start) / tau)) / (v_end - v_start) for t = i / T, betas from its ratios, clipped
 * to [0, 0.999]. Its quirk kept: v_start and v_end are float32 (torch.tensor of a Python float, sigmoid in float32), the
 * rest float64.
 */
function lucidrainsSigmoidBetas(T: number, { start, end, tau }: SigmoidShape): number[] {
  const f = Math.fround
  // torch's float32 sigmoid kernel: 1 / (1 + exp(-x)), each operation rounded to float32.
  const sigmoid32 = (x: number) => f(1 / f(1 + f(Math.exp(-f(x)))))
  const vStart = sigmoid32(start / tau)
  const vEnd = sigmoid32(end / tau)
  const alphaBar = (i: number) => (vEnd - sigmoid(((i / T) * (end - start) + start) / tau)) / (vEnd - vStart)
  return Array.from({ length: T }, (_, i) => Math.min(Math.max(1 - alphaBar(i + 1) / alphaBar(i), 0), 0.999))
}

/** beta_t = 1 - alpha-bar_t / alpha-bar_{t-1} (DDPM eq. 4's alpha-bar, unrolled), alpha-bar_{-1} = 1. */
export const betasOfAlphasCumprod = (alphasCumprod: ArrayLike<number>): Float64Array =>
  Float64Array.from(alphasCumprod, (a, i) => 1 - a / (i === 0 ? 1 : alphasCumprod[i - 1]))

const BETAS: Record<Exclude<ScheduleName, 'custom'>, (c: ScheduleConfig) => number[]> = {
  // DDPM (Ho et al. 2020), section 4.
  linear: (c) => linspace(c.betaStart, c.betaEnd, c.trainSteps),
  // Latent diffusion's schedule: linear in sqrt(beta).
  scaled_linear: (c) => linspace(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), c.trainSteps).map((b) => b * b),
  cosine: (c) => cosineBetas(c.trainSteps),
  // The same formula as scaled_linear under the name the DDPM literature (and lucidrains) gives it.
  quadratic: (c) => linspace(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), c.trainSteps).map((b) => b * b),
  // GeoDiff (Xu et al. 2022): sigmoid(linspace(-6, 6, T)) * (bT - b0) + b0.
  sigmoid: (c) => linspace(-6, 6, c.trainSteps).map((x) => sigmoid(x) * (c.betaEnd - c.betaStart) + c.betaStart),
  lucidrains_sigmoid: (c) => lucidrainsSigmoidBetas(c.trainSteps, c.sigmoid ?? LUCIDRAINS_SIGMOID),
}

/** `own`: the model's own alphas_cumprod, which the `custom` schedule is. */
export function betasFor(config: ScheduleConfig, own?: Float64Array): Float64Array {
  if (!Number.isInteger(config.trainSteps) || config.trainSteps < 1 || config.trainSteps > MAX_TRAIN_STEPS) {
    throw new EngineError(
      'bad-argument',
      `train steps must be an integer from 1 to ${MAX_TRAIN_STEPS}, got ${config.trainSteps}`,
    )
  }
  let betas: Float64Array
  if (config.schedule === 'custom') {
    if (!own)
      throw new EngineError(
        'bad-argument',
        'schedule "custom" is a model\'s own alphas_cumprod, and this model has none; choose a named schedule',
      )
    if (own.length !== config.trainSteps)
      throw new EngineError(
        'bad-argument',
        `the model's own schedule has T = ${own.length}; it cannot be used with T = ${config.trainSteps}`,
      )
    betas = betasOfAlphasCumprod(own)
  } else betas = Float64Array.from(BETAS[config.schedule](config))
  return config.rescaleZeroSnr ? rescaleZeroTerminalSnr(betas) : betas
}

export function cumprodOfAlphas(betas: Float64Array): Float64Array {
  const out = new Float64Array(betas.length)
  let acc = 1
  for (let i = 0; i < betas.length; i++) out[i] = acc *= 1 - betas[i]
  return out
}

/** "Common Diffusion Noise Schedules and Sample Steps are Flawed" (Lin et al. 2023), Algorithm 1. */
function rescaleZeroTerminalSnr(betas: Float64Array): Float64Array {
  const sqrtAb = Array.from(cumprodOfAlphas(betas), Math.sqrt)
  const first = sqrtAb[0]
  const last = sqrtAb[sqrtAb.length - 1]
  const scaled = sqrtAb.map((v) => ((v - last) * first) / (first - last))
  const ab = scaled.map((v) => v * v)
  return Float64Array.from(ab, (v, i) => 1 - (i === 0 ? v : v / ab[i - 1]))
}

export interface Schedule {
  config: ScheduleConfig
  betas: Float64Array
  alphasCumprod: Float64Array
}

/** The schedule of `config`; `own` is the model's alphas_cumprod (taken as it is for `custom`). */
export function makeSchedule(config: ScheduleConfig, own?: Float64Array): Schedule {
  const betas = betasFor(config, own)
  const exact = config.schedule === 'custom' && !config.rescaleZeroSnr
  return { config, betas, alphasCumprod: exact ? own! : cumprodOfAlphas(betas) }
}

/**
 * The named schedule a model's own alphas_cumprod is (a lucidrains checkpoint's buffer, or the array a
 * converted one carries; linear as lucidrains computes it, its betas scaled by 1000 / T, which at T = 1000
 * is diffusers' too), when one fits it to float32's precision; undefined for a schedule of the user's own.
 */
export function namedScheduleOf(alphasCumprod: Float64Array): string | undefined {
  const T = alphasCumprod.length
  const scale = 1000 / T
  const candidates: [string, ScheduleConfig][] = [
    ['cosine', { schedule: 'cosine', trainSteps: T, betaStart: 0, betaEnd: 0 }],
    [
      'lucidrains_sigmoid (start -3, end 3, tau 1)',
      { schedule: 'lucidrains_sigmoid', trainSteps: T, betaStart: 0, betaEnd: 0, sigmoid: LUCIDRAINS_SIGMOID },
    ],
    [
      `linear (beta ${scale * 1e-4}..${scale * 0.02})`,
      { schedule: 'linear', trainSteps: T, betaStart: scale * 1e-4, betaEnd: scale * 0.02 },
    ],
  ]
  for (const [name, config] of candidates) {
    const ab = makeSchedule(config).alphasCumprod
    if (ab.every((a, t) => Math.abs(a - alphasCumprod[t]) <= 1e-6 * Math.max(a, 1e-3))) return name
  }
  return undefined
}
