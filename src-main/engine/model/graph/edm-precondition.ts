/**
 * EDM's preconditioning (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative
 * Models", table 1; lucidrains' ElucidatedDiffusion.preconditioned_network_forward) around a network F,
 * so that a model trained in EDM's terms samples with every Stepwise sampler:
 *
 *   D(x, sigma) = c_skip x + c_out F(c_in x, c_noise),  c_skip = sd^2 / (sigma^2 + sd^2),
 *   c_out = sigma sd / sqrt(sigma^2 + sd^2),  c_in = 1 / sqrt(sigma^2 + sd^2),  c_noise = log(sigma) / 4
 *
 * with x = x0 + sigma n (EDM's scale). Stepwise's samplers are diffusers', variance-preserving ones over
 * discrete timesteps: they give the model x_t = alpha x0 + s n and t. So the model gets a virtual schedule:
 * T timesteps whose log sigma rises uniformly from sigma_min at t = 0 to sigma_max at t = T - 1 (the span
 * EDM samples over), alphas_cumprod 1 / (1 + sigma^2), and the graph takes (x_t, t) to (x_t / alpha, sigma)
 * itself and returns D: a model that predicts x0 ("sample"). The timestep input is float: the sigma-space
 * samplers' fractional timesteps land on their sigmas exactly (log sigma is linear in t, and diffusers
 * interpolates log sigma between timesteps), so Heun with Karras sigmas is EDM's own deterministic sampler.
 */
import type { GraphBuilder } from './builder'

export interface EdmPreconditioning {
  sigmaMin: number
  sigmaMax: number
  /** The data's standard deviation the preconditioning assumes (sigma_data). */
  sigmaData: number
  /** Virtual training timesteps. */
  trainSteps: number
}

/** ElucidatedDiffusion's defaults; a checkpoint does not hold them (they are constructor arguments). */
export const ELUCIDATED_DEFAULTS = { sigmaMin: 0.002, sigmaMax: 80, sigmaData: 0.5 } as const

/** 1000, as diffusers' schedules: DDIM's and the others' step rules behave as on any model. */
export const EDM_TRAIN_STEPS = 1000

/** log sigma at virtual timestep t, uniform in t: log sigma_min at 0 plus `slope` a timestep. */
const logSigmaLine = (e: EdmPreconditioning) => ({
  start: Math.log(e.sigmaMin),
  slope: (Math.log(e.sigmaMax) - Math.log(e.sigmaMin)) / (e.trainSteps - 1),
})

/** The virtual schedule: alphas_cumprod[t] = 1 / (1 + sigma_t^2), so sqrt((1 - ab) / ab) is sigma_t. */
export function edmAlphasCumprod(e: EdmPreconditioning): Float64Array {
  const { start, slope } = logSigmaLine(e)
  return Float64Array.from({ length: e.trainSteps }, (_, t) => 1 / (1 + Math.exp(2 * (start + slope * t))))
}

/**
 * The graph's prologue: from the inputs `sample` (x_t, [B, C, H, W]) and `timestep` ([B], virtual), the
 * network's input c_in x and its time c_noise; `finish` turns the network's output F into D.
 */
export function edmPrologue(
  g: GraphBuilder,
  e: EdmPreconditioning,
  sample: string,
  timestep: string,
): { x: string; time: string; finish: (net: string) => string } {
  const scope = 'edm'
  const { start, slope } = logSigmaLine(e)
  const scalar = (v: number) => g.floats([v], [])
  const logSigma = g.op(scope, 'Add', [g.op(scope, 'Mul', [timestep, scalar(slope)]), scalar(start)])
  const time = g.op(scope, 'Mul', [logSigma, scalar(0.25)])
  // Per image, broadcast over [C, H, W].
  const perImage = (v: string) => g.op(scope, 'Reshape', [v, g.ints([-1, 1, 1, 1])])
  const sigma = perImage(g.op(scope, 'Exp', [logSigma]))
  const sigma2 = g.op(scope, 'Mul', [sigma, sigma])
  // x = x_t / alpha = x_t sqrt(1 + sigma^2); sigma^2 + sd^2 and its root.
  const toEdm = g.op(scope, 'Sqrt', [g.op(scope, 'Add', [sigma2, scalar(1)])])
  const total = g.op(scope, 'Add', [sigma2, scalar(e.sigmaData ** 2)])
  const root = g.op(scope, 'Sqrt', [total])
  const x = g.op(scope, 'Div', [g.op(scope, 'Mul', [sample, toEdm]), root])
  const finish = (net: string) => {
    const cSkip = g.op(scope, 'Div', [scalar(e.sigmaData ** 2), total])
    const cOut = g.op(scope, 'Div', [g.op(scope, 'Mul', [sigma, scalar(e.sigmaData)]), root])
    const skip = g.op(scope, 'Mul', [sample, g.op(scope, 'Mul', [toEdm, cSkip])])
    return g.op(scope, 'Add', [skip, g.op(scope, 'Mul', [net, cOut])])
  }
  return { x, time, finish }
}
