/**
 * lucidrains' Unet (denoising_diffusion_pytorch/denoising_diffusion_pytorch.py) constructor arguments, read
 * back from its state dict: a checkpoint holds no config, so every argument that shapes a weight is inferred
 * from the weights' names and shapes (each fact says from which), and the few that shape none (the
 * sinusoidal embedding's theta) are assumed at the Unet's defaults. An argument the shapes contradict, or a
 * module the Unet does not have, is a one-line error naming it.
 */
import { type SourceFact, sourceFact } from '../../../../src-shared/model'
import { EngineError } from '../../errors'
import type { Weights } from '../weights/tensor'

/**
 * One stage's attention: full (Attention) or linear (LinearAttention), heads, head width, memory key/values
 * (0: none), and whether a PreNorm wraps it (classifier_free_guidance.py's Unet: Residual(PreNorm(dim,
 * attention)), its RMSNorm at `.fn.norm` and the attention at `.fn.fn`) or it normalizes itself (`.norm`).
 */
export interface StageAttention {
  full: boolean
  heads: number
  dimHead: number
  memKv: number
  preNorm: boolean
}

/** classifier_free_guidance.py's heads: LinearAttention's fixed 4, and the Unet's attn_heads default. */
export const CFG_ATTENTION_HEADS = 4

export interface LucidrainsUnetConfig {
  dim: number
  initDim: number
  /** The output channels: `channels`, or twice that with learned_variance. */
  outDim: number
  dimMults: number[]
  channels: number
  selfCondition: boolean
  learnedVariance: boolean
  /** SinusoidalPosEmb(dim, theta), or RandomOrLearnedSinusoidalPosEmb with learned_sinusoidal_dim features. */
  timeEmbedding: { kind: 'sinusoidal'; theta: number } | { kind: 'fourier'; dim: number }
  /** Each stage's attention, from the first (highest resolution) down; the up path mirrors it. */
  attention: StageAttention[]
  mid: StageAttention
  /** How a stage but the last halves the image: Rearrange 2x2 patches then a 1x1 conv, or a 4x4 conv, stride 2. */
  downsample: 'patches' | 'strided'
  /**
   * classifier_free_guidance.py's class conditioning: num_classes embeddings and a null one (for guidance),
   * through classes_mlp into every ResnetBlock beside the time embedding.
   */
  classes?: { count: number }
}

/** The Unet's default sinusoidal_pos_emb_theta: no weight depends on it. */
export const SINUSOIDAL_THETA = 10000

const shapeOf = (weights: Weights, name: string) => weights.get(name)?.shape

const fmt = (shape: number[] | undefined) => `[${shape?.join(', ')}]`

export interface InferredUnet {
  config: LucidrainsUnetConfig
  /** The Unet's constructor arguments, as lucidrains names them, with what each was read from. */
  facts: SourceFact[]
}

/**
 * The Unet behind `weights` (its own names: init_conv.weight, downs.0.0.block1.proj.weight...). `file` names
 * the checkpoint in errors.
 */
