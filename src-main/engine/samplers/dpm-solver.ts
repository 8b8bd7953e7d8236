/**
 * What the DPM-Solver family shares (diffusers' DPMSolverMultistepScheduler, DPMSolverSinglestepScheduler,
 * UniPCMultistepScheduler and DEISMultistepScheduler): x_t = alpha_t x0 + sigma_t eps with
 * lambda_t = log(alpha_t / sigma_t) (Lu et al. 2022, "DPM-Solver", section 3.1), integer timesteps
 * spread over N + 1 points, the sigmas at them or Karras / exponential / beta sigmas, and the
 * exponential-integrator coefficients of the data-prediction updates (Lu et al. 2022, "DPM-Solver++").
 */
import type { SigmaSchedule, TimestepSpacing } from '../../../src-shared/names'
import { EngineError } from '../errors'
import type { Schedule } from '../schedule'
import { npLinspace, roundHalfEven, spacedTimesteps } from './common'
import { checkSteps, interpAtTimestep, logSigmasOf, sigmasBetween, sigmaToTimestep } from './sigmas'

/** alpha_t, sigma_t and lambda_t = log(alpha_t / sigma_t) of a sigma (diffusers' `_sigma_to_alpha_sigma_t`). */
export function alphaSigmaLambda(sigma: number) {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1)
  const s = sigma * alpha
  return { alpha, sigma: s, lambda: Math.log(alpha) - Math.log(s) }
}

/** How one scheduler of the family places its timesteps and sigmas where the four differ. */
export interface LambdaScheduleRules {
  /**
   * Karras timesteps are rounded (np.round: half to even); DPMSolverMultistepScheduler does not round them
   * under squaredcos_cap_v2. Exponential and beta ones are truncated by the cast to int64 in all four.
   */
  roundKarras: 'always' | 'unless-cosine'
  /** The sigma after the last step, from the steps' sigmas and the training schedule's smallest. */
  finalSigma: (sigmas: number[], sigmaMin: number) => number
}

/**
 * set_timesteps of the family: integer timesteps and float32 sigmas, the final one appended. Unlike DDIM's,
 * they spread N + 1 points and drop the last (timestep 0): the final step goes to the final sigma instead.
 * lambda_min_clipped is diffusers' default -inf, so the last timestep is T.
 */
export function lambdaSchedule(
  config: {
    steps: number
    timestepSpacing?: TimestepSpacing
    stepsOffset?: number
    sigmas?: SigmaSchedule
    timesteps?: readonly number[]
  },
  schedule: Schedule,
  train: Float64Array,
  rules: LambdaScheduleRules,
): { timesteps: number[]; sigmas: number[] } {
  const T = train.length
  const N = config.steps
  checkSteps(N, T)
  if (config.timesteps?.length) return ownTimesteps(config.timesteps, N, config.sigmas, train, rules)
  const spacing = config.timestepSpacing ?? 'linspace'
  const offset = config.stepsOffset ?? 0
  let timesteps: number[]
  if (spacing === 'linspace') {
    timesteps = npLinspace(0, T - 1, N + 1)
      .map(roundHalfEven)
      .reverse()
      .slice(0, N)
  } else if (spacing === 'leading') {
    // diffusers quirk: leading spacing strides T // (N + 1), not DDIM's T // N.
    const ratio = Math.floor(T / (N + 1))
    timesteps = Array.from({ length: N }, (_, i) => (N - i) * ratio + offset)
    if (timesteps[0] >= T) {
      throw new EngineError(
        'bad-argument',
        `steps offset ${offset} puts the first of ${N} steps at timestep ${timesteps[0]}; the model's last is ${T - 1}`,
      )
    }
  } else timesteps = spacedTimesteps(T, N, spacing) // trailing, or lucidrains'
  let sigmas: number[]
  const kind = config.sigmas ?? 'spacing'
  if (kind === 'spacing') sigmas = timesteps.map((t) => interpAtTimestep(train, t))
  else {
    // Between the schedule's smallest and largest sigma, whatever the spacing.
    sigmas = sigmasBetween(kind, train[0], train[T - 1], N)
    const logSigmas = logSigmasOf(train)
    const rounds = rules.roundKarras === 'always' || schedule.config.schedule !== 'cosine'
    const round = kind === 'karras' && rounds ? roundHalfEven : Math.trunc
    timesteps = sigmas.map((s) => round(sigmaToTimestep(s, logSigmas)))
  }
  return { timesteps, sigmas: [...sigmas, rules.finalSigma(sigmas, train[0])].map(Math.fround) }
}

