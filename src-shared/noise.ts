/**
 * A step's predicted noise from x_t and its predicted x0: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps, solved for
 * eps (also DDIM's noise from a clipped x0, use_clipped_model_output). The samplers hand on the
 * model's own x0 and noise at x_t, so this is the model's noise up to float rounding. A step travels to the
 * page and is kept in the history as x_t and x0 only, a third less than with its noise: the page derives
 * the noise it shows, live or reopened, with this.
 */
/**
 * The range the predicted noise is shown over (the app's view, the steps sheet). It is standard normal:
 * [-3, 3] holds 99.7% of it. A fixed range (not each frame's min/max) keeps frames comparable across steps,
 * so a noise estimate that shrinks or blows up is visible.
 */
export const NOISE_RANGE: [number, number] = [-3, 3]

export function noiseFromX0(sample: Float32Array, predictedX0: Float32Array, alphaBar: number): Float32Array {
  const a = Math.sqrt(alphaBar)
  const b = Math.sqrt(1 - alphaBar)
  const noise = new Float32Array(sample.length)
  for (let i = 0; i < sample.length; i++) noise[i] = (sample[i] - a * predictedX0[i]) / b
  return noise
}
