/**
 * What a GaussianDiffusion says of itself beyond its Unet: the named schedule its alphas_cumprod buffer is,
 * the objective its loss_weight buffer was registered for, and how its ddim_sample samples (what Stepwise's
 * DDIM does by default for it). Pure: buffers in, facts out.
 */
import { basename } from 'node:path'

import { type SourceFact, sourceFact } from '../../../../src-shared/model'
import type { PredictionType } from '../../../../src-shared/names'
import { EngineError } from '../../errors'
import { namedScheduleOf } from '../../schedule'
import type { UnetWrap } from '../graph/lucidrains-unet'
import { inferUnetConfig, type LucidrainsUnetConfig } from '../graph/lucidrains-unet-config'
import type { Metadata } from '../metadata'
import { float32Of, type StoredTensor, type Weights } from '../weights/tensor'

/** GaussianDiffusion's objectives, as diffusers names the same predictions. */
export const OBJECTIVES: Record<string, PredictionType> = {
  pred_noise: 'epsilon',
  pred_x0: 'sample',
  pred_v: 'v_prediction',
}
export type Objective = keyof typeof OBJECTIVES

/**
 * The objective GaussianDiffusion registered its loss_weight buffer for. With snr = ab / (1 - ab) and
 * min_snr_loss_weight's clipped snr (min(snr, gamma), or snr itself): pred_noise weighs clipped / snr,
 * pred_x0 clipped, pred_v clipped / (snr + 1). So loss_weight divided by 1 / snr, 1 or 1 / (snr + 1) is
 * min(snr, gamma) for the objective that made it (gamma: its largest value); the one that fits every t.
 */
export function objectiveOf(
  lossWeight: ArrayLike<number>,
  snr: ArrayLike<number>,
): { objective: Objective; minSnrGamma?: number } | undefined {
  const per: Record<Objective, (s: number) => number> = {
    pred_noise: (s) => 1 / s,
    pred_x0: () => 1,
    pred_v: (s) => 1 / (s + 1),
  }
  let best: { objective: Objective; gamma: number; error: number } | undefined
  for (const objective of Object.keys(per) as Objective[]) {
    const clipped = Array.from(lossWeight, (w, t) => w / per[objective](snr[t]))
    const gamma = Math.max(...clipped)
    // float32 buffers: the fit is to a few parts in a million; another objective misses by orders more. The
    // gamma is read to 6 digits: min_snr_loss_weight's is a user's number (5 by default).
    const error = Math.max(...clipped.map((c, t) => Math.abs(c - Math.min(snr[t], gamma)) / Math.min(snr[t], gamma)))
    if (!best || error < best.error) best = { objective, gamma, error }
  }
  if (!best || !(best.error < 1e-3)) return undefined
  const clippedAnywhere = Array.from(snr).some((s) => s > best.gamma * (1 + 1e-4))
  return { objective: best.objective, ...(clippedAnywhere && { minSnrGamma: Number(best.gamma.toPrecision(6)) }) }
}

/**
 * The objective, with the facts that say why. LearnedGaussianDiffusion trains the first half of its output
 * on the noise whatever its objective; else the loss_weight buffer says it; without one (or one that fits
 * none), GaussianDiffusion's default, pred_v.
 */
export function objectiveFrom(
  buffer: (name: string) => StoredTensor | undefined,
  alphasCumprod: Float64Array,
  learnedVariance: boolean,
  path: string,
): { objective: Objective; facts: SourceFact[]; notes: string[] } {
  const lossWeight = buffer('loss_weight')
  const snrFrom = buffer('sqrt_recipm1_alphas_cumprod')
  const snr = snrFrom
    ? Array.from(float32Of(snrFrom, path), (r) => 1 / (r * r)) // sqrt(1 / ab - 1): exact where 1 - ab rounds badly
    : Array.from(alphasCumprod, (a) => a / (1 - a))
  const fitted = lossWeight ? objectiveOf(float32Of(lossWeight, path), snr) : undefined
  if (learnedVariance)
    return {
      objective: 'pred_noise',
      facts: [
        sourceFact(
          'objective',
          'pred_noise',
          'weights',
          'learned variance: LearnedGaussianDiffusion, whose first half is the noise',
        ),
      ],
      notes:
        fitted && fitted.objective !== 'pred_noise'
          ? [
              `${basename(path)}: loss_weight says ${fitted.objective}, but LearnedGaussianDiffusion predicts the noise whatever its objective`,
            ]
          : [],
    }
  if (fitted)
    return {
      objective: fitted.objective,
      facts: [
        sourceFact('objective', fitted.objective, 'checkpoint', 'loss_weight'),
        ...(fitted.minSnrGamma === undefined
          ? []
          : [sourceFact('min_snr_gamma', fitted.minSnrGamma, 'checkpoint', 'loss_weight (min_snr_loss_weight)')]),
      ],
      notes: [],
    }
  return {
    objective: 'pred_v',
    facts: [
      sourceFact(
        'objective',
        'pred_v',
        'assumed',
        lossWeight ? 'loss_weight fits no objective' : "no loss_weight buffer; GaussianDiffusion's default",
      ),
    ],
    notes: [],
  }
}

