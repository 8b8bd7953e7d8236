/**
 * The names Stepwise's engine, contract, CLI and renderer all speak: samplers, schedules, spacings,
 * prediction types, execution providers. One list each; everything else (zod enums, CLI checks, menus)
 * is built from these. The vocabulary (src-shared) imports nothing outside itself.
 */

import { MAX_TRAIN_STEPS } from './limits'

/**
 * Beta schedules (diffusers' `beta_schedule`, under our names). `lucidrains_sigmoid` is lucidrains'
 * sigmoid_beta_schedule (Chen 2023, arXiv 2212.11972 fig. 8: alpha-bar from a sigmoid of t, with start, end
 * and tau), not diffusers' `sigmoid` (GeoDiff: betas along a sigmoid): alpha-bar at t = 500 of 1000 is 0.498
 * against 0.299. `custom` is the model's own alphas_cumprod (diffusers' `trained_betas`, an `alphas_cumprod`
 * array, a lucidrains checkpoint's buffer), whatever schedule made it.
 */
export const SCHEDULES = [
  'linear',
  'scaled_linear',
  'cosine',
  'quadratic',
  'sigmoid',
  'lucidrains_sigmoid',
  'custom',
] as const
export type ScheduleName = (typeof SCHEDULES)[number]
/** The schedules made from their settings alone (`custom` is a model's own numbers). */
export const NAMED_SCHEDULES = SCHEDULES.filter((s): s is Exclude<ScheduleName, 'custom'> => s !== 'custom')
/** The schedules a model samples with: the named ones, and its own when it was trained with one (`trained`). */
export const schedulesFor = (trained: ScheduleName | undefined): readonly ScheduleName[] =>
  trained === 'custom' ? SCHEDULES : NAMED_SCHEDULES
/** Schedules made from beta_start and beta_end; the others (cosine: Nichol & Dhariwal 2021, eq. 17) ignore them. */
export const usesBetaRange = (schedule: ScheduleName): boolean =>
  schedule !== 'cosine' && schedule !== 'lucidrains_sigmoid' && schedule !== 'custom'
/** Names other tools give the same schedules. */

export const SCHEDULE_ALIASES: Readonly<Record<string, ScheduleName>> = { squaredcos_cap_v2: 'cosine' }

export function parseScheduleName(name: string): ScheduleName | undefined {
  if ((SCHEDULES as readonly string[]).includes(name)) return name as ScheduleName
  return Object.hasOwn(SCHEDULE_ALIASES, name) ? SCHEDULE_ALIASES[name] : undefined
}

/**
 * diffusers' `timestep_spacing`, and `lucidrains`: the timesteps of lucidrains' ddim_sample
 * (torch.linspace(-1, T - 1, N + 1) in float32, truncated; 999, 949, ..., 49 for 20 of 1000, as trailing
 * gives, but 999, 965, 932, ... for 30 where trailing gives 999, 966, 932), each step going to the next.
 */
export const SPACINGS = ['leading', 'trailing', 'linspace', 'lucidrains'] as const
export type TimestepSpacing = (typeof SPACINGS)[number]

/** diffusers' `prediction_type`: what the network outputs. */
export const PREDICTION_TYPES = ['epsilon', 'sample', 'v_prediction'] as const
export type PredictionType = (typeof PREDICTION_TYPES)[number]

/** diffusers' DDPM `variance_type` (the ones Stepwise samples with). */
export const VARIANCE_TYPES = ['fixed_small', 'fixed_large'] as const
export type VarianceType = (typeof VARIANCE_TYPES)[number]

/** The samplers (diffusers' scheduler classes, under CLI names). */
export const SAMPLERS = [
  'ddim',
  'ddpm',
  'pndm',
  'lms',
  'euler',
  'euler-a',
  'heun',
  'dpm2',
  'dpmpp-2m',
  'dpmpp-2m-sde',
  'dpmpp-3m',
  'dpmpp-2s',
  'unipc',
  'deis',
] as const
export type SamplerName = (typeof SAMPLERS)[number]

/**
 * Sigma schedules of the sigma-space samplers: the sigmas at the spaced timesteps (diffusers' default),
 * or Karras et al. 2022 (eq. 5, rho 7), exponential (log-linear) or beta (Lee et al. 2024) sigmas between
 * the same ends (diffusers' use_karras_sigmas, use_exponential_sigmas, use_beta_sigmas).
 */
