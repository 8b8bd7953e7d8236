/**
 * DPM-Solver++ multistep (Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion
 * Probabilistic Models", section 4 and algorithm 2) with diffusers' DPMSolverMultistepScheduler semantics:
 * the data-prediction ODE solved in lambda = log(alpha_t / sigma_t), one model call a step, the last
 * `solver_order` data predictions remembered between steps. dpmpp-2m is order 2 (the table allows 1 and 2);
 * dpmpp-3m (dpmpp-3m.ts) is this solver at order 3, and dpmpp-2m-sde (dpmpp-2m-sde.ts) its
 * algorithm_type "sde-dpmsolver++", which adds fresh noise every step.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { clipPredictedX0, predictionAt, vpSampler } from './common'
import { alphaSigmaLambda, dataPredictionCoefficients, lambdaSchedule } from './dpm-solver'
import type { Sampler, SamplerStart, SamplerState } from './sampler'
import { sigmaSteps, trainingSigmas } from './sigmas'

/** DPMSolverMultistepScheduler's configuration: the options dpmpp-2m, dpmpp-3m and dpmpp-2m-sde read. */
export type DpmSolverMultistepConfig = SamplerConfigOf<'dpmpp-2m' | 'dpmpp-3m' | 'dpmpp-2m-sde'>

/** What a multistep DPM-Solver carries between steps. */
export interface DpmSolverState extends SamplerState {
  kind: 'dpm-solver-multistep'
  /** diffusers' `model_outputs`: the last data predictions (after thresholding), newest last, each at its sigma. */
  outputs: { x0: Float32Array; sigma: number }[]
  /** diffusers' `lower_order_nums`: steps taken so far, up to the order (the multistep method's warm-up). */
  lowerOrderNums: number
}
const KIND = 'dpm-solver-multistep'

export const dpmpp2m = (settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler =>
  dpmSolverMultistep(configOf('dpmpp-2m', settings), schedule, start)

/** DPMSolverMultistepScheduler with algorithm_type "dpmsolver++" or, `sde`, "sde-dpmsolver++". */
export function dpmSolverMultistep(
  config: DpmSolverMultistepConfig,
  schedule: Schedule,
  start: SamplerStart = {},
  sde = false,
): Sampler {
  const train = trainingSigmas(schedule)
  const own = lambdaSchedule(config, schedule, train, {
    roundKarras: 'unless-cosine',
    finalSigma: (_, sigmaMin) => (config.finalSigmas === 'sigma_min' ? sigmaMin : 0),
  })
  const steps = sigmaSteps(own, train, start)
  const { timesteps, sigmas } = steps
  const order = config.solverOrder
  const carried = start.state?.kind === KIND ? (start.state as DpmSolverState) : undefined
  let outputs = carried?.outputs.slice(-order) ?? []
  let lowerOrderNums = carried?.lowerOrderNums ?? 0
  // diffusers counts steps with len(self.timesteps): a run's full schedule, where a fork continues it.
  const fewSteps = config.lowerOrderFinal && config.steps < 15

  return vpSampler({
    ...steps,
    // sde-dpmsolver++ draws noise at every step (the last, to sigma 0, multiplies it by 0).
    isStochastic: () => sde,
    state: (): DpmSolverState => ({ kind: KIND, outputs: outputs.slice(), lowerOrderNums }),
    step(modelOutput, index, sample, imageSize, noise) {
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
      const { h, a, b, c, d, noise: n } = dataPredictionCoefficients(s0, t, sde)
      if (sde && !noise) throw new Error('dpmpp-2m-sde needs noise at every step')
      const z = (i: number) => (sde ? n * noise![i] : 0)
      const prevSample = new Float32Array(sample.length)
      if (order === 1 || lowerOrderNums < 1 || lowerFinal) {
        // DPM-Solver++ paper, eq. 9 (first order, DDIM): x_t = sigma_t / sigma_s x_s - alpha_t (e^-h - 1) x0.
        for (let i = 0; i < sample.length; i++) prevSample[i] = a * sample[i] + b * x0[i] + z(i)
      } else if (order === 2 || lowerOrderNums < 2 || lowerSecond) {
        // Algorithm 2 (multistep second order): D1 = (x0_s0 - x0_s1) / r0 with r0 = h_{i-1} / h.
        const m1 = outputs[outputs.length - 2]
        const r0 = (s0.lambda - alphaSigmaLambda(m1.sigma).lambda) / h
        // midpoint: the paper's 1/2 (e^-h - 1) D1; heun: the variant with ((e^-h - 1) / h + 1) D1. diffusers
        // quirk kept: with the heun solver type, sigma_min final sigmas and Karras, exponential or beta
        // sigmas, the last step has h = 0 from 15 steps on (below 15 it is first order), and 0 / 0 makes
        // the image NaN, as in diffusers.
        const c1 = config.solverType === 'midpoint' ? 0.5 * b : c()
        for (let i = 0; i < sample.length; i++) {
          const d1 = (x0[i] - m1.x0[i]) / r0
          prevSample[i] = a * sample[i] + b * x0[i] + c1 * d1 + z(i)
        }
      } else {
        // Third order (DPM-Solver paper, Lu et al. 2022, algorithm 3, in its data-prediction form).
        const [m2, m1] = outputs.slice(-3, -1)
        const l1 = alphaSigmaLambda(m1.sigma).lambda
        const l2 = alphaSigmaLambda(m2.sigma).lambda
        const r0 = (s0.lambda - l1) / h
        const r1 = (l1 - l2) / h
        const [c1, d2] = [c(), d()]
        for (let i = 0; i < sample.length; i++) {
          const d10 = (x0[i] - m1.x0[i]) / r0
          const d11 = (m1.x0[i] - m2.x0[i]) / r1
          const D1 = d10 + (r0 / (r0 + r1)) * (d10 - d11)
          const D2 = (d10 - d11) / (r0 + r1)
          prevSample[i] = a * sample[i] + b * x0[i] + c1 * D1 + d2 * D2 + z(i)
        }
      }
      if (lowerOrderNums < order) lowerOrderNums++
      return { prevSample, predictedX0: prediction.predictedX0, predictedNoise: prediction.predictedNoise }
    },
  })
}