type SamplerShaping = Pick<LucidrainsUnetConfig, 'learnedVariance' | 'selfCondition' | 'classes'>

/**
 * ddim_sample takes the noise again from the clipped x0 (rederive_pred_noise), but for a learned variance:
 * LearnedGaussianDiffusion's model_predictions keeps the model's own; and classifier_free_guidance.py's
 * keeps a pred_noise model's own (its other objectives derive the noise from the clipped x0).
 */
export const rederivesNoise = (config: SamplerShaping, objective: Objective): boolean =>
  !config.learnedVariance && !(config.classes && objective === 'pred_noise')

/** How its ddim_sample samples: Stepwise's DDIM does the same by default. */
export function samplerFacts(config: SamplerShaping, objective: Objective): SourceFact[] {
  const rederives = rederivesNoise(config, objective)
  return [
    sourceFact(
      'timestep_spacing',
      'lucidrains',
      'sampler',
      'ddim_sample: torch.linspace(-1, T - 1, N + 1) pairs, each step to the next',
    ),
    sourceFact('clip_sample', true, 'sampler', 'model_predictions(clip_x_start=True): x0 clamped to [-1, 1]'),
    sourceFact(
      'use_clipped_model_output',
      rederives,
      'sampler',
      rederives
        ? 'rederive_pred_noise: the noise from the clipped x0'
        : config.classes
          ? "classifier_free_guidance.py's model_predictions keeps a pred_noise model's noise"
          : "LearnedGaussianDiffusion's model_predictions keeps the model's noise",
    ),
    sourceFact('set_alpha_to_one', true, 'sampler', 'the last pair (t, -1) returns the clipped x0'),
    ...(config.selfCondition
      ? [
          sourceFact(
            'x_self_cond',
            "the previous step's clipped x0",
            'sampler',
            'ddim_sample feeds x_start back; zeros at the first step',
          ),
        ]
      : []),
  ]
}

/** The metadata of how its ddim_sample samples (samplerFacts says why), the classes and their guidance. */
function samplingMetadata(config: LucidrainsUnetConfig, objective: Objective): Metadata {
  return {
    timestep_spacing: 'lucidrains',
    steps_offset: 0,
    clip_sample: true,
    clip_sample_range: 1,
    set_alpha_to_one: true,
    use_clipped_model_output: rederivesNoise(config, objective),
    in_channels: config.channels,
    // classifier_free_guidance.py: its classes, and one past them its null embedding (the graph's).
    ...(config.classes && { num_class_embeds: config.classes.count + 1, null_class_id: config.classes.count }),
    // Its sample()'s guidance: cond_scale 6, rescaled_phi 0.7, the update's parallel part removed.
    ...(config.classes && { guidance_scale: 6, guidance_rescale: 0.7, apg_eta: 0 }),
  }
}

/**
 * What a checkpoint's diffusion model adds to its Unet: facts, notes, metadata and, where the Unet's time is
 * not a timestep, what its graph wraps it in (`wrap.key` names that for the graph cache, `wrap.sidecarKeys`
 * the sidecar keys read for it).
 */
export interface DiffusionPart {
  config: LucidrainsUnetConfig
  facts: SourceFact[]
  notes: string[]
  metadata: Metadata
  wrap?: { graph: UnetWrap; key: string; sidecarKeys: string[] }
  /** The diffusion model, where it is not a GaussianDiffusion (the card's source says so). */
  within?: string
  /** Its schedule, said as the card says it (ModelSource.schedule). */
  schedule?: string
}

