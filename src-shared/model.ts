/** What Stepwise knows about a model's training configuration, and where each fact came from. */
import type { ProviderName } from './names'

/** The training-config keys Stepwise reads: diffusers' config names. */
export const METADATA_KEYS = [
  'num_train_timesteps',
  'beta_schedule',
  'beta_start',
  'beta_end',
  'prediction_type',
  'clip_sample',
  'clip_sample_range',
  'thresholding',
  'dynamic_thresholding_ratio',
  'sample_max_value',
  'timestep_spacing',
  'steps_offset',
  'set_alpha_to_one',
  'variance_type',
  'rescale_betas_zero_snr',
  'trained_betas',
  'alphas_cumprod',
  'schedule_fn_kwargs',
  'use_clipped_model_output',
  'sample_size',
  'size_multiple',
  'in_channels',
  'class_names',
  'num_class_embeds',
  'null_class_id',
  'guidance_scale',
  'guidance_rescale',
  'apg_eta',
  'name',
  'description',
] as const
export type MetadataKey = (typeof METADATA_KEYS)[number]

/**
 * How a class-conditional model is meant to be guided, where its metadata says (guidance_scale,
 * guidance_rescale, apg_eta): the app's guidance controls start there when it loads.
 */
export interface GuidanceDefaults {
  scale: number
  rescale: number
  /** APG's eta; 1 is plain guidance. */
  apgEta: number
}
/**
 * Keys Stepwise's own training tool writes for people to read (tools/train/export.py: the training step and
 * the parameter count): known, so never reported as ignored, and not part of the configuration.
 */
export const INFORMATIONAL_KEYS = ['train_steps', 'params'] as const

/**
 * Where a metadata value came from, in the order the sources win: `checkpoint` is what a lucidrains
 * checkpoint holds or implies (its buffers, its Unet, its sampler), `alphas-npy` an alphas_cumprod.npy
 * beside the model.
 */
export const METADATA_SOURCES = [
  'scheduler-config',
  'unet-config',
  'sidecar',
  'onnx-metadata',
  'checkpoint',
  'alphas-npy',
  'default',
] as const
export type MetadataSource = (typeof METADATA_SOURCES)[number]

/** The source formats Stepwise opens (one file each in src-main/engine/model/formats/), as the model card names them. */
export const MODEL_FORMATS = {
  onnx: 'ONNX',
  diffusers: 'diffusers UNet2DModel',
  lucidrains: 'lucidrains denoising-diffusion-pytorch Unet',
} as const
export type ModelFormatName = keyof typeof MODEL_FORMATS

/** How the card and the CLI name a model's source: its format, and the model the network sits in where that is not the usual one. */
export const sourceLabel = (source: { format: ModelFormatName; within?: string }): string =>
  `${MODEL_FORMATS[source.format]}${source.within ? ` in ${source.within}` : ''}`

/**
 * Hex digits of a model's hash: the start of its weights file's SHA-256, as A1111 writes "Model hash" (its
 * AutoV2 hash) into PNGs. The engine computes it (engine/model/file-hash.ts).
 */
export const MODEL_HASH_LENGTH = 10

/**
 * Which weights of a checkpoint that holds two sets to sample with: the exponential moving average (what
 * lucidrains' Trainer and diffusers' training scripts sample with; the default) or the online model's (the
 * ones the optimizer trained).
 */
export const CHECKPOINT_WEIGHTS = ['ema', 'online'] as const
export type CheckpointWeights = (typeof CHECKPOINT_WEIGHTS)[number]

/** Files of weights Stepwise reads (safetensors, and PyTorch's zip archives under their usual names). */
export const WEIGHTS_EXTENSIONS = ['.safetensors', '.bin', '.pt', '.pth', '.ckpt'] as const
export const isWeightsFile = (name: string) => WEIGHTS_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e))

/** What lucidrains' Trainer.save names a checkpoint in its results folder: model-<milestone>.pt. */
export const TRAINER_CHECKPOINT = /^model-(\d+)\.pt$/

