/**
 * DEIS (Zhang & Chen 2023, "Fast Sampling of Diffusion Models with Exponential Integrator") with diffusers'
 * DEISMultistepScheduler semantics: the "logrho" multistep integrator, the noise prediction extrapolated
 * by a Lagrange polynomial in log rho (rho = sigma / alpha, our sigma) and integrated exactly over the step,
 * one model call a step. Its only algorithm and solver type are these, so it has no such options; and no
 * final_sigmas_type: the last step goes to the schedule's smallest sigma, not to 0.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { clipPredictedX0, predictionAt, vpSampler } from './common'
import { alphaSigmaLambda, lambdaSchedule } from './dpm-solver'
import type { Sampler, SamplerStart, SamplerState } from './sampler'
import { sigmaSteps, trainingSigmas } from './sigmas'

/** DEISMultistepScheduler's configuration: the options deis reads, with diffusers' defaults. */
export type DeisConfig = SamplerConfigOf<'deis'>

/** What DEIS carries between steps. */
export interface DeisState extends SamplerState {
  kind: 'deis'
  /** diffusers' `model_outputs`: the last noise predictions (re-derived from thresholded x0), each at its sigma. */
  outputs: { eps: Float32Array; sigma: number }[]
  lowerOrderNums: number
}
const KIND = 'deis'

/** DEIS paper, eq. 15 with a Lagrange basis in log rho: the integral of the basis polynomial through b, zero at c (and d). */
function lagrangeIntegral(t: number, b: number, others: number[]): number {
  const [lt, lb] = [Math.log(t), Math.log(b)]
  if (others.length === 1) {
    // Integrate[(log(t) - log(c)) / (log(b) - log(c)), {t}]
    const lc = Math.log(others[0])
    return (t * (-lc + lt - 1)) / (lb - lc)
  }
  // Integrate[(log(t) - log(c))(log(t) - log(d)) / ((log(b) - log(c))(log(b) - log(d))), {t}]
  const [lc, ld] = others.map(Math.log)
  return (t * (lc * (ld - lt + 1) - ld * lt + ld + lt * lt - 2 * lt + 2)) / ((lb - lc) * (lb - ld))
}

export function deis(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: DeisConfig = configOf('deis', settings)
  const train = trainingSigmas(schedule)
  // diffusers quirk: with Karras, exponential or beta sigmas the last sigma is repeated as the final one, so
  // the last step goes nowhere (its model call changes nothing); with the spacing's sigmas it is sigma_min.
  const own = lambdaSchedule(config, schedule, train, {
    roundKarras: 'always',
    finalSigma: (sigmas, sigmaMin) => (config.sigmas === 'spacing' ? sigmaMin : sigmas[sigmas.length - 1]),
  })
  const steps = sigmaSteps(own, train, start)
  const { timesteps, sigmas } = steps
  const order = config.solverOrder
  const carried = start.state?.kind === KIND ? (start.state as DeisState) : undefined
  let outputs = carried?.outputs.slice(-order) ?? []
  let lowerOrderNums = carried?.lowerOrderNums ?? 0
  const fewSteps = config.lowerOrderFinal && config.steps < 15

  return vpSampler({
    ...steps,
    isStochastic: () => false,
    state: (): DeisState => ({ kind: KIND, outputs: outputs.slice(), lowerOrderNums }),
    step(modelOutput, index, sample, imageSize) {
      const s0 = alphaSigmaLambda(sigmas[index])
      const t = alphaSigmaLambda(sigmas[index + 1])
      const prediction = predictionAt(config.predictionType, modelOutput, sample, s0.alpha, s0.sigma)
      // convert_model_output: x0 (thresholded when asked), then the noise that gives it.
      const x0 = clipPredictedX0(prediction.predictedX0, config, imageSize)
      const eps = sample.map((x, i) => (x - s0.alpha * x0[i]) / s0.sigma)
      outputs = [...outputs, { eps, sigma: sigmas[index] }].slice(-order)
      const lowerFinal = fewSteps && index === timesteps.length - 1
      const lowerSecond = fewSteps && index === timesteps.length - 2
      const prevSample = new Float32Array(sample.length)
      if (order === 1 || lowerOrderNums < 1 || lowerFinal) {
        // First order (DDIM): x_t = alpha_t / alpha_s x - sigma_t (e^h - 1) eps.
        const a = t.alpha / s0.alpha
        const b = -t.sigma * Math.expm1(t.lambda - s0.lambda)
        for (let i = 0; i < sample.length; i++) prevSample[i] = a * sample[i] + b * eps[i]
      } else {
        // x_t = alpha_t (x_s / alpha_s + sum_j coef_j eps_j), coef_j the integral of the j-th basis polynomial.
        const k = order === 2 || lowerOrderNums < 2 || lowerSecond ? 2 : 3
        const used = outputs.slice(-k).reverse()
        const rhos = used.map((o) => o.sigma)
        const coef = rhos.map((b, j) => {
          const others = rhos.filter((_, m) => m !== j)
          return lagrangeIntegral(sigmas[index + 1], b, others) - lagrangeIntegral(sigmas[index], b, others)
        })
        for (let i = 0; i < sample.length; i++) {
          let sum = sample[i] / s0.alpha
          for (let j = 0; j < k; j++) sum += coef[j] * used[j].eps[i]
          prevSample[i] = t.alpha * sum
        }
      }
      if (lowerOrderNums < order) lowerOrderNums++
      return { prevSample, predictedX0: prediction.predictedX0, predictedNoise: prediction.predictedNoise }
    },
  })
}