/** A GaussianDiffusion (or LearnedGaussianDiffusion, classifier_free_guidance.py's): its buffers say the rest. */
export function gaussianPart(
  buffer: (name: string) => StoredTensor | undefined,
  weights: Weights,
  path: string,
  found: () => string,
): DiffusionPart {
  const ac = buffer('alphas_cumprod')
  if (!ac) throw new EngineError('unsupported-model', `${path}: no alphas_cumprod buffer; found ${found()}`)
  const { config, facts } = inferUnetConfig(weights, path)
  if (config.timeEmbedding.kind === 'fourier')
    throw new EngineError(
      'unsupported-model',
      `${path}: a Unet with learned sinusoidal time features (GaussianDiffusion refuses those: a continuous-time model's Unet), not supported yet`,
    )
  const alphasCumprod = Float64Array.from(float32Of(ac, `${path}: alphas_cumprod`))
  if (alphasCumprod.some((a) => !(a > 0 && a <= 1)))
    throw new EngineError('bad-weights', `${path}: alphas_cumprod has values outside (0, 1]`)
  const T = alphasCumprod.length
  const named = namedScheduleOf(alphasCumprod)
  facts.push(
    sourceFact('timesteps', T, 'checkpoint', `alphas_cumprod [${ac.shape.join(', ')}]`),
    sourceFact(
      'beta_schedule',
      named ?? 'custom',
      'checkpoint',
      named
        ? 'the alphas_cumprod buffer matches it'
        : 'the alphas_cumprod buffer, as it is (no named schedule matches it)',
    ),
  )
  const objective = objectiveFrom(buffer, alphasCumprod, config.learnedVariance, path)
  facts.push(...objective.facts, ...samplerFacts(config, objective.objective))
  const metadata: Metadata = {
    alphas_cumprod: Array.from(alphasCumprod),
    num_train_timesteps: T,
    prediction_type: OBJECTIVES[objective.objective],
    ...samplingMetadata(config, objective.objective),
  }
  return {
    config,
    facts,
    notes: objective.notes,
    metadata,
  }
}

/**
 * A Unet's state_dict alone (`torch.save(diffusion.model.state_dict())`): no buffers, so the sidecar must say
 * the schedule (beta_schedule, alphas_cumprod or trained_betas) and the prediction (prediction_type); it
 * samples as GaussianDiffusion's ddim_sample does, as a checkpoint would.
 */
export function unetAlonePart(
  weights: Weights,
  sidecar: Record<string, unknown> | undefined,
  sidecarPath: string,
  path: string,
): DiffusionPart {
  const schedule = ['beta_schedule', 'alphas_cumprod', 'trained_betas'].find((k) => sidecar?.[k] !== undefined)
  const prediction = sidecar?.prediction_type
  if (!schedule || prediction === undefined)
    throw new EngineError(
      'unsupported-model',
      `${path}: a Unet's state_dict without its GaussianDiffusion (no alphas_cumprod, no loss_weight): the schedule and objective are unknown; save the Trainer's checkpoint or the GaussianDiffusion's state_dict, or give ${[
        !schedule && 'beta_schedule (or alphas_cumprod)',
        prediction === undefined && 'prediction_type',
      ]
        .filter(Boolean)
        .join(' and ')} in ${basename(sidecarPath)}`,
    )
  const { config, facts } = inferUnetConfig(weights, path)
  if (config.timeEmbedding.kind === 'fourier')
    throw new EngineError(
      'unsupported-model',
      `${path}: a Unet with learned sinusoidal time features, alone: a continuous-time model's, whose schedule is not a beta schedule; save the diffusion model's state_dict`,
    )
  const objective = (Object.keys(OBJECTIVES) as Objective[]).find((o) => OBJECTIVES[o] === prediction) ?? 'pred_noise'
  const why = basename(sidecarPath)
  facts.push(
    sourceFact(
      'diffusion',
      'none: the Unet alone',
      'checkpoint',
      "Unet keys at the top: no GaussianDiffusion's buffers",
    ),
    sourceFact(schedule, schedule === 'beta_schedule' ? sidecar![schedule] : 'given', 'config', why),
    sourceFact('objective', objective, 'config', `prediction_type ${String(prediction)} in ${why}`),
    ...samplerFacts(config, objective),
  )
  return { config, facts, notes: [], metadata: samplingMetadata(config, objective) }
}
