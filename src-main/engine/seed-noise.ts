/**
 * The seed rule: which generator each image of a batch draws from, and its starting noise x_T.
 *
 * Image k draws from its own generator, seeded with seed + k: first its x_T, then the noise of each
 * stochastic step, so image k of a batch equals a batch of one with seed + k. With a variation seed
 * (A1111's "Variation seed"), every image's generator is seeded with the seed itself, and image k's x_T is
 * moved from the seed's noise toward the noise of variation seed + k by the strength, along the great circle
 * between them (slerp): a Gaussian vector's norm is about sqrt(n) whichever seed drew it, and slerp keeps
 * that where a straight mix would shrink it (at strength 0.5 to 0.71 of it). Image k of such a batch equals
 * a batch of one with variation seed + k. A walk moves image k toward the one variation seed by its share of
 * the strength, k / (B - 1) of it in a batch of B (imageVariation, src-shared/parameters.ts, says which
 * variation each image has; its PNG records that, and a batch of one with it makes the image again).
 */
import { imageVariation, type Variation } from '../../src-shared/parameters'
import { Gaussian } from './rng'

/** Image k's generator: its x_T's draws, then its stochastic steps' noise. */
export const imageGenerator = (seed: number, k: number, variation?: Variation): Gaussian =>
  new Gaussian(variation ? seed : seed + k)

/**
 * Image k's x_T (of a batch of `batch`) into `out`: its generator's first draws, moved toward its own
 * variation's noise where it has one.
 */
export function drawInitialNoise(
  generator: Gaussian,
  out: Float32Array,
  k: number,
  batch: number,
  variation?: Variation,
): void {
  generator.fill(out)
  const own = imageVariation(variation, k, batch)
  if (!own) return
  const other = new Gaussian(own.seed).fill(new Float32Array(out.length))
  out.set(slerp(own.strength, out, other))
}

/**
 * Spherical interpolation from `a` (t = 0) to `b` (t = 1), the angle taken between the whole vectors (A1111
 * takes one along an axis of its tensor); nearly parallel vectors, where the angle's sine vanishes, are mixed
 * linearly (as A1111 does, but the right way round: it swaps the weights there).
 */
export function slerp(t: number, a: Float32Array, b: Float32Array): Float32Array {
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i]
    aa += a[i] * a[i]
    bb += b[i] * b[i]
  }
  const cos = ab / Math.sqrt(aa * bb)
  const out = new Float32Array(a.length)
  if (!(cos <= 0.9995)) {
    for (let i = 0; i < a.length; i++) out[i] = (1 - t) * a[i] + t * b[i]
    return out
  }
  const omega = Math.acos(cos)
  const sin = Math.sin(omega)
  const wa = Math.sin((1 - t) * omega) / sin
  const wb = Math.sin(t * omega) / sin
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i] + wb * b[i]
  return out
}
