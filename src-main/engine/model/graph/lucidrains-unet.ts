/**
 * lucidrains' Unet (denoising_diffusion_pytorch/denoising_diffusion_pytorch.py, 2.3.1) as an ONNX graph, built
 * from the config its weights imply (lucidrains-unet-config.ts) and its state dict. One function per module
 * of that file, named the same and in the same order, so this reads beside the Python: Upsample, Downsample,
 * RMSNorm, SinusoidalPosEmb, RandomOrLearnedSinusoidalPosEmb, Block, ResnetBlock, LinearAttention,
 * Attention (with attend.py's Attend), Unet. Weights keep their state-dict names (relative to the Unet), so a
 * node's module path is the prefix of the weights it uses.
 */
import type { Weights } from '../weights/tensor'
import { GraphBuilder } from './builder'
import { type EdmPreconditioning, edmPrologue } from './edm-precondition'
import type { LucidrainsUnetConfig, StageAttention } from './lucidrains-unet-config'
import { activation, conv2d, linear, toPixels, upsampleNearest2x } from './nn'
import type { OnnxGraph, OnnxValue } from './onnx-graph'
import { tableLookup } from './time-table'

/**
 * The graph's inputs and output: Unet.forward's arguments (classifier_free_guidance.py's Unet takes `classes`,
 * with num_classes for its null embedding).
 */
export const LUCIDRAINS_IO = { x: 'x', time: 'time', selfCondition: 'x_self_cond', classes: 'classes', output: 'out' }

interface Ctx {
  g: GraphBuilder
  c: LucidrainsUnetConfig
  timeDim: number
  /** The time embedding t, and SiLU(t) that every ResnetBlock's mlp starts from (SiLU(t | c) with classes). */
  t: string
  tAct?: string
  /** classifier_free_guidance.py: the class embedding (classes_mlp's output), concatenated after t. */
  classEmb?: string
}

/** The [B, C, H, W] shape of `x` with its channels replaced: for reshapes back from heads to pixels. */
function withChannels(g: GraphBuilder, x: string, scope: string, channels: number): string {
  const shape = g.op(scope, 'Shape', [x])
  const batch = g.op(scope, 'Slice', [shape, g.ints([0]), g.ints([1])])
  const hw = g.op(scope, 'Slice', [shape, g.ints([2]), g.ints([4])])
  return g.op(scope, 'Concat', [batch, g.ints([channels]), hw], { axis: 0 })
}

/** Upsample: nn.Upsample(scale_factor=2, mode='nearest'), then a 3x3 conv (`.1`). */
function Upsample(g: GraphBuilder, x: string, prefix: string, dim: number, dimOut: number): string {
  return conv2d(g, upsampleNearest2x(g, x, prefix), `${prefix}.1`, dim, dimOut)
}

/**
 * Downsample: Rearrange('b c (h p1) (w p2) -> b (c p1 p2) h w', p1=2, p2=2) (each 2x2 patch into channels,
 * channel-major: not ONNX's SpaceToDepth order), then a 1x1 conv (`.1`).
 */
function Downsample(g: GraphBuilder, x: string, prefix: string, dim: number, dimOut: number): string {
  const scope = `${prefix}.0`
  const shape = g.op(scope, 'Shape', [x])
  const half = g.op(scope, 'Div', [g.op(scope, 'Slice', [shape, g.ints([2]), g.ints([4])]), g.ints([2, 2])])
  const [h, w] = [0, 1].map((k) => g.op(scope, 'Slice', [half, g.ints([k]), g.ints([k + 1])]))
  const batchChannels = g.op(scope, 'Slice', [shape, g.ints([0]), g.ints([2])])
  const split = g.op(scope, 'Concat', [batchChannels, h, g.ints([2]), w, g.ints([2])], { axis: 0 })
  const patches = g.op(scope, 'Reshape', [x, split]) // [B, C, H/2, p1, W/2, p2]
  const moved = g.op(scope, 'Transpose', [patches], { perm: [0, 1, 3, 5, 2, 4] }) // [B, C, p1, p2, H/2, W/2]
  const batch = g.op(scope, 'Slice', [shape, g.ints([0]), g.ints([1])])
  const merged = g.op(scope, 'Reshape', [moved, g.op(scope, 'Concat', [batch, g.ints([4 * dim]), half], { axis: 0 })])
  return conv2d(g, merged, `${prefix}.1`, 4 * dim, dimOut, { kernel: 1 })
}