export function inferUnetConfig(weights: Weights, file: string): InferredUnet {
  const fail = (what: string) => new EngineError('unsupported-model', `${file}: ${what}`)
  const need = (name: string, rank: number): number[] => {
    const s = shapeOf(weights, name)
    if (!s) throw fail(`no ${name}: not the Unet of denoising_diffusion_pytorch (its weights: ${sample(weights)})`)
    if (s.length !== rank) throw fail(`${name} is ${fmt(s)}; the Unet's is ${rank}-D`)
    return s
  }

  const init = need('init_conv.weight', 4)
  if (init[2] !== 7 || init[3] !== 7) throw fail(`init_conv is ${init[2]}x${init[3]}; the Unet's is 7x7`)
  const [initDim, inputChannels] = init
  const [outDim] = need('final_conv.weight', 4)
  const [timeDim, fourierDim] = need('time_mlp.1.weight', 2)
  if (timeDim % 4 !== 0) throw fail(`time_mlp.1 gives ${timeDim} features; the Unet's time_dim is 4 * dim`)
  const dim = timeDim / 4

  const learned = shapeOf(weights, 'time_mlp.0.weights')
  const timeEmbedding: LucidrainsUnetConfig['timeEmbedding'] = learned
    ? { kind: 'fourier', dim: 2 * learned[0] }
    : { kind: 'sinusoidal', theta: SINUSOIDAL_THETA }
  const expectedFourier = learned ? 2 * learned[0] + 1 : dim
  if (fourierDim !== expectedFourier)
    throw fail(
      `time_mlp.1 takes ${fourierDim} features; its ${learned ? 'Fourier features give' : 'dim gives'} ${expectedFourier}`,
    )

  // The stages: downs.i = [ResnetBlock, ResnetBlock, attention, Downsample (Conv2d at the last)].
  const stages: { dimIn: number; dimOut: number }[] = []
  let strided = false
  for (let i = 0; weights.has(`downs.${i}.0.block1.proj.weight`); i++) {
    const [dimIn] = need(`downs.${i}.0.block1.proj.weight`, 4)
    const down = shapeOf(weights, `downs.${i}.3.1.weight`) // Downsample: Rearrange, then a 1x1 Conv2d
    // The last stage's 3x3 Conv2d; classifier_free_guidance.py's Downsample, a 4x4 one of stride 2.
    const conv = shapeOf(weights, `downs.${i}.3.weight`)
    if (!down && !conv) throw fail(`downs.${i}.3 is neither Downsample nor Conv2d`)
    if (conv?.[2] === 4) strided = true
    stages.push({ dimIn, dimOut: (down ?? conv)![0] })
  }
  if (stages.length === 0)
    throw fail(`no downs.0: not the Unet of denoising_diffusion_pytorch (its weights: ${sample(weights)})`)
  if (stages[0].dimIn !== initDim) throw fail(`downs.0 takes ${stages[0].dimIn} channels; init_conv gives ${initDim}`)
  const dims = [initDim, ...stages.map((s) => s.dimOut)]
  const dimMults = dims.slice(1).map((d) => d / dim)
  if (dimMults.some((m) => !Number.isInteger(m)))
    throw fail(`stage widths ${dims.slice(1).join(', ')} are not multiples of dim ${dim} (time_mlp.1.weight)`)

  const attentionOf = (prefix: string, channels: number): StageAttention => {
    if (!weights.has(`${prefix}.mem_kv`) && weights.has(`${prefix}.fn.fn.to_qkv.weight`)) {
      // Residual(PreNorm(attention)) without memory: the heads are not in any shape, only heads x width.
      const [qkv, qkvIn] = need(`${prefix}.fn.fn.to_qkv.weight`, 4)
      if (qkvIn !== channels || qkv % (3 * CFG_ATTENTION_HEADS) !== 0)
        throw fail(`${prefix}.fn.fn.to_qkv.weight is ${fmt([qkv, qkvIn])}; the Unet's takes ${channels} channels`)
      const full = !weights.has(`${prefix}.fn.fn.to_out.1.g`)
      return { full, heads: CFG_ATTENTION_HEADS, dimHead: qkv / 3 / CFG_ATTENTION_HEADS, memKv: 0, preNorm: true }
    }
    const mem = need(`${prefix}.mem_kv`, 4)
    const full = !weights.has(`${prefix}.to_out.1.g`) // LinearAttention's to_out ends in an RMSNorm
    // Attention keeps its memory as [2, heads, num_mem_kv, dim_head], LinearAttention as [2, heads, dim_head, num_mem_kv].
    const [, heads, a, b] = mem
    const attention = { full, heads, dimHead: full ? b : a, memKv: full ? a : b, preNorm: false }
    const [qkv, qkvIn] = need(`${prefix}.to_qkv.weight`, 4)
    if (qkv !== 3 * attention.heads * attention.dimHead || qkvIn !== channels)
      throw fail(
        `${prefix}.to_qkv.weight is ${fmt([qkv, qkvIn])}; ${fmt(mem)} memory implies [${3 * attention.heads * attention.dimHead}, ${channels}]`,
      )
    return attention
  }
  const attention = stages.map((s, i) => attentionOf(`downs.${i}.2`, s.dimIn))
  const mid = attentionOf('mid_attn', dims[dims.length - 1])
  if (!mid.full) throw fail('mid_attn is a LinearAttention; the Unet has full attention there')

  // GaussianDiffusion needs channels == out_dim; self_condition doubles the input, learned_variance the output.
  let channels = inputChannels
  let selfCondition = false
  let learnedVariance = false
  if (inputChannels === 2 * outDim) {
    channels = outDim
    selfCondition = true
  } else if (outDim === 2 * inputChannels) learnedVariance = true
  else if (outDim === 2 * inputChannels + 2)
    throw fail(
      `final_conv gives ${outDim} channels for ${inputChannels}: WeightedObjectiveGaussianDiffusion's Unet, not supported yet`,
    )
  else if (outDim !== inputChannels)
    throw fail(
      `final_conv gives ${outDim} channels for ${inputChannels} in (an out_dim of your own): not supported yet`,
    )

  // classifier_free_guidance.py: classes_emb [num_classes, dim], a null embedding, classes_mlp to 4 * dim.
  const classesEmb = shapeOf(weights, 'classes_emb.weight')
  if (classesEmb) {
    if (classesEmb[1] !== dim) throw fail(`classes_emb.weight is ${fmt(classesEmb)}; the Unet's embeds to dim ${dim}`)
    need('null_classes_emb', 1)
  }

  const config: LucidrainsUnetConfig = {
    dim,
    initDim,
    outDim,
    dimMults,
    channels,
    selfCondition,
    learnedVariance,
    timeEmbedding,
    attention,
    mid,
    downsample: strided ? 'strided' : 'patches',
    ...(classesEmb && { classes: { count: classesEmb[0] } }),
  }
  const perStage = <K extends keyof StageAttention>(k: K) => {
    const values = attention.map((a) => a[k])
    return values.every((v) => v === values[0]) ? JSON.stringify(values[0]) : `(${values.join(', ')})`
  }
  const inferred = (key: string, value: unknown, why: string) => sourceFact(key, value, 'weights', why)
  const facts: SourceFact[] = [
    inferred('dim', dim, `time_mlp.1.weight ${fmt([timeDim, fourierDim])}: time_dim = 4 * dim`),
    inferred('init_dim', initDim, `init_conv.weight ${fmt(init)}`),
    inferred('dim_mults', `(${dimMults.join(', ')})`, `downs.*: stage widths ${dims.slice(1).join(', ')}`),
    inferred('channels', channels, `init_conv.weight takes ${inputChannels}, final_conv.weight gives ${outDim}`),
    inferred(
      'self_condition',
      selfCondition,
      selfCondition ? 'init_conv takes twice the channels' : 'init_conv takes the channels',
    ),
    inferred(
      'learned_variance',
      learnedVariance,
      learnedVariance ? 'final_conv gives twice the channels' : 'final_conv gives the channels',
    ),
    inferred(
      'full_attn',
      `(${attention.map((a) => (a.full ? 'True' : 'False')).join(', ')})`,
      'downs.*.2: Attention, or LinearAttention (to_out.1.g)',
    ),
    ...(mid.preNorm
      ? [
          sourceFact(
            'attn_heads',
            CFG_ATTENTION_HEADS,
            'assumed',
            "no weight tells heads from their width (no mem_kv): the Unet's default, and LinearAttention's fixed 4",
          ),
          inferred('attn_dim_head', mid.dimHead, `mid_attn.fn.fn.to_qkv: 3 * heads * attn_dim_head rows`),
        ]
      : [
          inferred('attn_heads', perStage('heads'), 'downs.*.2.mem_kv'),
          inferred('attn_dim_head', perStage('dimHead'), 'downs.*.2.mem_kv'),
        ]),
    ...(classesEmb
      ? [inferred('num_classes', classesEmb[0], `classes_emb.weight ${fmt(classesEmb)}: classifier_free_guidance.Unet`)]
      : []),
    timeEmbedding.kind === 'fourier'
      ? inferred(
          'learned_sinusoidal_dim',
          timeEmbedding.dim,
          `time_mlp.0.weights ${fmt(learned)}: learned_sinusoidal_cond or random_fourier_features (the same forward)`,
        )
      : inferred('learned_sinusoidal_cond', false, 'no time_mlp.0.weights: SinusoidalPosEmb'),
  ]
  if (timeEmbedding.kind === 'sinusoidal')
    facts.push({
      key: 'sinusoidal_pos_emb_theta',
      value: String(SINUSOIDAL_THETA),
      from: 'assumed',
      why: 'no weight depends on it',
    })
  return { config, facts }
}

/** A few of the weights' names, for an error that says what the file holds instead. */
function sample(weights: Weights): string {
  const names = [...weights.keys()]
  return names.length ? `${names.slice(0, 4).join(', ')}${names.length > 4 ? ', ...' : ''}` : 'none'
}
