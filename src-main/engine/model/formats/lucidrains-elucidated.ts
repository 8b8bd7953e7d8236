/**
 * lucidrains' ElucidatedDiffusion (EDM, elucidated_diffusion.py): what its checkpoint says and what it does
 * not. Its state dict holds the Unet as `net.*` and nothing else: sigma_min, sigma_max and sigma_data are
 * constructor arguments, taken at its defaults unless the sidecar (model-N.json) gives them. The model Stepwise
 * samples is the preconditioned denoiser D over a virtual schedule (graph/edm-precondition.ts): an x0
 * ("sample") prediction, nothing clipped, as its sample_using_dpmpp (DPM++ 2M with Karras sigmas, Stepwise's
 * default sampler). Pure: config and sidecar in, facts and metadata out.
 */
import { basename } from 'node:path'

import { type SourceFact, sourceFact } from '../../../../src-shared/model'
import { EngineError } from '../../errors'
import {
  EDM_TRAIN_STEPS,
  edmAlphasCumprod,
  type EdmPreconditioning,
  ELUCIDATED_DEFAULTS,
} from '../graph/edm-precondition'
import { inferUnetConfig, type LucidrainsUnetConfig } from '../graph/lucidrains-unet-config'
import type { Metadata } from '../metadata'
import type { Weights } from '../weights/tensor'
import type { DiffusionPart } from './lucidrains-diffusion'

/** The sidecar keys read here (ElucidatedDiffusion's argument names), and the preconditioning fields they set. */
const ELUCIDATED_KEYS = { sigma_min: 'sigmaMin', sigma_max: 'sigmaMax', sigma_data: 'sigmaData' } as const

/** The preconditioning: a sidecar's sigma_min, sigma_max and sigma_data, else ElucidatedDiffusion's defaults. */
function edmOf(
  sidecar: Record<string, unknown> | undefined,
  sidecarPath: string,
): { edm: EdmPreconditioning; facts: SourceFact[] } {
  const edm: EdmPreconditioning = { ...ELUCIDATED_DEFAULTS, trainSteps: EDM_TRAIN_STEPS }
  const facts: SourceFact[] = []
  for (const [key, field] of Object.entries(ELUCIDATED_KEYS)) {
    const given = sidecar?.[key]
    if (given !== undefined && !(typeof given === 'number' && given > 0 && Number.isFinite(given)))
      throw new EngineError(
        'bad-metadata',
        `${sidecarPath}: ${key} must be a positive number; found ${JSON.stringify(given)}`,
      )
    if (given !== undefined) edm[field] = given
    facts.push(
      given === undefined
        ? sourceFact(
            key,
            edm[field],
            'assumed',
            "ElucidatedDiffusion's default: not in the checkpoint (a sidecar can say)",
          )
        : sourceFact(key, given, 'config', basename(sidecarPath)),
    )
  }
  if (!(edm.sigmaMin < edm.sigmaMax))
    throw new EngineError(
      'bad-metadata',
      `${sidecarPath}: sigma_min ${edm.sigmaMin} is not below sigma_max ${edm.sigmaMax}`,
    )
  return { edm, facts }
}

/** What the checkpoint's model is, how Stepwise samples it, and its metadata (the schedule, the prediction). */
function elucidatedDiffusion(
  config: LucidrainsUnetConfig,
  edm: EdmPreconditioning,
  path: string,
): { facts: SourceFact[]; metadata: Metadata } {
  if (config.timeEmbedding.kind !== 'fourier')
    throw new EngineError(
      'unsupported-model',
      `${path}: an ElucidatedDiffusion (its Unet as net.*) whose Unet has no learned sinusoidal time features, which ElucidatedDiffusion asserts`,
    )
  if (config.classes)
    throw new EngineError(
      'unsupported-model',
      `${path}: an ElucidatedDiffusion around a class-conditional Unet, which it does not pass classes to`,
    )
  const facts = [
    sourceFact(
      'diffusion',
      'ElucidatedDiffusion',
      'checkpoint',
      'the Unet under net.*: only ElucidatedDiffusion names it so',
    ),
    sourceFact(
      'preconditioning',
      'EDM',
      'checkpoint',
      'D(x, sigma) = c_skip x + c_out net(c_in x, log(sigma) / 4): an x0 prediction',
    ),
    sourceFact(
      'timesteps',
      edm.trainSteps,
      'assumed',
      `virtual: log sigma uniform in t from sigma_min (t = 0) to sigma_max (t = ${edm.trainSteps - 1}), fractional t exact`,
    ),
    sourceFact(
      'clip_sample',
      false,
      'sampler',
      'sample_using_dpmpp (DPM++ 2M Karras) clips nothing; its sample() (EDM stochastic Heun, S_churn 80) clamps x0',
    ),
    ...(config.selfCondition
      ? [
          sourceFact(
            'x_self_cond',
            "the previous call's x0",
            'sampler',
            "sample() feeds each call the last one's output (Heun's second call its first's); zeros at first",
          ),
        ]
      : []),
  ]
  const metadata: Metadata = {
    alphas_cumprod: Array.from(edmAlphasCumprod(edm)),
    num_train_timesteps: edm.trainSteps,
    prediction_type: 'sample',
    // diffusers' default for its sigma-space samplers, whose Karras sigmas run between the sigmas at the first
    // and last spaced timesteps: linspace spans 999..0, so Heun and Euler with Karras sigmas run sigma_max..
    // sigma_min as EDM does (trailing would end them at t = T / N).
    timestep_spacing: 'linspace',
    steps_offset: 0,
    clip_sample: false,
    set_alpha_to_one: true,
    in_channels: config.channels,
  }
  return { facts, metadata }
}

/** An ElucidatedDiffusion: no buffers; its preconditioning from the sidecar or its defaults. */
export function elucidatedPart(
  weights: Weights,
  sidecar: Record<string, unknown> | undefined,
  sidecarPath: string,
  path: string,
): DiffusionPart {
  const { config, facts: unetFacts } = inferUnetConfig(weights, path)
  const { edm, facts: edmFacts } = edmOf(sidecar, sidecarPath)
  const { facts, metadata } = elucidatedDiffusion(config, edm, path)
  const wrap = {
    graph: { edm },
    // EDM's constants are in the graph: another sidecar's sigmas build another one.
    key: `edm ${edm.sigmaMin} ${edm.sigmaMax} ${edm.sigmaData} ${edm.trainSteps}`,
    sidecarKeys: Object.keys(ELUCIDATED_KEYS),
  }
  return {
    config,
    facts: [...unetFacts, ...facts, ...edmFacts],
    notes: [],
    metadata,
    wrap,
    within: 'ElucidatedDiffusion (EDM)',
    schedule: `EDM, σ ${edm.sigmaMin}–${edm.sigmaMax}, ${edm.trainSteps} virtual timesteps`,
  }
}
