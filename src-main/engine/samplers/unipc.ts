/**
 * UniPC (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework for Fast Sampling of Diffusion
 * Models") with diffusers' UniPCMultistepScheduler semantics: each step first corrects the sample it was
 * given with the model output there (UniC, algorithm 2), then predicts the next from the corrected one
 * (UniP, algorithm 1), both multistep with B(h) = h (bh1) or e^h - 1 (bh2). The model is called at the
 * predictor's sample, uncorrected: that is the x_t a frame shows and a fork starts from, and the state
 * carries the corrected sample before it with the model-output history. predict_x0 (the default) updates
 * with data predictions, else with noise predictions. The last step has no corrector (no call after it).
 */
import { configOf, type SamplerConfig, type SamplerConfigOf } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { clipPredictedX0, predictionAt, vpSampler } from './common'
import { alphaSigmaLambda, fullRunOffset, lambdaSchedule } from './dpm-solver'
import type { Sampler, SamplerStart, SamplerState } from './sampler'
import { sigmaSteps, trainingSigmas } from './sigmas'

/** UniPCMultistepScheduler's configuration: the options unipc reads, with diffusers' defaults. */
export type UniPcConfig = SamplerConfigOf<'unipc'>

/** What UniPC carries between steps. */
export interface UniPcState extends SamplerState {
  kind: 'unipc-x0' | 'unipc-noise'
  /** diffusers' `model_outputs`: the last converted outputs (x0 or noise), newest last, each at its sigma. */
  outputs: { value: Float32Array; sigma: number }[]
  /** diffusers' `last_sample`: the corrected sample the last step predicted from (undefined: no corrector). */
  lastSample?: Float32Array
  /** diffusers' `lower_order_nums` (the warm-up) and `this_order` (the last predictor's order, the corrector's). */
  lowerOrderNums: number
  thisOrder: number
}

/** Solve R x = b by Gaussian elimination with partial pivoting (torch.linalg.solve for UniPC's 2x2 and 3x3). */
export function solve(R: number[][], b: number[]): number[] {
  const n = b.length
  const m = R.map((row, i) => [...row.slice(0, n), b[i]])
  for (let col = 0; col < n; col++) {
    let pivot = col
    for (let r = col + 1; r < n; r++) if (Math.abs(m[r][col]) > Math.abs(m[pivot][col])) pivot = r
    ;[m[col], m[pivot]] = [m[pivot], m[col]]
    for (let r = col + 1; r < n; r++) {
      const f = m[r][col] / m[col][col]
      for (let k = col; k <= n; k++) m[r][k] -= f * m[col][k]
    }
  }
  const x = Array<number>(n).fill(0)
  for (let r = n - 1; r >= 0; r--) {
    let v = m[r][n]
    for (let k = r + 1; k < n; k++) v -= m[r][k] * x[k]
    x[r] = v / m[r][r]
  }
  return x
}

/**
 * One UniP or UniC update from s0 to t (UniPC paper, algorithms 1 and 2, the B(h) form in diffusers'
 * multistep_uni_p_bh_update and multistep_uni_c_bh_update): the DPM-Solver-1 step from x with m0, plus
 * B(h) times the weighted differences of the older outputs (and, corrector, of the new one `mt`).
 */
function uniUpdate(args: {
  x: Float32Array
  m0: { value: Float32Array; sigma: number }
  /** The older outputs, newest first: D1s = (m_i - m0) / r_i. */
  older: { value: Float32Array; sigma: number }[]
  sigmaT: number
  order: number
  predictX0: boolean
  bh1: boolean
  /** The corrector's model output at t; the predictor has none. */
  mt?: Float32Array
}): Float32Array {
  const { x, m0, order, predictX0, mt } = args
  const older = args.older.slice(0, order - 1)
  const s0 = alphaSigmaLambda(m0.sigma)
  const t = alphaSigmaLambda(args.sigmaT)
  const h = t.lambda - s0.lambda
  const rks = [...older.map((o) => (alphaSigmaLambda(o.sigma).lambda - s0.lambda) / h), 1]
  const hh = predictX0 ? -h : h
  const hPhi1 = Math.expm1(hh)
  const Bh = args.bh1 ? hh : Math.expm1(hh)
  // b_i = h phi_{i+1}(h) i! / B(h) (the paper's phi functions by their recurrence), R_ij = r_j^i.
  const R: number[][] = []
  const b: number[] = []
  let hPhiK = hPhi1 / hh - 1
  let factorial = 1
  for (let i = 1; i <= order; i++) {
    R.push(rks.map((r) => r ** (i - 1)))
    b.push((hPhiK * factorial) / Bh)
    factorial *= i + 1
    hPhiK = hPhiK / hh - 1 / factorial
  }
  // diffusers' simplified orders: rho = 1/2 for the second-order predictor and the first-order corrector.
  let rhos: number[]
  if (mt) rhos = order === 1 ? [0.5] : solve(R, b)
  else rhos = order === 2 ? [0.5] : order > 2 ? solve(R.slice(0, -1), b.slice(0, -1)) : []
  const d1s = older.map((o, k) => ({ value: o.value, r: rks[k], rho: rhos[k] }))
  // x0 form: x_t = sigma_t / sigma_s x - alpha_t (e^-h - 1) m0 - alpha_t B(h) sum; noise form: alpha and sigma swap.
  const [a, c] = predictX0 ? [t.sigma / s0.sigma, t.alpha] : [t.alpha / s0.alpha, t.sigma]
  const out = new Float32Array(x.length)
  const rhoT = mt ? rhos[rhos.length - 1] : 0
  for (let i = 0; i < x.length; i++) {
    let res = 0
    for (const d of d1s) res += (d.rho * (d.value[i] - m0.value[i])) / d.r
    if (mt) res += rhoT * (mt[i] - m0.value[i])
    out[i] = a * x[i] - c * hPhi1 * m0.value[i] - c * Bh * res
  }
  return out
}