/** RMSNorm: F.normalize(x, dim=1) * g * dim ** 0.5 (normalize: x / max(||x||_2 over channels, 1e-12)). */
function RMSNorm(g: GraphBuilder, x: string, prefix: string, dim: number): string {
  const squares = g.op(prefix, 'ReduceSumSquare', [x], { axes: [1], keepdims: 1 })
  const norm = g.op(prefix, 'Max', [g.op(prefix, 'Sqrt', [squares]), g.floats([1e-12], [])])
  const gain = g.param(`${prefix}.g`, [1, dim, 1, 1])
  const scaled = g.op(prefix, 'Mul', [g.op(prefix, 'Div', [x, norm]), gain])
  return g.op(prefix, 'Mul', [scaled, g.floats([Math.sqrt(dim)], [])])
}

/**
 * SinusoidalPosEmb(dim, theta) of t [B]: [sin | cos](t * exp(k * -log(theta) / (half - 1))). The frequencies
 * are float32 as torch makes them: arange(half) * -emb in float32, then exp.
 */
function SinusoidalPosEmb(g: GraphBuilder, t: string, scope: string, dim: number, theta: number): string {
  const half = Math.floor(dim / 2)
  const f = Math.fround
  const emb = f(-Math.log(theta) / (half - 1))
  const freqs = Array.from({ length: half }, (_, k) => f(Math.exp(f(k * emb))))
  const args = g.op(scope, 'Mul', [g.op(scope, 'Unsqueeze', [t, g.ints([1])]), g.floats(freqs, [1, half])])
  return g.op(scope, 'Concat', [g.op(scope, 'Sin', [args]), g.op(scope, 'Cos', [args])], { axis: 1 })
}

/** RandomOrLearnedSinusoidalPosEmb: freqs = t * weights * 2 * pi (in that order); [t | sin | cos]. */
function RandomOrLearnedSinusoidalPosEmb(g: GraphBuilder, t: string, prefix: string, dim: number): string {
  const weights = g.param(`${prefix}.weights`, [dim / 2], [1, dim / 2])
  const x = g.op(prefix, 'Unsqueeze', [t, g.ints([1])])
  const freqs = g.op(prefix, 'Mul', [
    g.op(prefix, 'Mul', [g.op(prefix, 'Mul', [x, weights]), g.floats([2], [])]),
    g.floats([Math.PI], []),
  ])
  return g.op(prefix, 'Concat', [x, g.op(prefix, 'Sin', [freqs]), g.op(prefix, 'Cos', [freqs])], { axis: 1 })
}

/** Block: a 3x3 conv (proj), RMSNorm, then x * (scale + 1) + shift when given, SiLU (dropout: none at sampling). */
function Block(
  g: GraphBuilder,
  x: string,
  prefix: string,
  dim: number,
  dimOut: number,
  scaleShift?: [string, string],
): string {
  let h = RMSNorm(g, conv2d(g, x, `${prefix}.proj`, dim, dimOut), `${prefix}.norm`, dimOut)
  if (scaleShift) {
    const [scale, shift] = scaleShift
    h = g.op(prefix, 'Add', [g.op(prefix, 'Mul', [h, g.op(prefix, 'Add', [scale, g.floats([1], [])])]), shift])
  }
  return activation(g, h, prefix, 'silu')
}

/** ResnetBlock: mlp (SiLU, Linear to 2 dim_out) gives scale and shift to block1; block2; plus res_conv(x). */
function ResnetBlock(ctx: Ctx, x: string, prefix: string, dim: number, dimOut: number): string {
  const { g } = ctx
  const cond = ctx.classEmb ? g.op('time_mlp', 'Concat', [ctx.t, ctx.classEmb], { axis: 1 }) : ctx.t
  ctx.tAct ??= activation(g, cond, 'time_mlp', 'silu')
  const condDim = ctx.classEmb ? 2 * ctx.timeDim : ctx.timeDim // classes_dim is 4 * dim, as time_dim
  const mlp = toPixels(g, linear(g, ctx.tAct, `${prefix}.mlp.1`, condDim, 2 * dimOut), `${prefix}.mlp`)
  const [scale, shift] = g.opN(`${prefix}.mlp`, 'Split', [mlp, g.ints([dimOut, dimOut])], 2, { axis: 1 })
  const h = Block(g, Block(g, x, `${prefix}.block1`, dim, dimOut, [scale, shift]), `${prefix}.block2`, dimOut, dimOut)
  const res = dim === dimOut ? x : conv2d(g, x, `${prefix}.res_conv`, dim, dimOut, { kernel: 1 })
  return g.op(prefix, 'Add', [h, res])
}

