/**
 * DPM-Solver++ singlestep (Lu et al. 2022, "DPM-Solver++", algorithm 1, and DPM-Solver-3 of the DPM-Solver
 * paper, algorithm 2, in data-prediction form) with diffusers' DPMSolverSinglestepScheduler semantics.
 * A singlestep solver of order k takes k model calls to go from one point to the next; diffusers lays
 * those calls out as k of its steps, one model call each, and so does the timeline: the group's first
 * step is a DPM-Solver-1 (DDIM) step to the next point, whose sample is the intermediate the group's
 * later calls evaluate, and its last step goes from the group's first sample to the group's end with
 * every call's data prediction. The orders step by step are `orderList`.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { clipPredictedX0, predictionAt, vpSampler } from './common'
import { alphaSigmaLambda, dataPredictionCoefficients, fullRunOffset, lambdaSchedule } from './dpm-solver'
import type { Sampler, SamplerStart, SamplerState } from './sampler'
import { sigmaSteps, trainingSigmas } from './sigmas'

/** DPMSolverSinglestepScheduler's configuration: the options dpmpp-2s reads, with diffusers' defaults. */
export type DpmSolverSinglestepConfig = SamplerConfigOf<'dpmpp-2s'>

/** What the singlestep solver carries from one step of a group to the next. */
export interface DpmSolverSinglestepState extends SamplerState {
  kind: 'dpm-solver-singlestep'
  /** diffusers' `model_outputs`: the last data predictions (after thresholding), newest last, each at its sigma. */
  outputs: { x0: Float32Array; sigma: number }[]
  /** diffusers' `sample`: the sample the current group started from. */
  groupSample?: Float32Array
}
const KIND = 'dpm-solver-singlestep'

/**
 * diffusers' get_order_list: the solver order of each step, [1, 2, 1, 2, ...] at order 2 and [1, 2, 3, ...]
 * at order 3, a shorter group at the end when the steps do not divide (lower_order_final) and the last
 * step first order with a final sigma of 0.
 */
export function orderList(steps: number, order: number, lowerOrderFinal: boolean, finalZero: boolean): number[] {
  const groups = (n: number, g: number[]) => Array.from({ length: n }, () => g).flat()
  let orders: number[]
  if (order === 1) orders = Array(steps).fill(1)
  else if (!lowerOrderFinal) orders = groups(Math.floor(steps / order), order === 2 ? [1, 2] : [1, 2, 3])
  else if (order === 2)
    orders = steps % 2 === 0 ? [...groups(steps / 2 - 1, [1, 2]), 1, 1] : [...groups((steps - 1) / 2, [1, 2]), 1]
  else if (steps % 3 === 0) orders = [...groups(steps / 3 - 1, [1, 2, 3]), 1, 2, 1]
  else orders = [...groups(Math.floor(steps / 3), [1, 2, 3]), ...(steps % 3 === 1 ? [1] : [1, 2])]
  if (finalZero) orders[orders.length - 1] = 1
  return orders
}

export function dpmpp2s(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: DpmSolverSinglestepConfig = configOf('dpmpp-2s', settings)
  const train = trainingSigmas(schedule)
  // No timestep_spacing in this scheduler: always linspace. Karras timesteps are rounded under every schedule.
  const own = lambdaSchedule(config, schedule, train, {
    roundKarras: 'always',
    finalSigma: (_, sigmaMin) => (config.finalSigmas === 'sigma_min' ? sigmaMin : 0),
  })
  const steps = sigmaSteps(own, train, start)
  const { sigmas } = steps
  const offset = fullRunOffset(own, steps)
  const order = config.solverOrder
  // diffusers quirk: set_timesteps switches lower_order_final on when the steps do not divide by the order
  // or the final sigma is 0, whatever the config says.
  const finalZero = config.finalSigmas === 'zero'
  const lowerOrderFinal = config.lowerOrderFinal || config.steps % order !== 0 || finalZero
  const orders = orderList(config.steps, order, lowerOrderFinal, finalZero)
  const carried = start.state?.kind === KIND ? (start.state as DpmSolverSinglestepState) : undefined
  let outputs = carried?.outputs.slice(-order) ?? []
  let groupSample = carried?.groupSample

  return vpSampler({
    ...steps,
    isStochastic: () => false,
    state: (): DpmSolverSinglestepState => ({ kind: KIND, outputs: outputs.slice(), groupSample }),
    step(modelOutput, index, sample, imageSize) {
      const s0 = alphaSigmaLambda(sigmas[index])
      const t = alphaSigmaLambda(sigmas[index + 1])
      const prediction = predictionAt(config.predictionType, modelOutput, sample, s0.alpha, s0.sigma)
      const x0 = clipPredictedX0(prediction.predictedX0, config, imageSize)
      outputs = [...outputs, { x0, sigma: sigmas[index] }].slice(-order)
      // A run that starts part-way (image to image, a fork without the parent's history) has fewer
      // outputs than its step's order asks: diffusers lowers the order to what it has.
      const full = index + offset
      const stepOrder = Math.min(full >= 0 ? orders[full] : 1, outputs.length)
      if (stepOrder === 1) groupSample = sample
      // Every order goes from the group's first sample and sigma to t.
      const first = stepOrder === 1 ? outputs[outputs.length - 1] : outputs[outputs.length - stepOrder]
      const s = alphaSigmaLambda(first.sigma)
      const { h, a, b, c, d } = dataPredictionCoefficients(s, t)
      const from = groupSample!
      const prevSample = new Float32Array(sample.length)
      if (stepOrder === 1) {
        // DPM-Solver++ paper, eq. 9: the DDIM step.
        for (let i = 0; i < sample.length; i++) prevSample[i] = a * from[i] + b * x0[i]
      } else if (stepOrder === 2) {
        // DPM-Solver++(2S) (algorithm 1): D1 = (x0_s0 - x0_s1) / r0 with r0 = (lambda_s0 - lambda_s1) / h.
        const m1 = outputs[outputs.length - 2].x0
        const r0 = (s0.lambda - s.lambda) / h
        const c1 = config.solverType === 'midpoint' ? 0.5 * b : c()
        for (let i = 0; i < sample.length; i++) prevSample[i] = a * from[i] + b * m1[i] + c1 * ((x0[i] - m1[i]) / r0)
      } else {
        // DPM-Solver-3 (DPM-Solver paper, algorithm 2, data prediction). midpoint: its D1 from the last
        // call alone; heun: D1 and D2 from both.
        const [m2, m1] = outputs.slice(-3, -1).map((o) => o.x0)
        const r0 = (s0.lambda - s.lambda) / h
        const r1 = (alphaSigmaLambda(outputs[outputs.length - 2].sigma).lambda - s.lambda) / h
        const [c1, d2] = [c(), config.solverType === 'midpoint' ? 0 : d()]
        for (let i = 0; i < sample.length; i++) {
          const d10 = (m1[i] - m2[i]) / r1
          const d11 = (x0[i] - m2[i]) / r0
          const D1 = config.solverType === 'midpoint' ? d11 : (r0 * d10 - r1 * d11) / (r0 - r1)
          const D2 = (2 * (d11 - d10)) / (r0 - r1)
          prevSample[i] = a * from[i] + b * m2[i] + c1 * D1 + d2 * D2
        }
      }
      return { prevSample, predictedX0: prediction.predictedX0, predictedNoise: prediction.predictedNoise }
    },
  })
}
