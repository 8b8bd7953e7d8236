/**
 * Classifier-free guidance (Ho & Salimans 2022) of one model call's conditional and unconditional outputs,
 * and diffusers' guidance_rescale (its rescale_noise_cfg; Lin et al. 2023, "Common Diffusion Noise Schedules
 * and Sample Steps are Flawed", section 3.4): image by image, the guided output scaled to the standard
 * deviation of the conditional one, and mixed in by `rescale` (0: none), against the over-saturated images a
 * high guidance gives.
 */

/** uncond + scale (cond - uncond), rescaled by `rescale` in [0, 1]; `per` values an image. */
export function guide(
  cond: Float32Array,
  uncond: Float32Array,
  scale: number,
  rescale: number,
  per: number,
): Float32Array {
  const out = new Float32Array(cond.length)
  for (let j = 0; j < cond.length; j++) out[j] = uncond[j] + scale * (cond[j] - uncond[j])
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

function std(x: Float32Array): number {
  let mean = 0
  for (const v of x) mean += v
  mean /= x.length
  let sum = 0
  for (const v of x) sum += (v - mean) ** 2
  return Math.sqrt(sum / x.length)
}