/** Where an attention's own weights are: under PreNorm's `.fn` when a PreNorm wraps it. */
const attentionModule = (prefix: string, a: StageAttention) => (a.preNorm ? `${prefix}.fn.fn` : prefix)

/** The projections both attentions start with: RMSNorm, to_qkv (1x1, no bias), q, k, v as [B, heads, d, H*W]. */
function queriesKeysValues(g: GraphBuilder, x: string, prefix: string, dim: number, a: StageAttention) {
  const hidden = a.heads * a.dimHead
  const normed = RMSNorm(g, x, a.preNorm ? `${prefix}.fn.norm` : `${prefix}.norm`, dim)
  const qkv = conv2d(g, normed, `${attentionModule(prefix, a)}.to_qkv`, dim, 3 * hidden, {
    kernel: 1,
    bias: false,
  })
  const parts = g.opN(prefix, 'Split', [qkv, g.ints([hidden, hidden, hidden])], 3, { axis: 1 })
  return parts.map((p) => g.op(prefix, 'Reshape', [p, g.ints([0, a.heads, a.dimHead, -1])]))
}

/**
 * The keys and values attended over: mem_kv's ([heads, ...] each, repeated over the batch of `x`:
 * repeat('h ... -> b h ...')) before the positions' along `axis`; the positions' alone without memory.
 */
function withMemory(
  g: GraphBuilder,
  x: string,
  prefix: string,
  a: StageAttention,
  [k, v]: [string, string],
  axis: number,
): [string, string] {
  if (a.memKv === 0) return [k, v]
  const shape = a.full ? [a.heads, a.memKv, a.dimHead] : [a.heads, a.dimHead, a.memKv]
  const [mk, mv] = memoryKeysValues(g, x, prefix, shape)
  return [g.op(prefix, 'Concat', [mk, k], { axis }), g.op(prefix, 'Concat', [mv, v], { axis })]
}

/** mem_kv's keys and values ([heads, ...] each) repeated over the batch of `x`: repeat('h ... -> b h ...'). */
function memoryKeysValues(g: GraphBuilder, x: string, prefix: string, shape: number[]): [string, string] {
  const mem = g.param(`${prefix}.mem_kv`, [2, ...shape])
  const batch = g.op(prefix, 'Slice', [g.op(prefix, 'Shape', [x]), g.ints([0]), g.ints([1])])
  const target = g.op(prefix, 'Concat', [batch, g.ints(shape)], { axis: 0 })
  const [k, v] = g.opN(prefix, 'Split', [mem, g.ints([1, 1])], 2, { axis: 0 })
  return [g.op(prefix, 'Expand', [k, target]), g.op(prefix, 'Expand', [v, target])]
}

/**
 * LinearAttention: softmax of q over its d features, of k over the positions (with num_mem_kv memory
 * positions first), q * dim_head^-0.5; context = k v^T per head, out = context^T q; to_out = 1x1 conv, RMSNorm.
 */
function LinearAttention(g: GraphBuilder, x: string, prefix: string, dim: number, a: StageAttention): string {
  const hidden = a.heads * a.dimHead
  const [q, k, v] = queriesKeysValues(g, x, prefix, dim, a)
  const [allKeys, values] = withMemory(g, x, prefix, a, [k, v], -1)
  const keys = g.op(prefix, 'Softmax', [allKeys], { axis: -1 })
  const queries = g.op(prefix, 'Mul', [g.op(prefix, 'Softmax', [q], { axis: -2 }), g.floats([a.dimHead ** -0.5], [])])
  const swapLast = (t: string) => g.op(prefix, 'Transpose', [t], { perm: [0, 1, 3, 2] })
  const context = g.op(prefix, 'MatMul', [keys, swapLast(values)]) // einsum('b h d n, b h e n -> b h d e')
  const out = g.op(prefix, 'MatMul', [swapLast(context), queries]) // einsum('b h d e, b h d n -> b h e n')
  const pixels = g.op(prefix, 'Reshape', [out, withChannels(g, x, prefix, hidden)])
  const m = attentionModule(prefix, a)
  return RMSNorm(g, conv2d(g, pixels, `${m}.to_out.0`, hidden, dim, { kernel: 1 }), `${m}.to_out.1`, dim)
}

