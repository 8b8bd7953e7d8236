/**
 * diffusers' UNet2DModel as an ONNX graph, built from its config and state dict. One function per module
 * of diffusers, named the same and in the same order, so this reads beside the Python:
 *   UNet2DModel              src/diffusers/models/unets/unet_2d.py
 *   DownBlock2D, AttnDownBlock2D, UNetMidBlock2D, UpBlock2D, AttnUpBlock2D
 *                            src/diffusers/models/unets/unet_2d_blocks.py
 *   ResnetBlock2D            src/diffusers/models/resnet.py
 *   Downsample2D, Upsample2D src/diffusers/models/downsampling.py, upsampling.py
 *   Timesteps, GaussianFourierProjection, TimestepEmbedding
 *                            src/diffusers/models/embeddings.py (in unet2d-time.ts)
 *   Attention (the deprecated attention block, AttnProcessor)
 *                            src/diffusers/models/attention_processor.py
 * Weights keep their state-dict names, so a node's module path is the prefix of the weights it uses.
 */
import { EngineError } from '../../errors'
import type { Weights } from '../weights/tensor'
import { GraphBuilder } from './builder'
import {
  activation,
  avgPool2x,
  conv2d,
  groupNorm,
  linear,
  linearOverPositions,
  toPixels,
  upsampleNearest2x,
} from './nn'
import type { OnnxGraph, OnnxValue } from './onnx-graph'
import { timeEmbedDim, type UNet2DConfig } from './unet2d-config'
import { timeProj, TimestepEmbedding } from './unet2d-time'

/** The graph's inputs and output, by name. */
export const UNET2D_IO = { sample: 'sample', timestep: 'timestep', classLabels: 'class_labels', output: 'out_sample' }

interface Ctx {
  g: GraphBuilder
  c: UNet2DConfig
  tembDim: number
  /** The time (and class) embedding, and its activation: every ResnetBlock2D starts from the same one. */
  temb: string
  tembAct?: string
}

interface ResnetOptions {
  inC: number
  outC: number
  outputScaleFactor?: number
  up?: boolean
  down?: boolean
}

/** ResnetBlock2D (resnet.py) with UNet2DModel's settings: pre-norm, groups = norm_num_groups, temb always. */
function ResnetBlock2D(ctx: Ctx, x: string, prefix: string, o: ResnetOptions): string {
  const { g, c } = ctx
  const act = (v: string) => activation(g, v, prefix, c.act_fn)
  let input = x
  let h = act(groupNorm(g, x, `${prefix}.norm1`, c.norm_num_groups, o.inC, c.norm_eps))
  if (o.up) {
    input = upsampleNearest2x(g, input, `${prefix}.upsample`)
    h = upsampleNearest2x(g, h, `${prefix}.upsample`)
  } else if (o.down) {
    input = avgPool2x(g, input, `${prefix}.downsample`)
    h = avgPool2x(g, h, `${prefix}.downsample`)
  }
  h = conv2d(g, h, `${prefix}.conv1`, o.inC, o.outC)
  ctx.tembAct ??= activation(g, ctx.temb, 'temb', c.act_fn)
  const scaleShift = c.resnet_time_scale_shift === 'scale_shift'
  const proj = `${prefix}.time_emb_proj`
  const temb = toPixels(g, linear(g, ctx.tembAct, proj, ctx.tembDim, scaleShift ? 2 * o.outC : o.outC), proj)
  if (scaleShift) {
    const [scale, shift] = g.opN(proj, 'Split', [temb, g.ints([o.outC, o.outC])], 2, { axis: 1 })
    h = groupNorm(g, h, `${prefix}.norm2`, c.norm_num_groups, o.outC, c.norm_eps)
    const onePlus = g.op(prefix, 'Add', [scale, g.floats([1], [])])
    h = g.op(prefix, 'Add', [g.op(prefix, 'Mul', [h, onePlus]), shift])
  } else {
    h = groupNorm(g, g.op(prefix, 'Add', [h, temb]), `${prefix}.norm2`, c.norm_num_groups, o.outC, c.norm_eps)
  }
  h = conv2d(g, act(h), `${prefix}.conv2`, o.outC, o.outC)
  if (o.inC !== o.outC) input = conv2d(g, input, `${prefix}.conv_shortcut`, o.inC, o.outC, { kernel: 1 })
  const out = g.op(prefix, 'Add', [input, h])
  const factor = o.outputScaleFactor ?? 1
  return factor === 1 ? out : g.op(prefix, 'Div', [out, g.floats([factor], [])])
}