export const SIGMA_SCHEDULES = ['spacing', 'karras', 'exponential', 'beta'] as const
export type SigmaSchedule = (typeof SIGMA_SCHEDULES)[number]
/** What A1111 and the app add after a sampler's name for each ("DPM++ 2M Karras"). */
export const SIGMA_SCHEDULE_NAMES: Record<SigmaSchedule, string> = {
  spacing: '',
  karras: 'Karras',
  exponential: 'Exponential',
  beta: 'Beta',
}

/** diffusers' `final_sigmas_type`: the last step goes to sigma 0 (x0) or to the training schedule's smallest sigma. */
export const FINAL_SIGMAS = ['zero', 'sigma_min'] as const
export type FinalSigmas = (typeof FINAL_SIGMAS)[number]

/**
 * diffusers' `solver_type`: DPM-Solver's second-order update (midpoint, heun) and UniPC's B(h) (bh1: B(h) = h,
 * bh2: B(h) = e^h - 1; UniPC paper, section 3.2). Each sampler takes its own (SAMPLER_INFO); DEIS has only
 * logrho and no option.
 */
export const SOLVER_TYPES = ['midpoint', 'heun', 'bh1', 'bh2'] as const
export type SolverType = (typeof SOLVER_TYPES)[number]

/**
 * Every sampler option: the kind of value, the label the app shows, the CLI flag, and diffusers' config
 * name (the sampler option `timestepSpacing` is diffusers' `timestep_spacing` is `--spacing`). Which
 * sampler reads which, with diffusers' default for it, is SAMPLER_INFO's.
 */
export type OptionSpec = {
  label: string
  flag: string
  diffusers: string
  hint?: string
  /**
   * Where the app shows a control for it, for the samplers that read it: the sidebar, or also each row of
   * a comparison. (Steps, eta, prediction, clipping and spacing have controls of their own.)
   */
  app?: 'sidebar' | 'compare'
} & (
  | { kind: 'boolean' }
  | { kind: 'number' | 'integer'; min: number; max: number; step: number }
  | { kind: 'choice'; values: readonly string[] }
  | { kind: 'timesteps'; max: number }
)

