/** A model's training schedule and the sampler settings that follow from it, with what was assumed. */
import type { GuidanceDefaults } from '../../../src-shared/model'
import { VARIANCE_TYPES, type VarianceType } from '../../../src-shared/names'
import { DEFAULT_SAMPLER, defaultRun, type SamplerConfig, type SamplerSettings } from '../../../src-shared/parameters'
import { EngineError } from '../errors'
import {
  cumprodOfAlphas,
  DEFAULT_SCHEDULE,
  LUCIDRAINS_SIGMOID,
  namedScheduleOf,
  parseScheduleName,
  type ScheduleConfig,
  SCHEDULES,
} from '../schedule'
import type { ModelInfo } from './load'
import type { MetadataKey } from './metadata'

export interface Training {
  schedule: ScheduleConfig
  /** The model's own alphas_cumprod (its `custom` schedule), when it gives one. */
  alphasCumprod?: Float64Array
  /**
   * The sampler options the training config states (prediction type, clipping, spacing...): every sampler
   * that reads one takes it from here before its own default, as diffusers' `from_config` does.
   */
  samplerOptions: SamplerSettings
  /** The run a request that names no sampler makes: the model's default run over those options (defaultRun). */
  sampler: SamplerConfig
  /** Keys no source gave, so defaults were assumed. */
  assumed: MetadataKey[]
  classes?: { names: string[]; nullClassId?: number }
  /** How the model is meant to be guided, where its metadata says (guidance_scale & co.). */
  guidance?: GuidanceDefaults
  size: { height: number; width: number; from: 'graph' | 'metadata' | 'smallest' }
}

/** The smallest spatial size assumed for a fully dynamic graph with no metadata: a U-Net's usual 3 downsamplings. */
export const SMALLEST_DYNAMIC_SIZE = 32

/**
 * The schedule a model states as numbers: an alphas_cumprod array, else diffusers' trained_betas (which,
 * as in diffusers, win over beta_schedule). Its length is the model's T.
 */
function ownAlphasCumprod(info: ModelInfo): Float64Array | undefined {
  const m = info.metadata.values
  const key = m.alphas_cumprod ? 'alphas_cumprod' : m.trained_betas ? 'trained_betas' : undefined
  if (!key) return undefined
  const own = m.alphas_cumprod
    ? Float64Array.from(m.alphas_cumprod)
    : cumprodOfAlphas(Float64Array.from(m.trained_betas!))
  if (m.num_train_timesteps !== undefined && m.num_train_timesteps !== own.length)
    throw new EngineError(
      'bad-metadata',
      `${info.path}: ${key} (${info.metadata.origin[key]}) has ${own.length} values but num_train_timesteps is ${m.num_train_timesteps}`,
    )
  return own
}

/**
 * The training schedule as the card and inspect say it, where more is known than its config: its format's
 * own words (EDM's sigmas, a continuous model's virtual timesteps), or the named schedule a model's own
 * alphas_cumprod matches (a lucidrains checkpoint's buffer, and the array `convert` writes of it).
 */
export function describedSchedule(info: ModelInfo, t: Training): string | undefined {
  if (info.source.schedule) return info.source.schedule
  const named = t.alphasCumprod && namedScheduleOf(t.alphasCumprod)
  const given = info.metadata.values.alphas_cumprod ? 'alphas_cumprod' : 'trained_betas'
  return named ? `${named}, T = ${t.alphasCumprod!.length} (its ${given})` : undefined
}

