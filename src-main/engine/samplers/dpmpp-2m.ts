/**
 * DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
 * Probabilistic Models", section 4 and algorithm 2) with diffusers' DPMSolverMultistepScheduler semantics,
 * algorithm_type "dpmsolver++": the data-prediction ODE solved in lambda = log(alpha_t / sigma_t), one
 * model call a step, the last `solver_order` data predictions remembered between steps. dpmpp-2m is order
 * 2 (the table allows 1 and 2); dpmpp-3m is this file at order 3, and dpmpp-2m-sde adds the noise term of
 * sde-dpmsolver++ to these updates.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import { EngineError } from '../errors'
import type { Schedule } from '../schedule'
import { clipPredictedX0, npLinspace, predictionAt, roundHalfEven, spacedTimesteps, vpSampler } from './common'
import type { Sampler, SamplerStart, SamplerState } from './sampler'
import {
  checkSteps,
  interpAtTimestep,
  logSigmasOf,
  sigmasBetween,
  sigmaSteps,
  sigmaToTimestep,
  trainingSigmas,
} from './sigmas'

/** DPMSolverMultistepScheduler's configuration: the options dpmpp-2m reads, with diffusers' defaults. */
export type DpmSolverMultistepConfig = SamplerConfigOf<'dpmpp-2m'>

/** What a multistep DPM-Solver carries between steps. */
export interface DpmSolverState extends SamplerState {
  kind: 'dpm-solver-multistep'
  /** diffusers' `model_outputs`: the last data predictions (after thresholding), newest last, each at its sigma. */
  outputs: { x0: Float32Array; sigma: number }[]
  /** diffusers' `lower_order_nums`: steps taken so far, up to the order (the multistep method's warm-up). */
  lowerOrderNums: number
}
const KIND = 'dpm-solver-multistep'

/** alpha_t, sigma_t and lambda_t = log(alpha_t / sigma_t) of a sigma (diffusers' `_sigma_to_alpha_sigma_t`). */
function alphaSigmaLambda(sigma: number) {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1)
  const s = sigma * alpha
  return { alpha, sigma: s, lambda: Math.log(alpha) - Math.log(s) }
}

/** DPMSolverMultistepScheduler.set_timesteps: integer timesteps and float32 sigmas, the final one appended. */
function dpmSchedule(
  config: DpmSolverMultistepConfig,
  schedule: Schedule,
  train: Float64Array,
): { timesteps: number[]; sigmas: number[] } {
  const T = train.length
  const N = config.steps
  checkSteps(N, T)
  let timesteps: number[]
  // Unlike DDIM's, these spread N + 1 points and drop the last (timestep 0): the final step goes to the
  // final sigma instead. lambda_min_clipped is diffusers' default -inf, so the last timestep is T.
  if (config.timestepSpacing === 'linspace') {
    timesteps = npLinspace(0, T - 1, N + 1)
      .map(roundHalfEven)
      .reverse()
      .slice(0, N)
  } else if (config.timestepSpacing === 'leading') {
    // diffusers quirk: leading spacing strides T // (N + 1), not DDIM's T // N.
    const ratio = Math.floor(T / (N + 1))
    timesteps = Array.from({ length: N }, (_, i) => (N - i) * ratio + config.stepsOffset)
    if (timesteps[0] >= T) {
      throw new EngineError(
        'bad-argument',
        `steps offset ${config.stepsOffset} puts the first of ${N} steps at timestep ${timesteps[0]}; the model's last is ${T - 1}`,
      )
    }
  } else timesteps = spacedTimesteps(T, N, config.timestepSpacing) // trailing, or lucidrains'
  let sigmas: number[]
  if (config.sigmas === 'spacing') sigmas = timesteps.map((t) => interpAtTimestep(train, t))
  else {
    // Between the schedule's smallest and largest sigma, whatever the spacing.
    sigmas = sigmasBetween(config.sigmas, train[0], train[T - 1], N)
    const logSigmas = logSigmasOf(train)
    // diffusers quirk: Karras timesteps are rounded (np.round: half to even) except under squaredcos_cap_v2;
    // those, and exponential and beta ones, are truncated by the cast to int64.
    const round = config.sigmas === 'karras' && schedule.config.schedule !== 'cosine' ? roundHalfEven : Math.trunc
    timesteps = sigmas.map((s) => round(sigmaToTimestep(s, logSigmas)))
  }
  const last = config.finalSigmas === 'sigma_min' ? train[0] : 0
  return { timesteps, sigmas: [...sigmas, last].map(Math.fround) }
}

