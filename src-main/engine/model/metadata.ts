/**
 * Training metadata: the keys Stepwise reads, their validation, and how the three sources map onto them.
 * The keys are diffusers' config names; ONNX `metadata_props` carry them as `stepwise.<key>` strings,
 * a sidecar `<model>.json` as plain JSON, a diffusers folder in `scheduler/scheduler_config.json`
 * (and `unet/config.json` for `sample_size`, `in_channels` and `num_class_embeds`).
 */
import { z } from 'zod'

import { MAX_TRAIN_STEPS } from '../../../src-shared/limits'
import { INFORMATIONAL_KEYS, type MetadataKey, type MetadataSource } from '../../../src-shared/model'
import { PREDICTION_TYPES, SPACINGS } from '../../../src-shared/names'
import { ModelProto } from './onnx-proto'

export const METADATA_PREFIX = 'stepwise.'

export const metadataSchema = z.object({
  num_train_timesteps: z.number().int().positive().max(MAX_TRAIN_STEPS),
  beta_schedule: z.string(),
  beta_start: z.number().positive(),
  beta_end: z.number().positive(),
  prediction_type: z.enum(PREDICTION_TYPES),
  clip_sample: z.boolean(),
  clip_sample_range: z.number().positive(),
  thresholding: z.boolean(),
  dynamic_thresholding_ratio: z.number().gt(0).lte(1),
  sample_max_value: z.number().positive(),
  timestep_spacing: z.enum(SPACINGS),
  steps_offset: z.number().int().nonnegative(),
  set_alpha_to_one: z.boolean(),
  variance_type: z.string(),
  rescale_betas_zero_snr: z.boolean(),
  // A schedule given as numbers (diffusers' trained_betas; alphas_cumprod as lucidrains and others keep it).
  trained_betas: z.array(z.number().gt(0).lt(1)).min(1).max(MAX_TRAIN_STEPS),
  alphas_cumprod: z.array(z.number().gt(0).lte(1)).min(1).max(MAX_TRAIN_STEPS),
  // lucidrains' GaussianDiffusion(schedule_fn_kwargs=...) for its sigmoid schedule.
  schedule_fn_kwargs: z.object({ start: z.number(), end: z.number(), tau: z.number().positive() }).partial(),
  use_clipped_model_output: z.boolean(),
  sample_size: z.union([
    z.number().int().positive(),
    z.tuple([z.number().int().positive(), z.number().int().positive()]),
  ]),
  // What a size the graph leaves open must be a multiple of: 2^k for a U-Net that halves its images k times.
  size_multiple: z
    .number()
    .int()
    .positive()
    .refine((n) => (n & (n - 1)) === 0, 'a power of 2'),
  in_channels: z.number().int().positive(),
  class_names: z.array(z.string()),
  num_class_embeds: z.number().int().positive(),
  null_class_id: z.number().int().nonnegative(),
  // How the model is meant to be guided (the app starts from them): a pipeline's guidance_scale and
  // guidance_rescale, and APG's eta (lucidrains' classifier_free_guidance.py samples with 6, 0.7 and 0).
  guidance_scale: z.number().min(0).finite(),
  guidance_rescale: z.number().min(0).max(1),
  apg_eta: z.number().min(0).max(1),
  name: z.string(),
  description: z.string(),
})

export type Metadata = Partial<z.infer<typeof metadataSchema>>
export type { MetadataKey, MetadataSource }
// The schema has exactly the vocabulary's keys (a key added to one and not the other fails to compile).
const sameKeys: [MetadataKey, keyof Metadata] extends [keyof Metadata, MetadataKey] ? true : never = true
void sameKeys
export const METADATA_KEYS = Object.keys(metadataSchema.shape) as MetadataKey[]

/** Metadata values with where each came from. */
export interface ResolvedMetadata {
  values: Metadata
  origin: Partial<Record<MetadataKey, MetadataSource>>
}

/** ONNX metadata values are strings: numbers, booleans and lists arrive JSON-encoded, names as they are. */
function fromMetadataString(value: string): unknown {
  try {
    return JSON.parse(value)
  } catch {
    return value
  }
}

export function metadataFromOnnxProps(props: { key: string; value: string }[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const { key, value } of props) {
    if (key.startsWith(METADATA_PREFIX)) out[key.slice(METADATA_PREFIX.length)] = fromMetadataString(value)
  }
  return out
}

/** A value as ONNX metadata keeps it: names as they are, anything else (or a name that reads as JSON) as JSON. */
function toMetadataString(value: unknown): string {
  if (typeof value !== 'string') return JSON.stringify(value)
  return fromMetadataString(value) === value ? value : JSON.stringify(value)
}

/**
 * The model with `stepwise.<key>` metadata_props added. Protobuf merges a message's fields when two
 * encodings are concatenated (repeated fields append), so this appends and never decodes the graph; a
 * key the model already had is given again, and readers keep the last.
 */
export function withOnnxMetadata(model: Uint8Array, values: Metadata): Uint8Array {
  const metadataProps = Object.entries(values)
    .filter(([, v]) => v !== undefined)
    .map(([key, value]) => ({ key: METADATA_PREFIX + key, value: toMetadataString(value) }))
  const extra = ModelProto.encode({ metadataProps }).finish()
  const out = new Uint8Array(model.length + extra.length)
  out.set(model)
  out.set(extra, model.length)
  return out
}

/**
 * The keys of a source that Stepwise does not read, so a card can say they were ignored: diffusers'
 * `_class_name` and the like, and `known` (keys the source's own reader takes, such as a UNet's options).
 */
export const ignoredKeys = (raw: Record<string, unknown>, known: readonly string[] = []): string[] =>
  Object.keys(raw).filter(
    (k) =>
      !k.startsWith('_') &&
      !(METADATA_KEYS as string[]).includes(k) &&
      !(INFORMATIONAL_KEYS as readonly string[]).includes(k) &&
      !known.includes(k),
  )

/** Validate the known keys of one source; keys it does not know are left out (ignoredKeys names them). */
export function validateMetadata(raw: Record<string, unknown>, where: string): Metadata {
  const known = Object.fromEntries(
    Object.entries(raw).filter(([k, v]) => (METADATA_KEYS as string[]).includes(k) && v !== null),
  )
  const parsed = metadataSchema.partial().safeParse(known)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new Error(`${where}: ${issue.path.join('.')}: ${issue.message}`)
  }
  return parsed.data
}

/** Merge sources, earlier ones winning key by key. */
export function mergeMetadata(sources: [MetadataSource, Metadata][]): ResolvedMetadata {
  const values: Metadata = {}
  const origin: ResolvedMetadata['origin'] = {}
  for (const [source, meta] of sources) {
    for (const key of METADATA_KEYS) {
      if (meta[key] !== undefined && values[key] === undefined) {
        ;(values as Record<string, unknown>)[key] = meta[key]
        origin[key] = source
      }
    }
  }
  return { values, origin }
}