export const SAMPLER_OPTIONS = {
  timestepSpacing: {
    kind: 'choice',
    values: SPACINGS,
    label: 'Spacing',
    flag: 'spacing',
    diffusers: 'timestep_spacing',
    hint: 'How the inference timesteps spread over the training ones (Lin et al. 2023, table 2)',
  },
  stepsOffset: {
    kind: 'integer',
    min: 0,
    // Any model's T: the planner checks it against the model's own (src-main/engine/checks.ts).
    max: MAX_TRAIN_STEPS - 1,
    step: 1,
    label: 'Offset',
    flag: 'steps-offset',
    diffusers: 'steps_offset',
  },
  predictionType: {
    kind: 'choice',
    values: PREDICTION_TYPES,
    label: 'Predicts',
    flag: 'prediction',
    diffusers: 'prediction_type',
  },
  clipSample: {
    kind: 'boolean',
    label: 'Clip predicted x0',
    flag: 'clip-sample',
    diffusers: 'clip_sample',
    hint: 'Clip the predicted x0 to [-clip_sample_range, clip_sample_range] at every step',
  },
  clipSampleRange: {
    kind: 'number',
    min: 0,
    max: 100,
    step: 0.1,
    label: 'Clip range',
    flag: 'clip-sample-range',
    diffusers: 'clip_sample_range',
  },
  thresholding: {
    kind: 'boolean',
    label: 'Dynamic thresholding',
    flag: 'thresholding',
    diffusers: 'thresholding',
    hint: 'Imagen (Saharia et al. 2022, section 2.3); replaces clipping when on',
  },
  dynamicThresholdingRatio: {
    kind: 'number',
    min: 0,
    max: 1,
    step: 0.005,
    label: 'Threshold quantile',
    flag: 'dynamic-thresholding-ratio',
    diffusers: 'dynamic_thresholding_ratio',
  },
  sampleMaxValue: {
    kind: 'number',
    min: 1,
    max: 100,
    step: 0.1,
    label: 'Threshold max',
    flag: 'sample-max-value',
    diffusers: 'sample_max_value',
  },
  useClippedModelOutput: {
    kind: 'boolean',
    label: 'Noise from clipped x0',
    flag: 'use-clipped-model-output',
    diffusers: 'use_clipped_model_output',
    app: 'sidebar',
    hint: "Re-derive the noise from the clipped x0 (GLIDE's DDIM; lucidrains' ddim_sample does) instead of the model's",
  },
  eta: {
    kind: 'number',
    min: 0,
    max: 1,
    step: 0.05,
    label: 'η (eta)',
    flag: 'eta',
    diffusers: 'eta',
    hint: "0 is deterministic, 1 matches DDPM's variance (DDIM paper, eq. 16)",
  },
  setAlphaToOne: {
    kind: 'boolean',
    label: 'Final alpha-bar 1',
    flag: 'set-alpha-to-one',
    diffusers: 'set_alpha_to_one',
    hint: "The step after the last goes to alpha-bar 1 (else the schedule's alphas_cumprod[0])",
  },
  varianceType: {
    kind: 'choice',
    values: VARIANCE_TYPES,
    label: 'Variance',
    flag: 'variance-type',
    diffusers: 'variance_type',
  },
  sigmas: {
    kind: 'choice',
    values: SIGMA_SCHEDULES,
    label: 'Sigmas',
    flag: 'sigmas',
    diffusers: 'use_karras_sigmas / use_exponential_sigmas / use_beta_sigmas',
    app: 'compare',
    hint: 'Where the noise levels of the steps lie: at the spaced timesteps, or Karras, exponential or beta sigmas',
  },
  solverOrder: {
    kind: 'integer',
    min: 1,
    max: 3,
    step: 1,
    label: 'Order',
    flag: 'solver-order',
    diffusers: 'solver_order',
    app: 'sidebar',
  },
  solverType: {
    kind: 'choice',
    values: SOLVER_TYPES,
    label: 'Solver',
    flag: 'solver-type',
    diffusers: 'solver_type',
    app: 'sidebar',
    hint: 'DPM-Solver: the second-order update, midpoint or heun (DPM-Solver++ paper, algorithm 2 and its variant); UniPC: B(h), bh1 or bh2',
  },
  lowerOrderFinal: {
    kind: 'boolean',
    label: 'Lower order at the end',
    flag: 'lower-order-final',
    diffusers: 'lower_order_final',
    app: 'sidebar',
    hint: 'Lower orders for the last steps (DPM-Solver, DEIS: runs under 15 steps; UniPC: every run): stabler at few steps',
  },
  predictX0: {
    kind: 'boolean',
    label: 'Predict x0',
    flag: 'predict-x0',
    diffusers: 'predict_x0',
    app: 'sidebar',
    hint: 'UniPC updates with the data prediction (x0), else with the noise prediction',
  },
  finalSigmas: {
    kind: 'choice',
    values: FINAL_SIGMAS,
    label: 'Final sigma',
    flag: 'final-sigmas',
    diffusers: 'final_sigmas_type',
    app: 'sidebar',
    hint: "The last step goes to sigma 0 (x0) or to the schedule's smallest sigma",
  },
  timesteps: {
    kind: 'timesteps',
    // Any model's T: the sampler checks them against the model's own (lambdaSchedule).
    max: MAX_TRAIN_STEPS - 1,
    label: 'Timesteps',
    flag: 'timesteps',
    diffusers: 'timesteps (set_timesteps)',
    app: 'sidebar',
    hint: 'Your own timesteps, descending (e.g. fitted to the model: stepwise fit-timesteps); they set the steps, over the spacing',
  },
  skipPrkSteps: {
    kind: 'boolean',
    label: 'Skip PRK warm-up',
    flag: 'skip-prk-steps',
    diffusers: 'skip_prk_steps',
    app: 'sidebar',
    hint: 'PLMS: start the linear multistep method with one improved Euler step instead of three Runge-Kutta steps (12 model calls)',
  },
} as const satisfies Record<string, OptionSpec>
export type SamplerOptionName = keyof typeof SAMPLER_OPTIONS