export function dpmpp2m(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: DpmSolverMultistepConfig = configOf('dpmpp-2m', settings)
  const train = trainingSigmas(schedule)
  const steps = sigmaSteps(dpmSchedule(config, schedule, train), train, start)
  const { timesteps, sigmas } = steps
  const order = config.solverOrder
  const carried = start.state?.kind === KIND ? (start.state as DpmSolverState) : undefined
  let outputs = carried?.outputs.slice(-order) ?? []
  let lowerOrderNums = carried?.lowerOrderNums ?? 0
  // diffusers counts steps with len(self.timesteps): a run's full schedule, where a fork continues it.
  const fewSteps = config.lowerOrderFinal && config.steps < 15

  return vpSampler({
    ...steps,
    isStochastic: () => false,
    state: (): DpmSolverState => ({ kind: KIND, outputs: outputs.slice(), lowerOrderNums }),
    step(modelOutput, index, sample, imageSize) {
      const s0 = alphaSigmaLambda(sigmas[index])
      const t = alphaSigmaLambda(sigmas[index + 1])
      const prediction = predictionAt(config.predictionType, modelOutput, sample, s0.alpha, s0.sigma)
      // convert_model_output: DPM-Solver++ integrates the data prediction, thresholded when asked.
      const x0 = clipPredictedX0(prediction.predictedX0, config, imageSize)
      outputs = [...outputs, { x0, sigma: sigmas[index] }].slice(-order)
      // Lower orders at the end "for numerical stability" under 15 steps, and always for a final sigma of 0.
      const last = index === timesteps.length - 1
      const lowerFinal = last && (fewSteps || config.finalSigmas === 'zero')
      const lowerSecond = index === timesteps.length - 2 && fewSteps
      const h = t.lambda - s0.lambda
      const prevSample = new Float32Array(sample.length)
      if (order === 1 || lowerOrderNums < 1 || lowerFinal) {
        // DPM-Solver++ paper, eq. 9 (first order, DDIM): x_t = sigma_t / sigma_s x_s - alpha_t (e^-h - 1) x0.
        const a = t.sigma / s0.sigma
        const b = -t.alpha * Math.expm1(-h)
        for (let i = 0; i < sample.length; i++) prevSample[i] = a * sample[i] + b * x0[i]
      } else if (order === 2 || lowerOrderNums < 2 || lowerSecond) {
        // Algorithm 2 (multistep second order): D1 = (x0_s0 - x0_s1) / r0 with r0 = h_{i-1} / h.
        const m1 = outputs[outputs.length - 2]
        const r0 = (s0.lambda - alphaSigmaLambda(m1.sigma).lambda) / h
        const a = t.sigma / s0.sigma
        const b = -t.alpha * Math.expm1(-h)
        // midpoint: the paper's 1/2 (e^-h - 1) D1; heun: the variant with ((e^-h - 1) / h + 1) D1. diffusers
        // quirk kept: with the heun solver type, sigma_min final sigmas and Karras, exponential or beta
        // sigmas, the last step has h = 0 from 15 steps on (below 15 it is first order), and 0 / 0 makes
        // the image NaN, as in diffusers.
        const c = config.solverType === 'midpoint' ? 0.5 * b : t.alpha * (Math.expm1(-h) / h + 1)
        for (let i = 0; i < sample.length; i++) {
          const d1 = (x0[i] - m1.x0[i]) / r0
          prevSample[i] = a * sample[i] + b * x0[i] + c * d1
        }
      } else {
        // Third order (DPM-Solver paper, Lu et al. 2022, algorithm 3, in its data-prediction form).
        const [m2, m1] = outputs.slice(-3, -1)
        const l1 = alphaSigmaLambda(m1.sigma).lambda
        const l2 = alphaSigmaLambda(m2.sigma).lambda
        const r0 = (s0.lambda - l1) / h
        const r1 = (l1 - l2) / h
        const a = t.sigma / s0.sigma
        const b = -t.alpha * Math.expm1(-h)
        const c = t.alpha * (Math.expm1(-h) / h + 1)
        const d = -t.alpha * ((Math.expm1(-h) + h) / (h * h) - 0.5)
        for (let i = 0; i < sample.length; i++) {
          const d10 = (x0[i] - m1.x0[i]) / r0
          const d11 = (m1.x0[i] - m2.x0[i]) / r1
          const d1 = d10 + (r0 / (r0 + r1)) * (d10 - d11)
          const d2 = (d10 - d11) / (r0 + r1)
          prevSample[i] = a * sample[i] + b * x0[i] + c * d1 + d * d2
        }
      }
      if (lowerOrderNums < order) lowerOrderNums++
      return { prevSample, predictedX0: prediction.predictedX0, predictedNoise: prediction.predictedNoise }
    },
  })
}
