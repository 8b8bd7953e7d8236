/**
 * Pseudo numerical methods (Liu et al. 2022, "Pseudo Numerical Methods for Diffusion Models on Manifolds")
 * with diffusers' PNDMScheduler semantics: the transfer of eq. 9 (DDIM's step, written with the model's noise
 * estimate) driven by a Runge-Kutta warm-up and then the linear multistep method (F-PNDM, algorithm 2, eq. 12
 * and 13). With skip_prk_steps the warm-up is one improved-Euler step instead (crowsonkb's PLMS for latent
 * diffusion, what A1111 calls PLMS). The last noise estimates are remembered between steps and carried by a
 * fork.
 *
 * diffusers lays the model calls out in one `timesteps` list and tells them apart by a call counter; here each
 * step lists its calls explicitly (`Call`: the model's timestep, then eq. 9 from one alpha_bar to another),
 * built with diffusers' own arithmetic. Its quirks, kept:
 * - Every "previous timestep" is t - T // N and every Runge-Kutta midpoint t + (T // N) // 2, whatever the
 *   spacing; only "leading" spacing puts them on the grid (with "linspace" and "trailing" a step lands between
 *   grid timesteps and the next model call is labelled with the grid's; so does DDIM).
 * - An odd T // N puts the first Runge-Kutta half step one timestep above the midpoint the model is then
 *   called at ((T // N) // 2 is rounded down on both sides).
 * - With the warm-up, N steps make N + 9 model calls: the top three steps take four each (grid timesteps
 *   d, c + h, c + h, c, as in diffusers' test_steps_offset), the rest one. It needs N >= 4 (below, diffusers'
 *   set_timesteps fails); a run started part-way with fewer than four grid timesteps left warms up between
 *   those it has.
 * - Without the warm-up, N steps make N + 1 calls: the first step an Euler step and its correction with the
 *   model at the next grid timestep (the improved Euler step), then one call a step.
 * - The last step goes from timestep 0 (or steps_offset) to the final alpha_bar: alphas_cumprod[0] unless
 *   set_alpha_to_one, so with the default it moves nothing and its model call is spent for nothing.
 * - v-prediction outputs are combined first and converted to noise with the step's start, not each at its own
 *   point.
 */
import { SAMPLER_OPTIONS } from '../../../src-shared/names'
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import { EngineError } from '../errors'
import type { Schedule } from '../schedule'
import { predictionOf, spacedTimesteps, timestepStart, vpSampler } from './common'
import type { Sampler, SamplerStart, SamplerState } from './sampler'

/** PNDMScheduler's configuration: the options PNDM reads, with diffusers' defaults (SAMPLER_INFO.pndm). */
export type PndmConfig = SamplerConfigOf<'pndm'>

/** What PNDM carries between steps: diffusers' `ets`, the noise estimate at each earlier step's start. */
export interface PndmState extends SamplerState {
  kind: 'pndm'
  /** Oldest first, at most three (the linear multistep method is of order 4). */
  ets: Float32Array[]
}
const KIND = 'pndm'

/** One model call: the model at timestep `t`, then eq. 9 from alpha_bar(from) to alpha_bar(to) (to < 0: the final one). */
interface Call {
  t: number
  from: number
  to: number
}

/**
 * A step: a Runge-Kutta step (four calls, eq. 13), the improved Euler step that starts PLMS (two), or a linear
 * multistep step (one, eq. 12).
 */
interface Step {
  kind: 'runge-kutta' | 'improved-euler' | 'multistep'
  calls: Call[]
}

/**
 * diffusers' set_timesteps and the prk/plms split, on a grid of timesteps (descending, the first where the run
 * starts). `offGrid`: the first is not one of the spacing's (a start part-way between them); then its step goes
 * to the next grid timestep, and its midpoint halfway there, instead of by T // N.
 */