/**
 * Attention as the UNet2D blocks build it (_from_deprecated_attn_block, residual_connection, bias): self-
 * attention over the H*W positions. Tokens are kept channels-first ([B, C, H*W]), so the projections are
 * kernel-1 convolutions over the stored weights and only the small [d, H*W] head blocks are transposed.
 */
function Attention(
  ctx: Ctx,
  x: string,
  prefix: string,
  o: { channels: number; headDim: number; groups: number | null; rescale: number },
): string {
  const { g, c } = ctx
  const heads = Math.floor(o.channels / o.headDim)
  if (heads < 1)
    throw new EngineError(
      'unsupported-model',
      `${g.describe.config}: attention_head_dim ${o.headDim} is larger than the ${o.channels} channels of ${prefix}`,
    )
  const inner = heads * o.headDim
  const normed = o.groups === null ? x : groupNorm(g, x, `${prefix}.group_norm`, o.groups, o.channels, c.norm_eps)
  const tokens = g.op(prefix, 'Reshape', [normed, g.ints([0, o.channels, -1])])
  const perHead = (name: string) =>
    g.op(prefix, 'Reshape', [
      linearOverPositions(g, tokens, `${prefix}.${name}`, o.channels, inner),
      g.ints([0, heads, o.headDim, -1]),
    ])
  const swapLast = (v: string) => g.op(prefix, 'Transpose', [v], { perm: [0, 1, 3, 2] })
  // scores = softmax(q k^T * dim_head^-0.5), over the keys
  const query = g.op(prefix, 'Mul', [swapLast(perHead('to_q')), g.floats([o.headDim ** -0.5], [])])
  const scores = g.op(prefix, 'MatMul', [query, perHead('to_k')])
  const probs = g.op(prefix, 'Softmax', [scores], { axis: -1 })
  const attended = swapLast(g.op(prefix, 'MatMul', [probs, swapLast(perHead('to_v'))]))
  const merged = g.op(prefix, 'Reshape', [attended, g.ints([0, inner, -1])])
  const projected = linearOverPositions(g, merged, `${prefix}.to_out.0`, inner, o.channels)
  const out = g.op(prefix, 'Add', [g.op(prefix, 'Reshape', [projected, g.op(prefix, 'Shape', [x])]), x])
  return o.rescale === 1 ? out : g.op(prefix, 'Div', [out, g.floats([o.rescale], [])])
}

/** Downsample2D(use_conv=True, name="op"): a stride-2 conv; padding 0 pads right and bottom by one first. */
function Downsample2D(ctx: Ctx, x: string, prefix: string, channels: number): string {
  const p = ctx.c.downsample_padding
  const pads = p === 0 ? [0, 0, 1, 1] : [p, p, p, p]
  return conv2d(ctx.g, x, `${prefix}.conv`, channels, channels, { stride: 2, pads })
}

/** Upsample2D(use_conv=True): nearest x2, then a 3x3 conv. */
function Upsample2D(ctx: Ctx, x: string, prefix: string, channels: number): string {
  return conv2d(ctx.g, upsampleNearest2x(ctx.g, x, prefix), `${prefix}.conv`, channels, channels)
}

const headDimOf = (c: UNet2DConfig, channels: number) => c.attention_head_dim ?? channels

/** The Attention of AttnDownBlock2D and AttnUpBlock2D: norm_num_groups groups, no rescaling. */
const blockAttention = (ctx: Ctx, x: string, prefix: string, channels: number) =>
  Attention(ctx, x, prefix, {
    channels,
    headDim: headDimOf(ctx.c, channels),
    groups: ctx.c.norm_num_groups,
    rescale: 1,
  })

interface DownArgs {
  index: number
  inC: number
  outC: number
  addDownsample: boolean
  attention: boolean
}

/** DownBlock2D and AttnDownBlock2D: resnets (each followed by attention), then the downsampler. */
function DownBlock2D(ctx: Ctx, x: string, a: DownArgs): { x: string; states: string[] } {
  const { c } = ctx
  const prefix = `down_blocks.${a.index}`
  const states: string[] = []
  for (let j = 0; j < c.layers_per_block; j++) {
    x = ResnetBlock2D(ctx, x, `${prefix}.resnets.${j}`, { inC: j === 0 ? a.inC : a.outC, outC: a.outC })
    if (a.attention) x = blockAttention(ctx, x, `${prefix}.attentions.${j}`, a.outC)
    states.push(x)
  }
  if (a.addDownsample) {
    const down = `${prefix}.downsamplers.0`
    // Only AttnDownBlock2D takes downsample_type; DownBlock2D always downsamples with a conv.
    x =
      a.attention && c.downsample_type === 'resnet'
        ? ResnetBlock2D(ctx, x, down, { inC: a.outC, outC: a.outC, down: true })
        : Downsample2D(ctx, x, down, a.outC)
    states.push(x)
  }
  return { x, states }
}
const AttnDownBlock2D = (ctx: Ctx, x: string, a: Omit<DownArgs, 'attention'>) =>
  DownBlock2D(ctx, x, { ...a, attention: true })

