/**
 * Heun's method on the probability-flow ODE in sigma space (Karras et al. 2022, algorithm 1 with gamma = 0:
 * an Euler step, then the trapezoidal correction with a second model call at its end), with diffusers'
 * HeunDiscreteScheduler semantics. Two model calls a step, one for the last (to sigma 0, where Karras'
 * algorithm ends with the plain Euler step): 2N - 1 calls for N steps.
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { clipPredictedX0 } from './common'
import type { Sampler, SamplerStart } from './sampler'
import { eulerFamilySteps, predictionAtSigma, scaleBySigma } from './sigmas'

/** HeunDiscreteScheduler's configuration: the options Heun reads, with diffusers' defaults (SAMPLER_INFO.heun). */
export type HeunConfig = SamplerConfigOf<'heun'>

export function heun(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: HeunConfig = configOf('heun', settings)
  const steps = eulerFamilySteps(config, schedule, start)
  const { timesteps, sigmas } = steps
  const callsAt = (index: number) => (sigmas[index + 1] > 0 ? 2 : 1)
  const sigmaAt = (index: number, call = 0) => sigmas[index + call]
  // Between a step's two calls: its start x, the first slope and the step in sigma (diffusers' `sample`,
  // `prev_derivative`, `dt`). Nothing is carried from one step to the next.
  let first: { sample: Float32Array; derivative: Float32Array; dt: number } | undefined

  return {
    ...steps,
    order: 2,
    callsAt,
    // The second call evaluates at the end of the step: the next step's timestep and sigma.
    timestepAt: (index, call) => timesteps[index + call],
    scaleModelInput: (sample, index, call = 0) => scaleBySigma(sample, sigmaAt(index, call)),
    fromModelInput: (input, index) => scaleBySigma(input, sigmaAt(index), true),
    isStochastic: () => false,
    state: () => undefined,
    step(modelOutput, index, sample, imageSize, _noise, call = 0) {
      const sigma = sigmaAt(index, call)
      const { predictedX0, predictedNoise } = predictionAtSigma(config.predictionType, modelOutput, sample, sigma)
      const x0 = clipPredictedX0(predictedX0, config, imageSize)
      const prevSample = new Float32Array(sample.length)
      // Float32 operations, as diffusers'.
      const f = Math.fround
      if (call === 0) {
        // Karras et al. 2022, algorithm 1, lines 7-8: the Euler step to sigma_{i+1}.
        const dt = f(sigmas[index + 1] - sigma)
        const derivative = new Float32Array(sample.length)
        for (let i = 0; i < sample.length; i++) {
          derivative[i] = f(sample[i] - x0[i]) / sigma
          prevSample[i] = sample[i] + f(derivative[i] * dt)
        }
        first = callsAt(index) === 2 ? { sample, derivative, dt } : undefined
      } else {
        if (!first) throw new Error("heun: a step's second call came before its first")
        // Algorithm 1, lines 9-11: the slope at the Euler point, and the trapezoidal rule over the step.
        const { sample: start, derivative, dt } = first
        for (let i = 0; i < sample.length; i++) {
          const slope = f(derivative[i] + f(f(sample[i] - x0[i]) / sigma)) / 2
          prevSample[i] = start[i] + f(slope * dt)
        }
        first = undefined
      }
      return { prevSample, predictedX0, predictedNoise }
    },
  }
}
