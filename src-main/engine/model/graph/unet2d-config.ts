/**
 * diffusers' UNet2DModel config (`unet/config.json`): every key of UNet2DModel.__init__ with its default
 * (src/diffusers/models/unets/unet_2d.py), so an old config from the hub with a dozen keys means what
 * diffusers makes of it; which keys the file gave and which were assumed; the options Stepwise builds,
 * and a one-line error naming any other.
 */
import { EngineError } from '../../errors'
import { type Activation, ACTIVATIONS } from './nn'

/** UNet2DModel.__init__'s keyword arguments and defaults (diffusers 0.40). */
export const UNET2D_DEFAULTS = {
  sample_size: null as number | [number, number] | null,
  in_channels: 3,
  out_channels: 3,
  center_input_sample: false,
  time_embedding_type: 'positional' as string,
  time_embedding_dim: null as number | null,
  freq_shift: 0,
  flip_sin_to_cos: true,
  down_block_types: ['DownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D', 'AttnDownBlock2D'],
  mid_block_type: 'UNetMidBlock2D' as string | null,
  up_block_types: ['AttnUpBlock2D', 'AttnUpBlock2D', 'AttnUpBlock2D', 'UpBlock2D'],
  block_out_channels: [224, 448, 672, 896],
  layers_per_block: 2,
  mid_block_scale_factor: 1,
  downsample_padding: 1,
  downsample_type: 'conv' as string,
  upsample_type: 'conv' as string,
  dropout: 0,
  act_fn: 'silu' as string,
  attention_head_dim: 8 as number | null,
  norm_num_groups: 32,
  attn_norm_num_groups: null as number | null,
  norm_eps: 1e-5,
  resnet_time_scale_shift: 'default' as string,
  add_attention: true,
  class_embed_type: null as string | null,
  num_class_embeds: null as number | null,
  num_train_timesteps: null as number | null,
}

export type UNet2DConfig = typeof UNET2D_DEFAULTS & { act_fn: Activation }
export type UNet2DKey = keyof typeof UNET2D_DEFAULTS

/** Keys ConfigMixin writes about the file itself, not the network. */
const BOOKKEEPING = /^_/

export interface ParsedUNet2DConfig {
  config: UNet2DConfig
  /** Keys of UNet2DModel.__init__ the file gave, and those it left to the defaults. */
  given: UNet2DKey[]
  assumed: UNet2DKey[]
  /** Keys UNet2DModel does not take (diffusers ignores them with a warning; so do we, and say so). */
  ignored: string[]
}

const DOWN_BLOCKS = ['DownBlock2D', 'AttnDownBlock2D']
const UP_BLOCKS = ['UpBlock2D', 'AttnUpBlock2D']

