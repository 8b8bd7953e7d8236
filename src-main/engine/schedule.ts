/**
 * Noise schedules: beta_t for t = 0..T-1 and alphas_cumprod (alpha-bar) from them.
 * One function a schedule (their names live in src-shared/names.ts).
 * Formulas follow diffusers' `betas_for_alpha_bar` / DDPMScheduler.__init__.
 */
import { MAX_TRAIN_STEPS } from '../../src-shared/limits'
import { parseScheduleName, type ScheduleName, SCHEDULES } from '../../src-shared/names'
import { DEFAULT_SCHEDULE, type ScheduleConfig } from '../../src-shared/parameters'
import { EngineError } from './errors'

export { DEFAULT_SCHEDULE, parseScheduleName, type ScheduleConfig, type ScheduleName, SCHEDULES }

const linspace = (a: number, b: number, n: number): number[] =>
  n === 1 ? [a] : Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1))

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x))

/** Improved DDPM (Nichol & Dhariwal 2021), eq. 17: alpha-bar(t) = cos^2(((t/T + s)/(1 + s)) pi/2), s = 0.008. */
function cosineBetas(T: number, maxBeta = 0.999): number[] {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2
  return Array.from({ length: T }, (_, i) => Math.min(1 - alphaBar((i + 1) / T) / alphaBar(i / T), maxBeta))
}

const BETAS: Record<ScheduleName, (c: ScheduleConfig) => number[]> = {
  // DDPM (Ho et al. 2020), section 4.
  linear: (c) => linspace(c.betaStart, c.betaEnd, c.trainSteps),
  // Latent diffusion's schedule: linear in sqrt(beta).
  scaled_linear: (c) => linspace(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), c.trainSteps).map((b) => b * b),
  cosine: (c) => cosineBetas(c.trainSteps),
  // The same formula as scaled_linear under the name the DDPM literature (and lucidrains) gives it.
  quadratic: (c) => linspace(Math.sqrt(c.betaStart), Math.sqrt(c.betaEnd), c.trainSteps).map((b) => b * b),
  // GeoDiff (Xu et al. 2022): sigmoid(linspace(-6, 6, T)) * (bT - b0) + b0.
  sigmoid: (c) => linspace(-6, 6, c.trainSteps).map((x) => sigmoid(x) * (c.betaEnd - c.betaStart) + c.betaStart),
}

export function betasFor(config: ScheduleConfig): Float64Array {
  if (!Number.isInteger(config.trainSteps) || config.trainSteps < 1 || config.trainSteps > MAX_TRAIN_STEPS) {
    throw new EngineError(
      'bad-argument',
      `train steps must be an integer from 1 to ${MAX_TRAIN_STEPS}, got ${config.trainSteps}`,
    )
  }
  const betas = Float64Array.from(BETAS[config.schedule](config))
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

export function makeSchedule(config: ScheduleConfig): Schedule {
  const betas = betasFor(config)
  return { config, betas, alphasCumprod: cumprodOfAlphas(betas) }
}