/** The options the app shows a control for (beside its own for steps, eta, prediction, clipping, spacing). */
export const APP_OPTIONS = (Object.keys(SAMPLER_OPTIONS) as SamplerOptionName[]).filter(
  (o) => (SAMPLER_OPTIONS[o] as OptionSpec).app !== undefined,
)
/** The ones a comparison's rows also set, each for its own sampler. */
export const COMPARE_OPTIONS = APP_OPTIONS.filter((o) => (SAMPLER_OPTIONS[o] as OptionSpec).app === 'compare')

/** The value an option holds: true/false, a number, one of its names, or a list of timesteps. */
export type OptionValue<N extends SamplerOptionName> = (typeof SAMPLER_OPTIONS)[N] extends { kind: 'boolean' }
  ? boolean
  : (typeof SAMPLER_OPTIONS)[N] extends { kind: 'timesteps' }
    ? readonly number[]
    : (typeof SAMPLER_OPTIONS)[N] extends { values: readonly (infer V)[] }
      ? V
      : number
export type SamplerOptionValues = { -readonly [N in SamplerOptionName]: OptionValue<N> }

/** What a sampler reads of an option: diffusers' default, and where it allows less than the option does. */
type Reads<N extends SamplerOptionName> = { default: OptionValue<N> } & (OptionValue<N> extends number
  ? { max?: number }
  : OptionValue<N> extends string
    ? { values?: readonly OptionValue<N>[] }
    : unknown)

export interface SamplerInfo {
  label: string
  /** The name A1111-style PNG-info readers show (with " Karras" etc. after it for sigma schedules: a1111Name). */
  a1111: string
  /** Another name while an option has a value (PNDM without its Runge-Kutta warm-up is PLMS). */
  namedBy?: { option: SamplerOptionName; value: boolean; label: string; a1111: string }
  defaultSteps: number
  /**
   * It adds fresh noise at its steps whatever its options (an SDE or ancestral sampler; DDIM does only with
   * eta > 0): no ODE solver, so nothing to fit its timesteps to.
   */
  stochastic?: true
  /** The options it reads, each with diffusers' default for this sampler. */
  options: { readonly [N in SamplerOptionName]?: Reads<N> }
}

/** What DDPM and DDIM share with diffusers' defaults: leading spacing, clipping on. */
const DDPM_FAMILY = {
  timestepSpacing: { default: 'leading' },
  stepsOffset: { default: 0 },
  predictionType: { default: 'epsilon' },
  clipSample: { default: true },
  clipSampleRange: { default: 1 },
  thresholding: { default: false },
  dynamicThresholdingRatio: { default: 0.995 },
  sampleMaxValue: { default: 1 },
} as const
/** The sigma-space samplers' (Euler, Heun...) shared defaults: linspace spacing, their own sigmas. */
const SIGMA_FAMILY = {
  timestepSpacing: { default: 'linspace' },
  stepsOffset: { default: 0 },
  predictionType: { default: 'epsilon' },
  sigmas: { default: 'spacing' },
} as const

/** The samplers that take no prediction_type "sample" (diffusers raises NotImplementedError for it). */
const NO_SAMPLE_PREDICTION = { default: 'epsilon', values: ['epsilon', 'v_prediction'] } as const
const THRESHOLDING = {
  thresholding: { default: false },
  dynamicThresholdingRatio: { default: 0.995 },
  sampleMaxValue: { default: 1 },
} as const
/** What the DPM-Solver family (DPM-Solver++, UniPC) reads with diffusers' defaults, beside its sigmas. */
const DPM_SOLVER_OPTIONS = {
  solverOrder: { default: 2, max: 2 },
  solverType: { default: 'midpoint', values: ['midpoint', 'heun'] },
  lowerOrderFinal: { default: true },
  finalSigmas: { default: 'zero' },
  ...THRESHOLDING,
} as const
/**
 * Timesteps of one's own: DPMSolverMultistepScheduler.set_timesteps(timesteps=...); UniPC and DEIS take them
 * here too (their diffusers set_timesteps do not), placed as DPM-Solver places them. Empty: from the spacing.
 */
const OWN_TIMESTEPS = { timesteps: { default: [] } } as const
/** DPMSolverMultistepScheduler's options (dpmpp-2m, dpmpp-2m-sde; dpmpp-3m at order 3). */
const DPM_SOLVER_MULTISTEP = { ...SIGMA_FAMILY, ...DPM_SOLVER_OPTIONS, ...OWN_TIMESTEPS } as const