export function trainingOf(info: ModelInfo): Training {
  const m = info.metadata.values
  const own = ownAlphasCumprod(info)
  const scheduleKeys = own ? [] : (['num_train_timesteps', 'beta_schedule', 'beta_start', 'beta_end'] as const)
  const assumed: MetadataKey[] = [...scheduleKeys, 'prediction_type' as const].filter((k) => m[k] === undefined)
  const scheduleName = own
    ? 'custom'
    : m.beta_schedule === undefined
      ? DEFAULT_SCHEDULE.schedule
      : parseScheduleName(m.beta_schedule)
  if (!scheduleName || (scheduleName === 'custom' && !own)) {
    throw new EngineError(
      'bad-metadata',
      `${info.path}: beta_schedule "${m.beta_schedule}" is not one of ${SCHEDULES.filter((n) => n !== 'custom').join(', ')} (or squaredcos_cap_v2, diffusers' cosine); give trained_betas or alphas_cumprod for another`,
    )
  }
  const schedule: ScheduleConfig = {
    schedule: scheduleName,
    trainSteps: own?.length ?? m.num_train_timesteps ?? DEFAULT_SCHEDULE.trainSteps,
    betaStart: m.beta_start ?? DEFAULT_SCHEDULE.betaStart,
    betaEnd: m.beta_end ?? DEFAULT_SCHEDULE.betaEnd,
    rescaleZeroSnr: m.rescale_betas_zero_snr ?? false,
    ...((m.schedule_fn_kwargs || scheduleName === 'lucidrains_sigmoid') && {
      sigmoid: { ...LUCIDRAINS_SIGMOID, ...m.schedule_fn_kwargs },
    }),
  }
  // diffusers' fixed_small_log is the same variance as fixed_small; learned variances fall back to it.
  const vt = m.variance_type?.replace(/_log$/, '')
  const stated: SamplerSettings = {
    predictionType: m.prediction_type ?? DEFAULT_SAMPLER.predictionType,
    clipSample: m.clip_sample,
    clipSampleRange: m.clip_sample_range,
    thresholding: m.thresholding,
    dynamicThresholdingRatio: m.dynamic_thresholding_ratio,
    sampleMaxValue: m.sample_max_value,
    timestepSpacing: m.timestep_spacing,
    stepsOffset: m.steps_offset,
    setAlphaToOne: m.set_alpha_to_one,
    useClippedModelOutput: m.use_clipped_model_output,
    varianceType: (VARIANCE_TYPES as readonly string[]).includes(vt ?? '') ? (vt as VarianceType) : undefined,
  }
  const samplerOptions = Object.fromEntries(
    Object.entries(stated).filter(([, v]) => v !== undefined),
  ) as SamplerSettings
  const sampler = defaultRun(samplerOptions)
  const numClasses =
    m.class_names?.length ??
    (m.num_class_embeds !== undefined ? m.num_class_embeds - (m.null_class_id !== undefined ? 1 : 0) : undefined)
  const classes = info.signature.classLabels
    ? {
        names: m.class_names ?? Array.from({ length: numClasses ?? 0 }, (_, i) => String(i)),
        nullClassId: m.null_class_id,
      }
    : undefined
  const guidance =
    classes && m.guidance_scale !== undefined
      ? { scale: m.guidance_scale, rescale: m.guidance_rescale ?? 0, apgEta: m.apg_eta ?? 1 }
      : undefined
  return {
    schedule,
    alphasCumprod: own,
    samplerOptions,
    sampler,
    assumed,
    classes,
    ...(guidance && { guidance }),
    size: sizeOf(info),
  }
}

function sizeOf(info: ModelInfo): Training['size'] {
  const { height, width } = info.signature
  if (height !== undefined && width !== undefined) return { height, width, from: 'graph' }
  const s = info.metadata.values.sample_size
  if (s !== undefined) {
    const [h, w] = typeof s === 'number' ? [s, s] : s
    return { height: height ?? h, width: width ?? w, from: 'metadata' }
  }
  return { height: height ?? SMALLEST_DYNAMIC_SIZE, width: width ?? SMALLEST_DYNAMIC_SIZE, from: 'smallest' }
}

/** The image channels: fixed in the graph, else the metadata's in_channels; undefined when neither says. */
export const channelsOf = (info: ModelInfo): number | undefined =>
  info.signature.channels ?? info.metadata.values.in_channels

/** Why a class label cannot be used with this model, or undefined when it can. One wording for every adapter. */
export function classLabelProblem(t: Training, label: number, modelName: string): string | undefined {
  if (!t.classes) return `${modelName} takes no class label`
  const { names, nullClassId } = t.classes
  if (Number.isInteger(label) && label >= 0 && (label < names.length || label === nullClassId)) return undefined
  // e.g. a diffusers UNet2DModel with class_embed_type "timestep": it takes labels but says not how many.
  if (names.length === 0 && nullClassId === undefined)
    return `${modelName} takes class labels but its config says not how many: add "class_names" or "num_class_embeds" to it`
  return `${label} is not a class of ${modelName} (0..${names.length - 1}${nullClassId !== undefined ? `, or ${nullClassId} for none` : ''})`
}