export function unipc(settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler {
  const config: UniPcConfig = configOf('unipc', settings)
  const train = trainingSigmas(schedule)
  // diffusers quirk: with Karras, exponential or beta sigmas, "sigma_min" final sigmas are the last of those
  // sigmas (the schedule's smallest), so the last step goes nowhere (h = 0); at solver order 3 without
  // lower_order_final that is 0 / 0 and NaN, as in diffusers (samplerProblem warns).
  const own = lambdaSchedule(config, schedule, train, {
    roundKarras: 'always',
    finalSigma: (sigmas, sigmaMin) =>
      config.finalSigmas === 'zero' ? 0 : config.sigmas === 'spacing' ? sigmaMin : sigmas[sigmas.length - 1],
  })
  const steps = sigmaSteps(own, train, start)
  const { sigmas } = steps
  const offset = fullRunOffset(own, steps)
  const N = own.timesteps.length
  const order = config.solverOrder
  const kind = config.predictX0 ? 'unipc-x0' : 'unipc-noise'
  const carried = start.state?.kind === kind ? (start.state as UniPcState) : undefined
  let outputs = carried?.outputs.slice(-order) ?? []
  let lastSample = carried?.lastSample
  let lowerOrderNums = carried?.lowerOrderNums ?? 0
  let thisOrder = carried?.thisOrder ?? 1
  const common = { predictX0: config.predictX0, bh1: config.solverType === 'bh1' }

  return vpSampler({
    ...steps,
    isStochastic: () => false,
    state: (): UniPcState => ({ kind, outputs: outputs.slice(), lastSample, lowerOrderNums, thisOrder }),
    step(modelOutput, index, sample, imageSize) {
      const s0 = alphaSigmaLambda(sigmas[index])
      const prediction = predictionAt(config.predictionType, modelOutput, sample, s0.alpha, s0.sigma)
      // convert_model_output: the data prediction (thresholded when asked), or the noise prediction.
      const converted = config.predictX0
        ? clipPredictedX0(prediction.predictedX0, config, imageSize)
        : prediction.predictedNoise
      const full = index + offset
      let x = sample
      if (full > 0 && lastSample && outputs.length > 0) {
        // UniC: correct the sample the last step predicted, with the model output at it.
        const [m0, ...older] = outputs.slice().reverse()
        x = uniUpdate({ ...common, x: lastSample, m0, older, sigmaT: sigmas[index], order: thisOrder, mt: converted })
      }
      outputs = [...outputs, { value: converted, sigma: sigmas[index] }].slice(-order)
      // diffusers quirk: lower_order_final lowers the last steps' orders at every step count, not only under 15
      // as DPM-Solver and DEIS do: with order 2 the last step is always first order.
      const allowed = config.lowerOrderFinal ? Math.min(order, N - full) : order
      thisOrder = Math.min(allowed, lowerOrderNums + 1)
      lastSample = x
      const [m0, ...older] = outputs.slice().reverse()
      const prevSample = uniUpdate({ ...common, x, m0, older, sigmaT: sigmas[index + 1], order: thisOrder })
      if (lowerOrderNums < order) lowerOrderNums++
      return { prevSample, predictedX0: prediction.predictedX0, predictedNoise: prediction.predictedNoise }
    },
  })
}
