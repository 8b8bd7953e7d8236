/**
 * UNet2DModel's timestep features and embedding as graph nodes, beside diffusers'
 * src/diffusers/models/embeddings.py (Timesteps, GaussianFourierProjection, TimestepEmbedding) and
 * unet_2d.py's time_proj; the class embedding of a class-conditional UNet2DModel reuses them.
 */
import type { GraphBuilder } from './builder'
import { activation, linear } from './nn'
import type { UNet2DConfig } from './unet2d-config'

/**
 * get_timestep_embedding (embeddings.py) for t [B]: [sin | cos](t * freqs), or [cos | sin] with
 * flip_sin_to_cos, zero-padded to an odd dim. The frequencies are computed in float32, op by op, as torch does.
 */
function Timesteps(g: GraphBuilder, t: string, scope: string, dim: number, flip: boolean, shift: number): string {
  const half = Math.floor(dim / 2)
  const f = Math.fround
  const logMax = f(-Math.log(10000))
  const freqs = Array.from({ length: half }, (_, k) => f(Math.exp(f(f(logMax * k) / f(half - shift)))))
  const args = g.op(scope, 'Mul', [g.op(scope, 'Unsqueeze', [t, g.ints([1])]), g.floats(freqs, [1, half])])
  const sin = g.op(scope, 'Sin', [args])
  const cos = g.op(scope, 'Cos', [args])
  const parts = flip ? [cos, sin] : [sin, cos]
  if (dim % 2 === 1)
    parts.push(
      g.op(scope, 'Mul', [g.op(scope, 'Slice', [args, g.ints([0]), g.ints([1]), g.ints([1])]), g.floats([0], [])]),
    )
  return g.op(scope, 'Concat', parts, { axis: 1 })
}

/** GaussianFourierProjection(C, scale=16) as UNet2DModel makes it: log=True, sin first. */
function GaussianFourierProjection(g: GraphBuilder, t: string, scope: string, size: number): string {
  const weight = g.param(`${scope}.weight`, [size], [1, size])
  const x = g.op(scope, 'Unsqueeze', [g.op(scope, 'Log', [t]), g.ints([1])])
  // x[:, None] * weight[None, :] * 2 * np.pi, multiplied in that order in float32
  const proj = g.op(scope, 'Mul', [
    g.op(scope, 'Mul', [g.op(scope, 'Mul', [x, weight]), g.floats([2], [])]),
    g.floats([Math.PI], []),
  ])
  return g.op(scope, 'Concat', [g.op(scope, 'Sin', [proj]), g.op(scope, 'Cos', [proj])], { axis: 1 })
}

/** TimestepEmbedding(in, time_embed_dim): linear_1, SiLU (its own default, not act_fn), linear_2. */
export function TimestepEmbedding(g: GraphBuilder, x: string, prefix: string, inDim: number, dim: number): string {
  const h = activation(g, linear(g, x, `${prefix}.linear_1`, inDim, dim), prefix, 'silu')
  return linear(g, h, `${prefix}.linear_2`, dim, dim)
}

/** UNet2DModel.time_proj: the timestep's features, and how many there are. */
export function timeProj(g: GraphBuilder, c: UNet2DConfig, t: string): { features: string; dim: number } {
  const c0 = c.block_out_channels[0]
  if (c.time_embedding_type === 'fourier')
    return { features: GaussianFourierProjection(g, t, 'time_proj', c0), dim: 2 * c0 }
  if (c.time_embedding_type === 'learned') {
    const table = g.param('time_proj.weight', [c.num_train_timesteps!, c0])
    const index = g.op('time_proj', 'Cast', [t], { to: 7 })
    return { features: g.op('time_proj', 'Gather', [table, index], { axis: 0 }), dim: c0 }
  }
  return { features: Timesteps(g, t, 'time_proj', c0, c.flip_sin_to_cos, c.freq_shift), dim: c0 }
}
