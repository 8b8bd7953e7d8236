/** unet/config.json: diffusers' defaults for every missing key, what was given and assumed, one-line errors for the rest. */
import { describe, expect, it } from 'vitest'

import { parseUNet2DConfig, timeEmbedDim } from '../../../../../src-main/engine/model/graph/unet2d-config'
import { DDPM_CIFAR10_CONFIG } from '../../../../fixtures/diffusers/ddpm-cifar10-config'

describe('an old config means what diffusers makes of it', () => {
  const cifar = DDPM_CIFAR10_CONFIG

  it('the keys it gives win; every other key takes UNet2DModel.__init__ default, listed as assumed', () => {
    const { config, given, assumed, ignored } = parseUNet2DConfig(cifar, 'unet/config.json')
    expect(config.attention_head_dim).toBeNull() // given as null: one head per block, not the default 8
    expect(config.downsample_padding).toBe(0)
    expect(config.resnet_time_scale_shift).toBe('default')
    expect(config.mid_block_type).toBe('UNetMidBlock2D')
    expect(config.add_attention).toBe(true)
    expect(timeEmbedDim(config)).toBe(512)
    expect(given).toContain('attention_head_dim')
    expect(assumed.sort()).toEqual(
      [
        'add_attention',
        'attn_norm_num_groups',
        'class_embed_type',
        'downsample_type',
        'dropout',
        'mid_block_type',
        'num_class_embeds',
        'num_train_timesteps',
        'resnet_time_scale_shift',
        'time_embedding_dim',
        'upsample_type',
      ].sort(),
    )
    expect(ignored).toEqual([])
  })

  it('keys UNet2DModel does not take are ignored and listed; "UNetRes" block names lose the prefix', () => {
    const { ignored, config } = parseUNet2DConfig(
      { ...cifar, resnet_num_groups: 4, down_block_types: ['UNetResDownBlock2D', ...cifar.down_block_types.slice(1)] },
      'c.json',
    )
    expect(ignored).toEqual(['resnet_num_groups'])
    expect(config.down_block_types[0]).toBe('DownBlock2D')
  })
})

describe('what Stepwise does not build is named in one line', () => {
  const base = {
    block_out_channels: [32, 64],
    down_block_types: ['DownBlock2D', 'AttnDownBlock2D'],
    up_block_types: ['AttnUpBlock2D', 'UpBlock2D'],
  }
  const cases: [Record<string, unknown>, string, string][] = [
    [
      { resnet_time_scale_shift: 'spatial' },
      'unsupported-model',
      'c.json: resnet_time_scale_shift "spatial" is not supported yet (Stepwise builds "default", "scale_shift")',
    ],
    [
      { down_block_types: ['SkipDownBlock2D', 'DownBlock2D'] },
      'unsupported-model',
      'c.json: down block SkipDownBlock2D is not supported yet (Stepwise builds DownBlock2D, AttnDownBlock2D)',
    ],
    [
      { up_block_types: ['CrossAttnUpBlock2D', 'UpBlock2D'] },
      'unsupported-model',
      'c.json: CrossAttnUpBlock2D: text-conditioned and latent models are not supported yet',
    ],
    [
      { _class_name: 'UNet2DConditionModel' },
      'unsupported-model',
      'c.json: a UNet2DConditionModel: text-conditioned and latent models are not supported yet',
    ],
    [
      { act_fn: 'tanh' },
      'unsupported-model',
      'c.json: act_fn "tanh" is not supported yet (Stepwise builds "silu", "swish", "mish", "gelu", "relu")',
    ],
    [
      { class_embed_type: 'projection' },
      'unsupported-model',
      'c.json: class_embed_type "projection" is not supported yet (UNet2DModel knows null, "timestep", "identity")',
    ],
    [
      { mid_block_type: 'UNetMidBlock2DCrossAttn' },
      'unsupported-model',
      'c.json: mid_block_type "UNetMidBlock2DCrossAttn" is not supported yet',
    ],
    [
      { time_embedding_type: 'learned' },
      'bad-metadata',
      'c.json: num_train_timesteps is null; expected a positive integer',
    ],
    [
      { block_out_channels: [32, 64, 128] },
      'bad-metadata',
      'c.json: down_block_types is ["DownBlock2D","AttnDownBlock2D"]; expected a list of 3 block names',
    ],
    [{ norm_eps: '1e-5' }, 'bad-metadata', 'c.json: norm_eps is "1e-5"; expected a number'],
  ]
  for (const [change, code, message] of cases) {
    it(Object.keys(change).join(', ') + ` ${JSON.stringify(Object.values(change)[0])}`, () => {
      expect(() => parseUNet2DConfig({ ...base, ...change }, 'c.json')).toThrow(
        expect.objectContaining({ code, message: expect.stringContaining(message) }),
      )
    })
  }
})