/** Attention (Attend without flash: the same values): softmax(q k^T * dim_head^-0.5) v over memory + positions. */
function Attention(g: GraphBuilder, x: string, prefix: string, dim: number, a: StageAttention): string {
  const hidden = a.heads * a.dimHead
  const swapLast = (t: string) => g.op(prefix, 'Transpose', [t], { perm: [0, 1, 3, 2] })
  const [q, k, v] = queriesKeysValues(g, x, prefix, dim, a).map(swapLast) // 'b (h c) x y -> b h (x y) c'
  const [keys, values] = withMemory(g, x, prefix, a, [k, v], 2)
  const sim = g.op(prefix, 'Mul', [g.op(prefix, 'MatMul', [q, swapLast(keys)]), g.floats([a.dimHead ** -0.5], [])])
  const out = g.op(prefix, 'MatMul', [g.op(prefix, 'Softmax', [sim], { axis: -1 }), values])
  const pixels = g.op(prefix, 'Reshape', [swapLast(out), withChannels(g, x, prefix, hidden)]) // 'b h (x y) d -> b (h d) x y'
  return conv2d(g, pixels, `${attentionModule(prefix, a)}.to_out`, hidden, dim, { kernel: 1 })
}

/** The stage's attention as its weights say, added to its input (the Unet's `attn(x) + x`). */
function stageAttention(g: GraphBuilder, x: string, prefix: string, dim: number, a: StageAttention): string {
  const out = a.full ? Attention(g, x, prefix, dim, a) : LinearAttention(g, x, prefix, dim, a)
  return g.op(prefix, 'Add', [out, x])
}

/**
 * classifier_free_guidance.py's class embedding: classes_emb(classes), where class num_classes (one past its
 * table) is null_classes_emb (what cond_drop_prob = 1 gives every image: guidance's unconditional half), then
 * classes_mlp: Linear, GELU (exact), Linear.
 */
function classEmbedding(g: GraphBuilder, dim: number, count: number): string {
  const scope = 'classes_emb'
  const rows = [g.param('classes_emb.weight', [count, dim]), g.param('null_classes_emb', [dim], [1, dim])]
  const table = g.op(scope, 'Concat', rows, { axis: 0 })
  const emb = g.op(scope, 'Gather', [table, LUCIDRAINS_IO.classes], { axis: 0 })
  const hidden = activation(g, linear(g, emb, 'classes_mlp.0', dim, 4 * dim), 'classes_mlp.1', 'gelu')
  return linear(g, hidden, 'classes_mlp.2', 4 * dim, 4 * dim)
}

/** What the graph's time input is when not the Unet's own: EDM's preconditioning, or a table of log SNR. */
export type UnetWrap = { edm: EdmPreconditioning } | { logSnr: ArrayLike<number> }

export interface LucidrainsUnetGraph {
  graph: OnnxGraph
  /** Parameters of the Unet (its weights, the memory key/values included). */
  parameters: number
  /** Weights of the state dict the graph did not use. */
  unused: string[]
}

/**
 * Unet.forward(x, time, x_self_cond) as a graph: x [B, C, H, W] float32, time [B] float32 (GaussianDiffusion
 * gives integer timesteps; the continuous-time models a log-SNR), x_self_cond [B, C, H, W] with
 * self_condition (zeros: none yet). `weights` are the Unet's own (names relative to it). With `wrap`, time is
 * a virtual timestep: of the Unet inside EDM's preconditioning (x is then x_t and the output D;
 * edm-precondition.ts), or of one that takes log SNR, read from a table (time-table.ts).
 */