export function parseUNet2DConfig(raw: Record<string, unknown>, file: string): ParsedUNet2DConfig {
  const unsupported = (what: string) => new EngineError('unsupported-model', `${file}: ${what}`)
  const bad = (key: string, expected: string) =>
    new EngineError(
      'bad-metadata',
      `${file}: ${key} is ${JSON.stringify(key in raw ? raw[key] : (UNET2D_DEFAULTS as Record<string, unknown>)[key])}; expected ${expected}`,
    )

  const className = raw._class_name
  if (typeof className === 'string' && className !== 'UNet2DModel') {
    if (/Condition|Latent|VQ|Autoencoder/i.test(className))
      throw unsupported(`a ${className}: text-conditioned and latent models are not supported yet`)
    throw unsupported(`a ${className}; Stepwise builds diffusers' UNet2DModel`)
  }

  const config = { ...UNET2D_DEFAULTS } as UNet2DConfig
  const given: UNet2DKey[] = []
  const ignored: string[] = []
  for (const [key, value] of Object.entries(raw)) {
    if (BOOKKEEPING.test(key)) continue
    if (!(key in UNET2D_DEFAULTS)) {
      ignored.push(key)
      continue
    }
    ;(config as Record<string, unknown>)[key] = value
    given.push(key as UNet2DKey)
  }
  const assumed = (Object.keys(UNET2D_DEFAULTS) as UNet2DKey[]).filter((k) => !given.includes(k))

  const positiveInt = (key: UNet2DKey, nullable = false) => {
    const v = config[key]
    if (nullable && v === null) return
    if (!Number.isInteger(v) || (v as number) <= 0)
      throw bad(key, nullable ? 'a positive integer or null' : 'a positive integer')
  }
  const oneOf = (key: UNet2DKey, allowed: readonly (string | null)[], what = 'Stepwise builds') => {
    const v = config[key] as string | null
    if (!allowed.includes(v))
      throw unsupported(
        `${key} ${JSON.stringify(v)} is not supported yet (${what} ${allowed.map((a) => JSON.stringify(a)).join(', ')})`,
      )
  }
  const boolean = (key: UNet2DKey) => {
    if (typeof config[key] !== 'boolean') throw bad(key, 'true or false')
  }
  const number = (key: UNet2DKey) => {
    if (typeof config[key] !== 'number' || !Number.isFinite(config[key])) throw bad(key, 'a number')
  }

  for (const key of ['in_channels', 'out_channels', 'layers_per_block', 'norm_num_groups'] as const) positiveInt(key)
  for (const key of ['time_embedding_dim', 'attention_head_dim', 'attn_norm_num_groups', 'num_class_embeds'] as const)
    positiveInt(key, true)
  for (const key of ['center_input_sample', 'flip_sin_to_cos', 'add_attention'] as const) boolean(key)
  for (const key of ['freq_shift', 'mid_block_scale_factor', 'norm_eps'] as const) number(key)
  if (!Number.isInteger(config.downsample_padding) || config.downsample_padding < 0)
    throw bad('downsample_padding', 'a non-negative integer')

  const blocks = config.block_out_channels
  if (!Array.isArray(blocks) || blocks.length === 0 || !blocks.every((c) => Number.isInteger(c) && c > 0))
    throw bad('block_out_channels', 'a list of positive integers')
  for (const key of ['down_block_types', 'up_block_types'] as const) {
    const list = config[key]
    if (!Array.isArray(list) || list.length !== blocks.length)
      throw bad(key, `a list of ${blocks.length} block names, one per block_out_channels`)
  }
  // get_down_block / get_up_block accept the old "UNetRes" prefix.
  config.down_block_types = config.down_block_types.map((b) => String(b).replace(/^UNetRes/, ''))
  config.up_block_types = config.up_block_types.map((b) => String(b).replace(/^UNetRes/, ''))
  for (const b of config.down_block_types)
    if (!DOWN_BLOCKS.includes(b)) {
      if (/CrossAttn/.test(b)) throw unsupported(`${b}: text-conditioned and latent models are not supported yet`)
      throw unsupported(`down block ${b} is not supported yet (Stepwise builds ${DOWN_BLOCKS.join(', ')})`)
    }
  for (const b of config.up_block_types)
    if (!UP_BLOCKS.includes(b)) {
      if (/CrossAttn/.test(b)) throw unsupported(`${b}: text-conditioned and latent models are not supported yet`)
      throw unsupported(`up block ${b} is not supported yet (Stepwise builds ${UP_BLOCKS.join(', ')})`)
    }
  oneOf('mid_block_type', ['UNetMidBlock2D', null])
  oneOf('time_embedding_type', ['positional', 'fourier', 'learned'])
  if (config.time_embedding_type === 'learned') positiveInt('num_train_timesteps')
  oneOf('resnet_time_scale_shift', ['default', 'scale_shift'])
  oneOf('downsample_type', ['conv', 'resnet'])
  oneOf('upsample_type', ['conv', 'resnet'])
  oneOf('class_embed_type', [null, 'timestep', 'identity'], 'UNet2DModel knows')
  config.act_fn = String(config.act_fn).toLowerCase() as Activation
  oneOf('act_fn', ACTIVATIONS)
  const size = config.sample_size
  if (
    size !== null &&
    !(Number.isInteger(size) && (size as number) > 0) &&
    !(Array.isArray(size) && size.length === 2 && size.every((s) => Number.isInteger(s) && s > 0))
  )
    throw bad('sample_size', 'a positive integer, [height, width] or null')
  return { config, given, assumed, ignored }
}

/** time_embed_dim of UNet2DModel.__init__. */
export const timeEmbedDim = (c: UNet2DConfig) => c.time_embedding_dim ?? c.block_out_channels[0] * 4