/**
 * What each sampler is called where people meet it, and which options it reads with diffusers' defaults.
 * The engine's half of the table (name -> code) is src-main/engine/samplers/sampler.ts.
 */
export const SAMPLER_INFO = {
  ddim: {
    label: 'DDIM',
    a1111: 'DDIM',
    defaultSteps: 50,
    options: {
      ...DDPM_FAMILY,
      eta: { default: 0 },
      setAlphaToOne: { default: true },
      useClippedModelOutput: { default: false },
    },
  },
  ddpm: {
    label: 'DDPM',
    a1111: 'DDPM',
    defaultSteps: 1000,
    stochastic: true,
    options: { ...DDPM_FAMILY, varianceType: { default: 'fixed_small' } },
  },
  dpm2: {
    label: 'DPM2',
    a1111: 'DPM2',
    defaultSteps: 20,
    options: { ...SIGMA_FAMILY, predictionType: NO_SAMPLE_PREDICTION },
  },
  'dpmpp-2m': { label: 'DPM++ 2M', a1111: 'DPM++ 2M', defaultSteps: 20, options: DPM_SOLVER_MULTISTEP },
  'dpmpp-2m-sde': {
    label: 'DPM++ 2M SDE',
    a1111: 'DPM++ 2M SDE',
    defaultSteps: 20,
    stochastic: true,
    options: DPM_SOLVER_MULTISTEP,
  },
  'dpmpp-3m': {
    label: 'DPM++ 3M',
    a1111: 'DPM++ 3M',
    defaultSteps: 20,
    options: { ...DPM_SOLVER_MULTISTEP, solverOrder: { default: 3, max: 3 } },
  },
  'dpmpp-2s': {
    label: 'DPM++ 2S',
    a1111: 'DPM++ 2S',
    defaultSteps: 20,
    // DPMSolverSinglestepScheduler has no timestep_spacing or steps_offset: its timesteps are always linspace.
    options: {
      predictionType: { default: 'epsilon' },
      sigmas: { default: 'spacing' },
      ...DPM_SOLVER_OPTIONS,
      solverOrder: { default: 2, max: 3 },
      lowerOrderFinal: { default: false },
    },
  },
  euler: {
    label: 'Euler',
    a1111: 'Euler',
    defaultSteps: 30,
    options: { ...SIGMA_FAMILY, finalSigmas: { default: 'zero' } },
  },
  'euler-a': {
    label: 'Euler a',
    a1111: 'Euler a',
    defaultSteps: 30,
    stochastic: true,
    // EulerAncestralDiscreteScheduler takes no use_karras_sigmas & co.
    options: {
      timestepSpacing: { default: 'linspace' },
      stepsOffset: { default: 0 },
      predictionType: NO_SAMPLE_PREDICTION,
    },
  },
  heun: {
    label: 'Heun',
    a1111: 'Heun',
    defaultSteps: 20,
    options: { ...SIGMA_FAMILY, clipSample: { default: false }, clipSampleRange: { default: 1 } },
  },
  lms: {
    label: 'LMS',
    a1111: 'LMS',
    defaultSteps: 30,
    options: SIGMA_FAMILY,
  },
  pndm: {
    label: 'PNDM',
    // A1111 has no PNDM with the Runge-Kutta warm-up; its PLMS is this sampler with skip_prk_steps.
    a1111: 'PNDM',
    namedBy: { option: 'skipPrkSteps', value: true, label: 'PLMS', a1111: 'PLMS' },
    defaultSteps: 50,
    options: {
      timestepSpacing: { default: 'leading' },
      stepsOffset: { default: 0 },
      predictionType: NO_SAMPLE_PREDICTION,
      setAlphaToOne: { default: false },
      skipPrkSteps: { default: false },
    },
  },
  unipc: {
    label: 'UniPC',
    a1111: 'UniPC',
    defaultSteps: 20,
    options: {
      ...SIGMA_FAMILY,
      ...DPM_SOLVER_OPTIONS,
      solverOrder: { default: 2, max: 3 },
      solverType: { default: 'bh2', values: ['bh1', 'bh2'] },
      predictX0: { default: true },
      ...OWN_TIMESTEPS,
    },
  },
  deis: {
    label: 'DEIS',
    a1111: 'DEIS',
    defaultSteps: 20,
    // DEISMultistepScheduler has no final_sigmas_type (its last sigma is the schedule's smallest) and one solver type.
    options: {
      ...SIGMA_FAMILY,
      solverOrder: { default: 2, max: 3 },
      lowerOrderFinal: { default: true },
      ...THRESHOLDING,
      ...OWN_TIMESTEPS,
    },
  },
} as const satisfies Record<SamplerName, SamplerInfo>