function layout(grid: number[], T: number, N: number, skipPrkSteps: boolean, offGrid: boolean): Step[] {
  const ratio = Math.floor(T / N)
  const half = Math.floor(ratio / 2)
  const next = (j: number) => (offGrid && j === 0 ? (grid[1] ?? -1) : grid[j] - ratio)
  const multistep = (j: number): Step => ({
    kind: 'multistep',
    calls: [{ t: grid[j], from: grid[j], to: next(j) }],
  })
  if (skipPrkSteps) {
    if (grid.length === 1) return [multistep(0)]
    const [top, below] = grid
    // Heun's method in the PNDM transfer: an Euler step, the model at its end, the step again from the start
    // with the mean of the two estimates. diffusers relabels the second call from `below + T // N`.
    const first: Step = {
      kind: 'improved-euler',
      calls: [
        { t: top, from: top, to: next(0) },
        { t: below, from: offGrid ? top : below + ratio, to: below },
      ],
    }
    return [first, ...grid.slice(1).map((_, j) => multistep(j + 1))]
  }
  // Runge-Kutta steps between the top four grid timesteps (fewer for a start near the end), then multistep
  // steps from the last of those: one step a grid timestep.
  const top = grid.slice(0, 4)
  const warmUp: Step[] = top.slice(0, -1).map((d, j) => {
    const c = top[j + 1]
    const mid = offGrid && j === 0 ? c + Math.floor((d - c) / 2) : c + half
    const halfStep = offGrid && j === 0 ? mid : d - half
    return {
      kind: 'runge-kutta',
      calls: [
        { t: d, from: d, to: halfStep },
        { t: mid, from: d, to: mid },
        { t: mid, from: d, to: c },
        { t: c, from: d, to: c },
      ],
    }
  })
  return [...warmUp, ...grid.slice(top.length - 1).map((_, j) => multistep(j + top.length - 1))]
}

/** The linear multistep combinations of eq. 12 (Adams-Bashforth of order 1 to 4), newest estimate last; float32. */
function adamsBashforth(ets: Float32Array[]): Float32Array {
  const f = Math.fround
  const [e1, e2, e3, e4] = ets.slice().reverse()
  if (ets.length === 1) return e1
  if (ets.length === 2) return e1.map((v, i) => f(f(f(3 * v) - e2[i]) / 2))
  if (ets.length === 3) return e1.map((v, i) => f(f(f(f(23 * v) - f(16 * e2[i])) + f(5 * e3[i])) / 12))
  return e1.map((v, i) => f(f(1 / 24) * f(f(f(f(55 * v) - f(59 * e2[i])) + f(37 * e3[i])) - f(9 * e4[i]))))
}

