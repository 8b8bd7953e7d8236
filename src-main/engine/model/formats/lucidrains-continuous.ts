/**
 * lucidrains' ContinuousTimeGaussianDiffusion (continuous_time_gaussian_diffusion.py, after Kingma et al.'s
 * variational diffusion models): time t runs over [0, 1], the noise level is log SNR(t) of a named schedule
 * (beta_linear_log_snr, its default; alpha_cosine_log_snr) or of a small learned net, and its Unet takes that
 * log SNR as its time. Its state dict holds the Unet as `model.*`, the learned schedule's net as `log_snr.*`,
 * and no buffers. Stepwise gives it a virtual schedule of T = 1000 timesteps, timestep k at t = (k + 1) / T
 * (k = T - 1 is t = 1; the step after k = 0 reaches t = 0), alphas_cumprod sigmoid(log SNR), and its graph reads
 * the Unet's log SNR from the table (graph/time-table.ts). Its ancestral p_sample_loop of N steps, from t = 1 to
 * 0 in steps of 1 / N, is then DDPM at N trailing-spaced steps, x0 clamped as its clip_sample_denoised does.
 * Pure: weights and sidecar in, facts and metadata out.
 */
import { basename } from 'node:path'

import { sourceFact } from '../../../../src-shared/model'
import { EngineError } from '../../errors'
import { inferUnetConfig } from '../graph/lucidrains-unet-config'
import { float32Of, type StoredTensor, type Weights } from '../weights/tensor'
import type { DiffusionPart } from './lucidrains-diffusion'

const CONTINUOUS_STEPS = 1000

/** The named schedules' log SNR(t), as the module computes them (its `log` clamps at eps). */
export const LOG_SNR = {
  linear: (t: number) => -Math.log(Math.max(Math.expm1(1e-4 + 10 * t * t), 1e-20)),
  cosine: (t: number, s = 0.008) => -Math.log(Math.max(Math.cos(((t + s) / (1 + s)) * Math.PI * 0.5) ** -2 - 1, 1e-5)),
}
type NoiseSchedule = keyof typeof LOG_SNR | 'learned'

/** The learned_noise_schedule net's weights, under `log_snr.net.` in the state dict. */
const LEARNED = [
  '1.net.weight',
  '1.net.bias',
  '2.fn.0.net.weight',
  '2.fn.0.net.bias',
  '2.fn.2.net.weight',
  '2.fn.2.net.bias',
]

/**
 * learned_noise_schedule(t): a monotonic net (MonotonicLinear: |W| x + |b|) of 1 -> 1, plus a residual
 * 1 -> H -> sigmoid -> 1, normalized to run from log SNR max at t = 0 to min at t = 1, the linear schedule's.
 */
function learnedLogSnr(get: (name: string) => Float32Array): (t: number) => number {
  const [w1, b1, w2, b2, w3, b3] = LEARNED.map((n) => get(n).map(Math.abs))
  const net = (t: number) => {
    const h = w1[0] * t + b1[0]
    let r = b3[0]
    for (let j = 0; j < w2.length; j++) r += w3[j] / (1 + Math.exp(-(w2[j] * h + b2[j])))
    return h + r
  }
  const [max, min] = [LOG_SNR.linear(0), LOG_SNR.linear(1)]
  const [zero, one] = [net(0), net(1)]
  return (t) => (min - max) * ((net(t) - zero) / (one - zero)) + max
}

/** log SNR at each virtual timestep k, t = (k + 1) / T. */
export const logSnrTable = (logSnr: (t: number) => number, T = CONTINUOUS_STEPS): Float64Array =>
  Float64Array.from({ length: T }, (_, k) => logSnr((k + 1) / T))

/** A ContinuousTimeGaussianDiffusion: its schedule from its learned net, the sidecar, or its default. */
export function continuousPart(
  weights: Weights,
  buffer: (name: string) => StoredTensor | undefined,
  sidecar: Record<string, unknown> | undefined,
  sidecarPath: string,
  path: string,
): DiffusionPart {
  const { config, facts } = inferUnetConfig(weights, path)
  if (config.selfCondition || config.classes || config.learnedVariance)
    throw new EngineError(
      'unsupported-model',
      `${path}: a continuous-time model (no alphas_cumprod) around a Unet with ${config.selfCondition ? 'self_condition' : config.classes ? 'classes' : 'learned_variance'}, which ContinuousTimeGaussianDiffusion does not take`,
    )
  const learned = buffer(`log_snr.net.${LEARNED[0]}`)
  const given = sidecar?.noise_schedule
  if (given !== undefined && given !== 'linear' && given !== 'cosine')
    throw new EngineError(
      'bad-metadata',
      `${sidecarPath}: noise_schedule must be "linear" or "cosine" (a learned one is read from the checkpoint); found ${JSON.stringify(given)}`,
    )
  const schedule: NoiseSchedule = learned ? 'learned' : (given ?? 'linear')
  const logSnr =
    schedule === 'learned'
      ? learnedLogSnr((name) => {
          const t = buffer(`log_snr.net.${name}`)
          if (!t) throw new EngineError('bad-weights', `${path}: a learned noise schedule without log_snr.net.${name}`)
          return float32Of(t, `${path}: log_snr.net.${name}`)
        })
      : LOG_SNR[schedule]
  const table = logSnrTable(logSnr)
  const predicted = sidecar?.prediction_type
  facts.push(
    sourceFact(
      'diffusion',
      'ContinuousTimeGaussianDiffusion',
      'checkpoint',
      'learned sinusoidal time features and no alphas_cumprod: its Unet takes log SNR',
    ),
    learned
      ? sourceFact('noise_schedule', 'learned', 'checkpoint', 'log_snr.net.*: learned_noise_schedule')
      : given
        ? sourceFact('noise_schedule', given, 'config', basename(sidecarPath))
        : sourceFact('noise_schedule', 'linear', 'assumed', 'its default (cosine: noise_schedule in a sidecar)'),
    sourceFact(
      'timesteps',
      CONTINUOUS_STEPS,
      'assumed',
      `virtual: timestep k at t = (k + 1) / ${CONTINUOUS_STEPS}, log SNR ${table[CONTINUOUS_STEPS - 1].toFixed(2)} to ${table[0].toFixed(2)}`,
    ),
    predicted === undefined
      ? sourceFact(
          'objective',
          'pred_noise',
          'assumed',
          "ContinuousTimeGaussianDiffusion's (VParamContinuousTimeGaussianDiffusion's is v: prediction_type v_prediction and noise_schedule cosine in a sidecar)",
        )
      : sourceFact('prediction_type', predicted, 'config', basename(sidecarPath)),
    sourceFact('clip_sample', true, 'sampler', 'clip_sample_denoised (its default): p_sample_loop clamps x0'),
  )
  return {
    config,
    facts,
    notes: [],
    metadata: {
      alphas_cumprod: Array.from(table, (l) => 1 / (1 + Math.exp(-l))),
      num_train_timesteps: CONTINUOUS_STEPS,
      prediction_type: 'epsilon',
      // t = 1, 1 - 1/N, ..., 1/N: p_sample_loop's times.
      timestep_spacing: 'trailing',
      steps_offset: 0,
      clip_sample: true,
      clip_sample_range: 1,
      set_alpha_to_one: true,
      in_channels: config.channels,
    },
    wrap: { graph: { logSnr: table }, key: `log-snr ${schedule}`, sidecarKeys: ['noise_schedule'] },
    within: 'ContinuousTimeGaussianDiffusion',
    schedule: `continuous time, ${schedule} log SNR, ${CONTINUOUS_STEPS} virtual timesteps`,
  }
}