/** UNetMidBlock2D: resnet, attention (add_attention), resnet; all scaled by mid_block_scale_factor. */
function UNetMidBlock2D(ctx: Ctx, x: string, channels: number): string {
  const { c } = ctx
  const scale = c.mid_block_scale_factor
  // attn_groups: attn_norm_num_groups, else norm_num_groups with the default time embedding, else no norm.
  const groups = c.attn_norm_num_groups ?? (c.resnet_time_scale_shift === 'default' ? c.norm_num_groups : null)
  x = ResnetBlock2D(ctx, x, 'mid_block.resnets.0', { inC: channels, outC: channels, outputScaleFactor: scale })
  if (c.add_attention)
    x = Attention(ctx, x, 'mid_block.attentions.0', {
      channels,
      headDim: headDimOf(c, channels),
      groups,
      rescale: scale,
    })
  return ResnetBlock2D(ctx, x, 'mid_block.resnets.1', { inC: channels, outC: channels, outputScaleFactor: scale })
}

interface UpArgs {
  index: number
  inC: number
  prevC: number
  outC: number
  addUpsample: boolean
  attention: boolean
}

/** UpBlock2D and AttnUpBlock2D: each resnet takes the next skip state, concatenated on channels. */
function UpBlock2D(ctx: Ctx, x: string, skips: string[], a: UpArgs): string {
  const { g, c } = ctx
  const prefix = `up_blocks.${a.index}`
  const layers = c.layers_per_block + 1
  for (let j = 0; j < layers; j++) {
    const skipC = j === layers - 1 ? a.inC : a.outC
    const resnetInC = j === 0 ? a.prevC : a.outC
    x = g.op(prefix, 'Concat', [x, skips.pop()!], { axis: 1 })
    x = ResnetBlock2D(ctx, x, `${prefix}.resnets.${j}`, { inC: resnetInC + skipC, outC: a.outC })
    if (a.attention) x = blockAttention(ctx, x, `${prefix}.attentions.${j}`, a.outC)
  }
  if (!a.addUpsample) return x
  const up = `${prefix}.upsamplers.0`
  // Only AttnUpBlock2D takes upsample_type; UpBlock2D always upsamples with a conv.
  return a.attention && c.upsample_type === 'resnet'
    ? ResnetBlock2D(ctx, x, up, { inC: a.outC, outC: a.outC, up: true })
    : Upsample2D(ctx, x, up, a.outC)
}
const AttnUpBlock2D = (ctx: Ctx, x: string, skips: string[], a: Omit<UpArgs, 'attention'>) =>
  UpBlock2D(ctx, x, skips, { ...a, attention: true })

export interface UNet2DGraph {
  graph: OnnxGraph
  /** Parameters of the state dict (what diffusers' num_parameters counts). */
  parameters: number
  /** Weights of the file the config left unused (diffusers warns about them and loads the rest). */
  unused: string[]
}

/**
 * diffusers' renamed attention weights (ModelMixin._fix_state_dict_keys_on_load): checkpoints from
 * before diffusers 0.14 call to_q / to_k / to_v / to_out.0 query / key / value / proj_attn.
 */
export function fixDeprecatedAttentionKeys(weights: Weights): Weights {
  const renames: Record<string, string> = { query: 'to_q', key: 'to_k', value: 'to_v', proj_attn: 'to_out.0' }
  const out: Weights = new Map()
  for (const [name, t] of weights) {
    const m = /^(.*attentions\.\d+)\.(query|key|value|proj_attn)\.(weight|bias)$/.exec(name)
    out.set(m ? `${m[1]}.${renames[m[2]]}.${m[3]}` : name, t)
  }
  return out
}

/**
 * The state dict a config implies, as save_pretrained writes it: every weight's name and shape (the
 * bench makes random weights of google/ddpm-cifar10-32's size from it).
 */
export function stateDictShapes(c: UNet2DConfig): Map<string, number[]> {
  const g = new GraphBuilder(undefined, { weights: 'state dict', config: 'config' })
  build(g, c)
  return g.shapes
}