export function pndm(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: PndmConfig = configOf('pndm', settings)
  const { alphasCumprod } = schedule
  const T = alphasCumprod.length
  const N = config.steps
  const grid = spacedTimesteps(T, N, config.timestepSpacing, config.stepsOffset)
  if (N < 4 && !config.skipPrkSteps) {
    throw new EngineError(
      'bad-argument',
      `pndm: ${N} steps are too few for the Runge-Kutta warm-up over the top four timesteps (diffusers fails there too); take 4 or more, or turn on "${SAMPLER_OPTIONS.skipPrkSteps.label}" (--${SAMPLER_OPTIONS.skipPrkSteps.flag} true)`,
    )
  }
  const own = layout(grid, T, N, config.skipPrkSteps, false)
  // A start at one of its own steps with a PNDM history goes on as the full run would (a fork with the
  // parent's settings reproduces it); any other start warms up afresh on the grid below it.
  const startAt = timestepStart(start)
  const at = startAt === undefined ? 0 : own.findIndex((s) => s.calls[0].t === startAt)
  const carried = start.state?.kind === KIND ? (start.state as PndmState) : undefined
  let steps = own
  if (startAt !== undefined && !(at >= 0 && (carried || at === 0))) {
    if (!Number.isInteger(startAt) || startAt < 0 || startAt >= T)
      throw new EngineError('bad-argument', `start timestep must be an integer in [0, ${T - 1}], got ${startAt}`)
    const below = [startAt, ...grid.filter((t) => t < startAt)]
    const offGrid = !grid.includes(startAt)
    steps = layout(below, T, N, config.skipPrkSteps, offGrid)
  } else steps = own.slice(at)
  let ets = at >= 0 && carried ? carried.ets.slice(-3) : []
  const finalAlphaCumprod = config.setAlphaToOne ? 1 : alphasCumprod[0]
  const alphaBar = (t: number) => (t >= 0 ? alphasCumprod[t] : finalAlphaCumprod)
  // Within a step: its start x, and the Runge-Kutta sum so far (diffusers' cur_sample, cur_model_output).
  let stepStart: Float32Array | undefined
  let rkSum: Float32Array | undefined

  /** diffusers' _get_prev_sample: PNDM paper, eq. 9, from `sample` at alpha_bar(from) to alpha_bar(to). */
  const transfer = (sample: Float32Array, output: Float32Array, { from, to }: Call): Float32Array => {
    const a = alphaBar(from)
    const aPrev = alphaBar(to)
    const eps =
      config.predictionType === 'v_prediction'
        ? output.map((v, i) => Math.sqrt(a) * v + Math.sqrt(1 - a) * sample[i])
        : output
    // As diffusers writes it: x_prev = sqrt(a_prev / a) x - (a_prev - a) eps / (a sqrt(1 - a_prev) + sqrt(a (1 - a) a_prev)).
    const sampleCoeff = Math.sqrt(aPrev / a)
    const denominator = a * Math.sqrt(1 - aPrev) + Math.sqrt(a * (1 - a) * aPrev)
    const epsCoeff = (aPrev - a) / denominator
    return sample.map((v, i) => sampleCoeff * v - epsCoeff * eps[i])
  }

  return vpSampler({
    timesteps: steps.map((s) => s.calls[0].t),
    alphaBars: steps.map((s) => alphasCumprod[s.calls[0].t]),
    isStochastic: () => false,
    state: (): PndmState => ({ kind: KIND, ets: ets.slice() }),
    callsAt: (index) => steps[index].calls.length,
    timestepAt: (index, call) => steps[index].calls[call].t,
    step(modelOutput, index, sample, _imageSize, _noise, call = 0) {
      const step = steps[index]
      const c = step.calls[call]
      const { predictedX0, predictedNoise } = predictionOf(
        config.predictionType,
        modelOutput,
        sample,
        alphasCumprod[c.t],
      )
      const f = Math.fround
      if (call === 0) stepStart = sample
      if (!stepStart) throw new Error("pndm: a step's later call came before its first")
      let prevSample: Float32Array
      if (step.kind === 'runge-kutta') {
        // Eq. 13: four estimates, the transfer from the step's start with each, the last with their weighted sum.
        if (call === 0) ets = [...ets, modelOutput].slice(-3)
        const weight = f(call === 0 || call === 3 ? 1 / 6 : 1 / 3)
        const sum = call === 0 ? undefined : rkSum
        const weighted = modelOutput.map((v, i) => f((sum?.[i] ?? 0) + f(weight * v)))
        rkSum = call === 3 ? undefined : weighted
        prevSample = transfer(stepStart, call === 3 ? weighted : modelOutput, c)
      } else if (step.kind === 'improved-euler' && call === 1) {
        const previous = ets[ets.length - 1]
        const mean = modelOutput.map((v, i) => f(f(v + previous[i]) / 2))
        prevSample = transfer(stepStart, mean, c)
      } else {
        // Eq. 12 (and the improved Euler step's first call, an Euler step: its estimate alone).
        ets = [...ets, modelOutput].slice(-4)
        prevSample = transfer(sample, adamsBashforth(ets), c)
        ets = ets.slice(-3)
      }
      return { prevSample, predictedX0, predictedNoise }
    },
  })
}