/** The options sampler S reads. */
export type OptionsOf<S extends SamplerName> = keyof (typeof SAMPLER_INFO)[S]['options'] & SamplerOptionName

/** Does this sampler read this option? (eta means something to DDIM only.) */
export const samplerReads = (sampler: SamplerName, option: string): option is SamplerOptionName =>
  Object.hasOwn(SAMPLER_INFO[sampler].options, option)

/** Does this sampler add noise at its steps whatever its options (SamplerInfo.stochastic)? */
export const alwaysStochastic = (sampler: SamplerName): boolean =>
  (SAMPLER_INFO[sampler] as SamplerInfo).stochastic === true

/** The options this sampler reads, in the table's order. */
export const optionsOf = (sampler: SamplerName): SamplerOptionName[] =>
  (Object.keys(SAMPLER_OPTIONS) as SamplerOptionName[]).filter((o) => samplerReads(sampler, o))

/** diffusers' default of an option for a sampler that reads it. */
export const optionDefault = <N extends SamplerOptionName>(sampler: SamplerName, option: N): OptionValue<N> =>
  (SAMPLER_INFO[sampler].options as SamplerInfo['options'])[option]!.default as OptionValue<N>

/** An option's spec as one sampler reads it (its own maximum or names where it allows less). */
export function optionSpec(sampler: SamplerName, option: SamplerOptionName): OptionSpec {
  const reads = (SAMPLER_INFO[sampler].options as SamplerInfo['options'])[option] as {
    max?: number
    values?: readonly string[]
  }
  return {
    ...SAMPLER_OPTIONS[option],
    ...(reads?.max !== undefined && { max: reads.max }),
    ...(reads?.values && { values: reads.values }),
  }
}

/** Why a value is not one this sampler's option takes, or undefined when it is. */
export function optionProblem(sampler: SamplerName, option: SamplerOptionName, value: unknown): string | undefined {
  const spec = optionSpec(sampler, option)
  if (spec.kind === 'boolean') return typeof value === 'boolean' ? undefined : 'expected true or false'
  if (spec.kind === 'choice')
    return spec.values.includes(value as string) ? undefined : `expected one of ${spec.values.join(', ')}`
  if (spec.kind === 'timesteps') return timestepsProblem(value, spec.max)
  const ok =
    typeof value === 'number' &&
    value >= spec.min &&
    value <= spec.max &&
    (spec.kind === 'number' ? Number.isFinite(value) : Number.isInteger(value))
  return ok
    ? undefined
    : `expected ${spec.kind === 'integer' ? 'an integer' : 'a number'} in [${spec.min}, ${spec.max}]`
}

/** Why a list is not timesteps a run can take (descending integers in [0, max]; none: from the spacing). */
export function timestepsProblem(value: unknown, max: number): string | undefined {
  const ok =
    Array.isArray(value) &&
    value.every((t, i) => Number.isInteger(t) && t >= 0 && t <= max && (i === 0 || t < value[i - 1]))
  return ok ? undefined : `expected descending integer timesteps in [0, ${max}]`
}

/** onnxruntime execution providers, in the order they are tried where the platform has them. */
export const PROVIDERS = ['cuda', 'dml', 'coreml', 'webgpu', 'cpu'] as const
export type ProviderName = (typeof PROVIDERS)[number]
/** The user's preference: 'auto' is the platform's order. */
export const PROVIDER_CHOICES = ['auto', ...PROVIDERS] as const
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number]

/** Which view of the timeline a GIF animates: the sample x_t, or the predicted x0. */
export const GIF_VIEWS = ['xt', 'x0'] as const
export type GifView = (typeof GIF_VIEWS)[number]