/**
 * A dropped folder's files without what opening it does not read: accelerate's training state
 * (isTrainingState), and in a lucidrains Trainer's results folder every checkpoint but the newest (the one
 * that opens), with its sample grid and sidecar.
 */
export function filesToStage<T>(files: T[], pathOf: (f: T) => string): T[] {
  const milestone = (path: string) => /^[^/]+\/(?:model|sample)-(\d+)\.(?:pt|png|json)$/.exec(path)?.[1]
  const topLevel = (path: string) => (/^[^/]+\/[^/]+$/.test(path) ? path.split('/')[1] : '')
  const newest = Math.max(
    ...files
      .map((f) => TRAINER_CHECKPOINT.exec(topLevel(pathOf(f)))?.[1])
      .filter((m) => m !== undefined)
      .map(Number),
  )
  return files.filter((f) => {
    const path = pathOf(f)
    const m = milestone(path)
    // No model-N.pt at all: a model-3.json is model-3.onnx's sidecar, and stays.
    if (m !== undefined && Number.isFinite(newest) && Number(m) !== newest) return false
    return !(path.includes('/') && isTrainingState(path.split('/').pop()!))
  })
}

/**
 * The training state accelerate's save_state writes into a checkpoint-N folder beside the models: the
 * optimizer's (twice the model, for Adam), the learning-rate scheduler's, the loss scaler's, the random
 * generators'. No model is read from them: a dropped folder need not carry them.
 */
export const isTrainingState = (name: string) =>
  /^(optimizer|scheduler)(_\d+)?\.bin$|^scaler(_\d+)?\.pt$|^(random_states|custom_checkpoint)_\d+\.pkl$/.test(name)

/**
 * How a model lies on disk: an .onnx alone or with its sidecar .json, a diffusers folder, a weights file
 * beside its config.json, a lucidrains checkpoint (Trainer.save's model-N.pt, or a GaussianDiffusion's state dict).
 */
export const MODEL_LAYOUTS = [
  'onnx',
  'onnx+sidecar',
  'diffusers-folder',
  'diffusers-weights',
  'lucidrains-checkpoint',
] as const
export type ModelLayout = (typeof MODEL_LAYOUTS)[number]

/**
 * Where a fact about the network or its training came from, and how inspect and the model card say it: its
 * config file, what the checkpoint saved (its buffers, its step), inferred from the weights' names and shapes,
 * what the library's own sampler does, or a default because nothing said.
 */
export const FACT_ORIGINS = {
  config: 'from config',
  checkpoint: 'from checkpoint',
  weights: 'from weights',
  sampler: 'as its sampler',
  assumed: 'assumed',
} as const
export type FactOrigin = keyof typeof FACT_ORIGINS

/** One fact about the network (an option of its config, its parameter count) and where it came from. */
export interface SourceFact {
  key: string
  value: string
  from: FactOrigin
  /** What it was read or inferred from ("model.init_conv.weight [16, 1, 7, 7]"), where that says more. */
  why?: string
}

/** A fact whose value is shown as it is when a string, else as JSON. */
export const sourceFact = (key: string, value: unknown, from: FactOrigin, why?: string): SourceFact => ({
  key,
  value: typeof value === 'string' ? value : JSON.stringify(value),
  from,
  ...(why && { why }),
})

/** An execution provider that was tried (or not) before the one that runs, and why it was skipped. */
export interface ProviderNote {
  provider: ProviderName
  reason: string
}

/** The device a GPU provider runs on, where it can be told; a software one is a CPU under a GPU's API. */
export interface Adapter {
  name: string
  software: boolean
}

/** The provider as the CLI and the app show it: "cpu", "webgpu (NVIDIA GeForce RTX 4070)", "webgpu (SwiftShader, CPU)". */
export const providerLabel = (provider: ProviderName, adapter?: Adapter | null): string =>
  adapter ? `${provider} (${adapter.name}${adapter.software ? ', CPU' : ''})` : provider