/** UNet2DModel.forward as a graph: sample [B, C, H, W] float32, timestep [B] float32 (diffusers casts to float). */
export function UNet2DModel(
  c: UNet2DConfig,
  stateDict: Weights,
  describe: { weights: string; config: string },
): UNet2DGraph {
  const g = new GraphBuilder(fixDeprecatedAttentionKeys(stateDict), describe)
  const { inputs, output } = build(g, c)
  let parameters = 0
  for (const w of stateDict.values()) parameters += w.shape.reduce((a, b) => a * b, 1)
  return {
    graph: { inputs, outputs: [output], nodes: g.nodes, initializers: g.initializers },
    parameters,
    unused: g.unused(),
  }
}

function build(g: GraphBuilder, c: UNet2DConfig): { inputs: OnnxValue[]; output: OnnxValue } {
  const blocks = c.block_out_channels
  const tembDim = timeEmbedDim(c)
  const inputs: OnnxValue[] = [
    { name: UNET2D_IO.sample, dtype: 'float32', shape: ['batch', c.in_channels, 'height', 'width'] },
    { name: UNET2D_IO.timestep, dtype: 'float32', shape: ['batch'] },
  ]

  // 0. center input
  let sample = UNET2D_IO.sample
  if (c.center_input_sample)
    sample = g.op('center_input_sample', 'Sub', [
      g.op('center_input_sample', 'Mul', [sample, g.floats([2], [])]),
      g.floats([1], []),
    ])

  // 1. time (and class) embedding
  const t = UNET2D_IO.timestep
  const time = timeProj(g, c, t)
  let emb = TimestepEmbedding(g, time.features, 'time_embedding', time.dim, tembDim)
  const labels = UNET2D_IO.classLabels
  let classEmb: string | undefined
  if (c.class_embed_type === null && c.num_class_embeds !== null) {
    inputs.push({ name: labels, dtype: 'int64', shape: ['batch'] })
    const table = g.param('class_embedding.weight', [c.num_class_embeds, tembDim])
    classEmb = g.op('class_embedding', 'Gather', [table, labels], { axis: 0 })
  } else if (c.class_embed_type === 'timestep') {
    inputs.push({ name: labels, dtype: 'int64', shape: ['batch'] })
    const asTime = timeProj(g, c, g.op('class_embedding', 'Cast', [labels], { to: 1 }))
    classEmb = TimestepEmbedding(g, asTime.features, 'class_embedding', asTime.dim, tembDim)
  } else if (c.class_embed_type === 'identity') {
    // nn.Identity: the caller hands the [B, time_embed_dim] vector that is added to the time embedding.
    inputs.push({ name: labels, dtype: 'float32', shape: ['batch', tembDim] })
    classEmb = labels
  }
  if (classEmb) emb = g.op('class_embedding', 'Add', [emb, classEmb])
  const ctx: Ctx = { g, c, tembDim, temb: emb }

  // 2. pre-process
  let x = conv2d(g, sample, 'conv_in', c.in_channels, blocks[0])

  // 3. down
  const skips = [x]
  let outC = blocks[0]
  c.down_block_types.forEach((type, index) => {
    const inC = outC
    outC = blocks[index]
    const args = { index, inC, outC, addDownsample: index < blocks.length - 1 }
    const block =
      type === 'AttnDownBlock2D' ? AttnDownBlock2D(ctx, x, args) : DownBlock2D(ctx, x, { ...args, attention: false })
    x = block.x
    skips.push(...block.states)
  })

  // 4. mid
  if (c.mid_block_type !== null) x = UNetMidBlock2D(ctx, x, blocks[blocks.length - 1])

  // 5. up
  const reversed = [...blocks].reverse()
  outC = reversed[0]
  c.up_block_types.forEach((type, index) => {
    const prevC = outC
    outC = reversed[index]
    const inC = reversed[Math.min(index + 1, blocks.length - 1)]
    const args = { index, inC, prevC, outC, addUpsample: index < blocks.length - 1 }
    x =
      type === 'AttnUpBlock2D'
        ? AttnUpBlock2D(ctx, x, skips, args)
        : UpBlock2D(ctx, x, skips, { ...args, attention: false })
  })

  // 6. post-process: conv_act is nn.SiLU() whatever act_fn says
  x = groupNorm(g, x, 'conv_norm_out', c.norm_num_groups, blocks[0], c.norm_eps)
  x = conv2d(g, activation(g, x, 'conv_act', 'silu'), 'conv_out', blocks[0], c.out_channels)
  if (c.time_embedding_type === 'fourier') {
    // sample / timesteps.reshape((B, 1, 1, 1))
    x = g.op('fourier', 'Div', [x, g.op('fourier', 'Reshape', [t, g.ints([-1, 1, 1, 1])])])
  }
  g.output(x, UNET2D_IO.output)
  return {
    inputs,
    output: { name: UNET2D_IO.output, dtype: 'float32', shape: ['batch', c.out_channels, 'height', 'width'] },
  }
}
