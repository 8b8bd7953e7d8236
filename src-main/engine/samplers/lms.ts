/**
 * The linear multistep method on the probability-flow ODE in sigma space (k-diffusion's sample_lms; Karras
 * et al. 2022 discuss it as the classic alternative to their Heun sampler) with diffusers'
 * LMSDiscreteScheduler semantics: one model call a step; x moves by the integral over [sigma_i, sigma_{i+1}]
 * of the polynomial through the last (up to) four derivatives dx/dsigma = (x - x0) / sigma, each at its sigma
 * (Adams-Bashforth on an uneven grid). The derivatives are remembered between steps and carried by a fork.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import type { Sampler, SamplerStart, SamplerState } from './sampler'
import {
  eulerFamilySchedule,
  eulerInitNoiseSigma,
  predictionAtSigma,
  sigmaSampler,
  sigmaSteps,
  trainingSigmas,
} from './sigmas'

/** LMSDiscreteScheduler's configuration: the options LMS reads, with diffusers' defaults (SAMPLER_INFO.lms). */
export type LmsConfig = SamplerConfigOf<'lms'>

/** diffusers' `step(..., order=4)`: pipelines never pass another. */
export const LMS_ORDER = 4

/** What LMS carries between steps: diffusers' `derivatives` before the current one, each at its sigma. */
export interface LmsState extends SamplerState {
  kind: 'lms'
  /** Oldest first, at most LMS_ORDER - 1. */
  derivatives: { derivative: Float32Array; sigma: number }[]
}
const KIND = 'lms'

/**
 * diffusers' get_lms_coefficient: the integral from `from` to `to` of the Lagrange basis polynomial that is 1
 * at nodes[j] and 0 at the other nodes. The integrand has degree nodes.length - 1 <= 3, so the two-point
 * Gauss-Legendre rule is exact for it (degree 2 * 2 - 1 = 3); diffusers integrates the same polynomial with
 * scipy.integrate.quad (21-point Gauss-Kronrod, exact too, with the integrand evaluated in float32). Product
 * form at interior points, not expanded coefficients, so nothing cancels when |sigma| >> |to - from|.
 */
export function lmsCoefficient(nodes: number[], j: number, from: number, to: number): number {
  if (nodes.length > 4) throw new Error('lmsCoefficient: two Gauss-Legendre points are exact up to 4 nodes')
  const basis = (tau: number) =>
    nodes.reduce((prod, node, k) => (k === j ? prod : (prod * (tau - node)) / (nodes[j] - node)), 1)
  const half = (to - from) / 2
  const mid = (to + from) / 2
  const offset = half / Math.sqrt(3)
  return half * (basis(mid - offset) + basis(mid + offset))
}

export function lms(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: LmsConfig = configOf('lms', settings)
  const train = trainingSigmas(schedule)
  const own = eulerFamilySchedule(config, train)
  const steps = sigmaSteps(own, train, start)
  const { sigmas } = steps
  // Where the run's first step is in the full schedule (0 from the start, -1 for a start between its sigmas).
  const first = own.sigmas.slice(0, config.steps).indexOf(sigmas[0])
  const carried = start.state?.kind === KIND ? (start.state as LmsState) : undefined
  let history = carried?.derivatives.slice(-(LMS_ORDER - 1)) ?? []

  /**
   * The nodes of step `index`'s polynomial, newest first: its sigma, then the remembered derivatives'. diffusers
   * quirk kept: its order is min(step index + 1, 4) in the full schedule however many derivatives it has, so a
   * run started part-way at one of its steps without a history (diffusers' img2img, its test_full_loop_with_noise)
   * integrates the basis polynomial of a 4-node interpolation through its schedule's earlier sigmas and keeps
   * only the current derivative's term: a first step longer than Euler's (55/24 of it on an even grid, 1.4 at
   * step 6 of 10 on the linear schedule). We fill those nodes the same.
   */
  const nodesAt = (index: number): number[] => {
    const nodes = [sigmas[index], ...history.map((h) => h.sigma).reverse()]
    const at = first >= 0 ? first + index : -1
    const order = at >= 0 ? Math.min(at + 1, LMS_ORDER) : Math.min(nodes.length, LMS_ORDER)
    for (let k = nodes.length; k < order; k++) nodes.push(own.sigmas[at - k])
    return nodes.slice(0, order)
  }

  return sigmaSampler(
    { ...steps, initNoiseSigma: eulerInitNoiseSigma(own.sigmas, config.timestepSpacing) },
    {
      state: (): LmsState => ({ kind: KIND, derivatives: history.slice() }),
      step(modelOutput, index, sample) {
        const sigma = sigmas[index]
        const { predictedX0, predictedNoise } = predictionAtSigma(config.predictionType, modelOutput, sample, sigma)
        const f = Math.fround
        const derivative = new Float32Array(sample.length)
        for (let i = 0; i < sample.length; i++) derivative[i] = f(f(sample[i] - predictedX0[i]) / sigma)
        const nodes = nodesAt(index)
        // The derivatives newest first, paired with the nodes' coefficients (diffusers zips them: a missing
        // derivative drops its term).
        const terms = [derivative, ...history.map((h) => h.derivative).reverse()]
          .slice(0, nodes.length)
          .map((d, j) => ({ d, c: f(lmsCoefficient(nodes, j, sigma, sigmas[index + 1])) }))
        const prevSample = new Float32Array(sample.length)
        for (let i = 0; i < sample.length; i++) {
          // Python's sum() over float32 tensors: left to right, each product and partial sum rounded.
          let sum = 0
          for (const { d, c } of terms) sum = f(sum + f(c * d[i]))
          prevSample[i] = sample[i] + sum
        }
        history = [...history, { derivative, sigma }].slice(-(LMS_ORDER - 1))
        return { prevSample, predictedX0, predictedNoise }
      },
    },
  )
}
