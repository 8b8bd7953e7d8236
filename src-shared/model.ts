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