export function Unet(
  c: LucidrainsUnetConfig,
  weights: Weights,
  describe: { weights: string; config: string },
  wrap?: UnetWrap,
): LucidrainsUnetGraph {
  const g = new GraphBuilder(weights, describe)
  const image = (name: string, channels: number): OnnxValue => ({
    name,
    dtype: 'float32',
    shape: ['batch', channels, 'height', 'width'],
  })
  const inputs: OnnxValue[] = [
    image(LUCIDRAINS_IO.x, c.channels),
    { name: LUCIDRAINS_IO.time, dtype: 'float32', shape: ['batch'] },
    ...(c.selfCondition ? [image(LUCIDRAINS_IO.selfCondition, c.channels)] : []),
    ...(c.classes ? [{ name: LUCIDRAINS_IO.classes, dtype: 'int64', shape: ['batch'] } satisfies OnnxValue] : []),
  ]
  const dims = [c.initDim, ...c.dimMults.map((m) => c.dim * m)]
  const inOut = dims.slice(0, -1).map((d, i) => [d, dims[i + 1]])
  const timeDim = 4 * c.dim

  // ElucidatedDiffusion's Unet sees c_in x and c_noise, a continuous-time model's log SNR: either graph
  // takes x_t and a virtual timestep.
  const pre = wrap && 'edm' in wrap ? edmPrologue(g, wrap.edm, LUCIDRAINS_IO.x, LUCIDRAINS_IO.time) : undefined
  let x = pre?.x ?? LUCIDRAINS_IO.x
  const time =
    pre?.time ?? (wrap && 'logSnr' in wrap ? tableLookup(g, wrap.logSnr, LUCIDRAINS_IO.time) : LUCIDRAINS_IO.time)
  if (c.selfCondition) x = g.op('self_condition', 'Concat', [LUCIDRAINS_IO.selfCondition, x], { axis: 1 })
  const inputChannels = c.channels * (c.selfCondition ? 2 : 1)
  x = conv2d(g, x, 'init_conv', inputChannels, c.initDim, { kernel: 7 })
  const r = x

  // time_mlp: the embedding, Linear, GELU (exact), Linear
  const emb =
    c.timeEmbedding.kind === 'fourier'
      ? RandomOrLearnedSinusoidalPosEmb(g, time, 'time_mlp.0', c.timeEmbedding.dim)
      : SinusoidalPosEmb(g, time, 'time_mlp.0', c.dim, c.timeEmbedding.theta)
  const fourierDim = c.timeEmbedding.kind === 'fourier' ? c.timeEmbedding.dim + 1 : c.dim
  const hidden = activation(g, linear(g, emb, 'time_mlp.1', fourierDim, timeDim), 'time_mlp.2', 'gelu')
  const ctx: Ctx = { g, c, timeDim, t: linear(g, hidden, 'time_mlp.3', timeDim, timeDim) }
  if (c.classes) ctx.classEmb = classEmbedding(g, c.dim, c.classes.count)

  const h: string[] = []
  inOut.forEach(([dimIn, dimOut], i) => {
    const last = i === inOut.length - 1
    x = ResnetBlock(ctx, x, `downs.${i}.0`, dimIn, dimIn)
    h.push(x)
    x = ResnetBlock(ctx, x, `downs.${i}.1`, dimIn, dimIn)
    x = stageAttention(g, x, `downs.${i}.2`, dimIn, c.attention[i])
    h.push(x)
    x = last
      ? conv2d(g, x, `downs.${i}.3`, dimIn, dimOut)
      : c.downsample === 'strided'
        ? conv2d(g, x, `downs.${i}.3`, dimIn, dimOut, { kernel: 4, stride: 2, pads: [1, 1, 1, 1] })
        : Downsample(g, x, `downs.${i}.3`, dimIn, dimOut)
  })

  const midDim = dims[dims.length - 1]
  x = ResnetBlock(ctx, x, 'mid_block1', midDim, midDim)
  x = stageAttention(g, x, 'mid_attn', midDim, c.mid)
  x = ResnetBlock(ctx, x, 'mid_block2', midDim, midDim)

  // The up path mirrors the stages: their widths, full_attn, heads and head widths reversed.
  ;[...inOut].reverse().forEach(([dimIn, dimOut], j) => {
    const last = j === inOut.length - 1
    const stage = c.attention[inOut.length - 1 - j]
    x = g.op(`ups.${j}`, 'Concat', [x, h.pop()!], { axis: 1 })
    x = ResnetBlock(ctx, x, `ups.${j}.0`, dimOut + dimIn, dimOut)
    x = g.op(`ups.${j}`, 'Concat', [x, h.pop()!], { axis: 1 })
    x = ResnetBlock(ctx, x, `ups.${j}.1`, dimOut + dimIn, dimOut)
    x = stageAttention(g, x, `ups.${j}.2`, dimOut, stage)
    x = last ? conv2d(g, x, `ups.${j}.3`, dimOut, dimIn) : Upsample(g, x, `ups.${j}.3`, dimOut, dimIn)
  })

  x = g.op('final_res_block', 'Concat', [x, r], { axis: 1 })
  x = ResnetBlock(ctx, x, 'final_res_block', 2 * c.initDim, c.initDim)
  x = conv2d(g, x, 'final_conv', c.initDim, c.outDim, { kernel: 1 })
  g.output(pre ? pre.finish(x) : x, LUCIDRAINS_IO.output)

  let parameters = 0
  for (const w of weights.values()) parameters += w.shape.reduce((a, b) => a * b, 1)
  return {
    graph: {
      inputs,
      outputs: [{ name: LUCIDRAINS_IO.output, dtype: 'float32', shape: ['batch', c.outDim, 'height', 'width'] }],
      nodes: g.nodes,
      initializers: g.initializers,
    },
    parameters,
    unused: g.unused(),
  }
}