/**
 * set_timesteps(timesteps=...) of DPMSolverMultistepScheduler: the sigmas at the given timesteps, the final one
 * appended (diffusers refuses them with Karras, exponential or beta sigmas; so does this).
 */
function ownTimesteps(
  timesteps: readonly number[],
  steps: number,
  kind: SigmaSchedule | undefined,
  train: Float64Array,
  rules: LambdaScheduleRules,
): { timesteps: number[]; sigmas: number[] } {
  const problem =
    timesteps.length !== steps
      ? `${timesteps.length} timesteps were given for ${steps} steps`
      : timesteps[0] >= train.length
        ? `timestep ${timesteps[0]} is past the model's last, ${train.length - 1}`
        : (kind ?? 'spacing') !== 'spacing'
          ? `timesteps of one's own take the sigmas at them, not ${kind} sigmas (diffusers refuses them together too)`
          : undefined
  if (problem) throw new EngineError('bad-argument', `timesteps: ${problem}`)
  const sigmas = timesteps.map((t) => interpAtTimestep(train, t))
  return { timesteps: [...timesteps], sigmas: [...sigmas, rules.finalSigma(sigmas, train[0])].map(Math.fround) }
}

/**
 * The index in the full run of a run's step 0: a fork or an image to denoise runs the tail of the
 * sampler's own steps (-1: it starts above all of them, with one step of its own first).
 */
export const fullRunOffset = (own: { timesteps: number[] }, run: { timesteps: number[] }): number =>
  own.timesteps.length - run.timesteps.length

/**
 * The coefficients of DPM-Solver++'s updates from noise level s to t over h = lambda_t - lambda_s
 * (DPM-Solver++ paper, eqs. 9-10 and algorithm 2; the third order from the DPM-Solver paper, algorithm 3,
 * in data-prediction form): x_t = a x_s + b x0 + c D1 + d D2, and with the SDE (sde-dpmsolver++, the
 * paper's section 4.3 as diffusers writes it) e^-h in a, 2h for h in b, c and d, plus `noise` z.
 * c is the heun solver type's and the third order's; midpoint's is b / 2. With sigma_t = 0 (h infinite)
 * only a, b and noise are finite: the last step to sigma 0 is always first order.
 */
export function dataPredictionCoefficients(
  s: { sigma: number; lambda: number },
  t: ReturnType<typeof alphaSigmaLambda>,
  sde = false,
) {
  const h = t.lambda - s.lambda
  if (!sde) {
    return {
      h,
      a: t.sigma / s.sigma,
      b: -t.alpha * Math.expm1(-h),
      c: () => t.alpha * (Math.expm1(-h) / h + 1),
      d: () => -t.alpha * ((Math.expm1(-h) + h) / (h * h) - 0.5),
      noise: 0,
    }
  }
  const h2 = 2 * h
  return {
    h,
    a: (t.sigma / s.sigma) * Math.exp(-h),
    b: -t.alpha * Math.expm1(-h2),
    c: () => t.alpha * (Math.expm1(-h2) / h2 + 1),
    d: () => t.alpha * ((-Math.expm1(-h2) - h2) / (h2 * h2) - 0.5),
    noise: t.sigma * Math.sqrt(-Math.expm1(-h2)),
  }
}
