/**
 * Classifier-free guidance (Ho & Salimans 2022) of one model call's conditional and unconditional outputs,
 * its projected form (APG: Sadat et al. 2024, "Eliminating Oversaturation and Artifacts of High Guidance
 * Scales in Diffusion Models"), and diffusers' guidance_rescale (its rescale_noise_cfg; Lin et al. 2023,
 * "Common Diffusion Noise Schedules and Sample Steps are Flawed", section 3.4). All image by image.
 *
 * - CFG: uncond + scale (cond - uncond).
 * - APG: the update cond - uncond, its norm clipped to `normThreshold` (0: not), split into the part along
 *   the conditional output and the part orthogonal to it; the parallel part, which mostly saturates, is kept
 *   at `eta`: cond + (scale - 1) (orthogonal + eta parallel). This is the paper's form, lucidrains'
 *   classifier_free_guidance.py (its remove_parallel_component with keep_parallel_frac = eta) and diffusers'
 *   AdaptiveProjectedGuidance with use_original_formulation (its guidance_scale = scale - 1). At eta 1
 *   without a threshold it is CFG. With momentum the update is replaced by a running sum before all that:
 *   update + momentum * the sum so far, one term a guided model call (diffusers' MomentumBuffer, in float32
 *   as its tensor is); the run holds the sum (`momentumSum`) and a fork carries it.
 * - guidance_rescale: the guided output scaled to the standard deviation of the conditional one, mixed in by
 *   `rescale` (0: none).
 */

import type { Apg } from '../../src-shared/parameters'

/**
 * The guided output of `scale`, projected by `apg` where given, rescaled by `rescale` in [0, 1]; `per` values an
 * image. With APG momentum, `momentumSum` (the batch's running sum of updates, zeros at the first call) is
 * updated in place.
 */
export function guide(
  cond: Float32Array,
  uncond: Float32Array,
  scale: number,
  rescale: number,
  per: number,
  apg?: Apg,
  momentumSum?: Float32Array,
): Float32Array {
  const out = new Float32Array(cond.length)
  let update: Float32Array | undefined
  if (apg?.momentum) {
    if (momentumSum?.length !== cond.length) throw new Error('guide: APG momentum needs the running sum of updates')
    const f = Math.fround
    for (let j = 0; j < cond.length; j++) momentumSum[j] = f(f(cond[j] - uncond[j]) + f(apg.momentum * momentumSum[j]))
    update = momentumSum
  }
  if (apg) for (let at = 0; at < out.length; at += per) project(cond, uncond, update, scale, apg, at, per, out)
  else for (let j = 0; j < cond.length; j++) out[j] = uncond[j] + scale * (cond[j] - uncond[j])
  if (rescale === 0) return out
  for (let at = 0; at < out.length; at += per) {
    const image = out.subarray(at, at + per)
    // The ratio of two standard deviations over as many values: torch's Bessel correction cancels in it.
    const ratio = std(cond.subarray(at, at + per)) / std(image)
    const factor = rescale * ratio + (1 - rescale)
    for (let j = 0; j < per; j++) image[j] *= factor
  }
  return out
}

/**
 * APG of the image at `at` into `out` (in float64 until the end, as diffusers and lucidrains project); the
 * update is cond - uncond, or `update` where given (the momentum's running sum).
 */
function project(
  cond: Float32Array,
  uncond: Float32Array,
  update: Float32Array | undefined,
  scale: number,
  { eta, normThreshold }: Apg,
  at: number,
  per: number,
  out: Float32Array,
) {
  const diff = new Float64Array(per)
  let diffNorm = 0
  let condNorm = 0
  for (let j = 0; j < per; j++) {
    diff[j] = update ? update[at + j] : cond[at + j] - uncond[at + j]
    diffNorm += diff[j] ** 2
    condNorm += cond[at + j] ** 2
  }
  diffNorm = Math.sqrt(diffNorm)
  const clip = normThreshold > 0 && diffNorm > normThreshold ? normThreshold / diffNorm : 1
  // F.normalize's unit vector (its norm kept from 0 by 1e-12).
  const unitScale = 1 / Math.max(Math.sqrt(condNorm), 1e-12)
  let along = 0
  for (let j = 0; j < per; j++) along += clip * diff[j] * cond[at + j] * unitScale
  for (let j = 0; j < per; j++) {
    const parallel = along * cond[at + j] * unitScale
    const orthogonal = clip * diff[j] - parallel
    out[at + j] = cond[at + j] + (scale - 1) * (orthogonal + eta * parallel)
  }
}

function std(x: Float32Array): number {
  let mean = 0
  for (const v of x) mean += v
  mean /= x.length
  let sum = 0
  for (const v of x) sum += (v - mean) ** 2
  return Math.sqrt(sum / x.length)
}
