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
  'sample_size',
  'in_channels',
  'class_names',
  'num_class_embeds',
  'null_class_id',
  'name',
  'description',
] as const
export type MetadataKey = (typeof METADATA_KEYS)[number]

/** Where a metadata value came from, in the order the sources win. */
export const METADATA_SOURCES = ['scheduler-config', 'unet-config', 'sidecar', 'onnx-metadata', 'default'] as const
export type MetadataSource = (typeof METADATA_SOURCES)[number]

/** The source formats Stepwise opens (one file each in src-main/engine/model/formats/), as the model card names them. */
export const MODEL_FORMATS = {
  onnx: 'ONNX',
  diffusers: 'diffusers UNet2DModel',
} as const
export type ModelFormatName = keyof typeof MODEL_FORMATS

/** Files of weights Stepwise reads (safetensors, and PyTorch's zip archives under their usual names). */
export const WEIGHTS_EXTENSIONS = ['.safetensors', '.bin', '.pt', '.pth', '.ckpt'] as const
export const isWeightsFile = (name: string) => WEIGHTS_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e))

/** How a model lies on disk: an .onnx alone or with its sidecar .json, a diffusers folder, a weights file beside its config.json. */
export const MODEL_LAYOUTS = ['onnx', 'onnx+sidecar', 'diffusers-folder', 'diffusers-weights'] as const
export type ModelLayout = (typeof MODEL_LAYOUTS)[number]

/** Where a fact about the network came from: its config file, or a default because the file left it out. */
export const FACT_ORIGINS = ['config', 'assumed'] as const
export type FactOrigin = (typeof FACT_ORIGINS)[number]

/** One fact about the network (an option of its config, its parameter count) and where it came from. */
export interface SourceFact {
  key: string
  value: string
  from: FactOrigin
}

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
