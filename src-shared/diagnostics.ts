/**
 * Per-step diagnostics as data (the engine computes them on every frame), and the one warning rule that
 * the engine and the timeline apply to them, so every view flags the same steps.
 */

/** Predicted-x0 values beyond this many clip ranges count as far out of range (a trained model's x0
 *  sits a little past +-1 routinely: backgrounds at -1.05). */
export const FAR_OUT_RANGES = 1.5
/** Over this fraction of predicted-x0 values far out of range, a step is flagged. */
export const OUT_OF_RANGE_FRACTION = 0.25
/**
 * The range check judges only steps with alpha-bar_t at least this. x0 is estimated as
 * (x_t - sqrt(1 - alpha-bar) eps) / sqrt(alpha-bar) (DDPM paper, eq. 15), so an error in the predicted
 * noise reaches x0 multiplied by sqrt((1 - alpha-bar) / alpha-bar) = 1 / sqrt(SNR): 7 at 0.02, 130 at
 * t = 980 of the linear schedule. Below it a healthy model's x0 estimate is wild by construction (85 of 100
 * seeds of the default model, DDIM 50, had over 25% of it beyond +-1.5 at the first step). Measured on the
 * default model from alpha-bar 0.02 on: healthy runs (DDIM and DDPM, 20 to 50 steps, unconditional or
 * guided at 3) at most 18%; guidance 15 at least 32% on every seed, at 10, 20 or 50 steps.
 */
export const JUDGED_ALPHA_BAR = 0.02

export interface StepStats {
  /** Fraction of predicted-x0 values outside [-range, range] (what clipping would cut, or cuts). */
  clippedFraction: number
  /** Fraction of predicted-x0 values beyond FAR_OUT_RANGES x range: what the out-of-range warning watches. */
  farOutFraction: number
  /** Root mean square of the predicted noise: about 1 while the model sees noise it was trained on. */
  noiseRms: number
  sampleMean: number
  sampleStd: number
  x0Mean: number
  x0Std: number
  /** Values that are NaN or infinite in x_t, predicted x0 or predicted noise. */
  nonFinite: number
}

export interface StatsWarning {
  kind: 'non-finite' | 'out-of-range'
  /** The first step where it happened. */
  step: number
  message: string
}

/** One step of one image as the rule sees it: its diagnostics and the alpha-bar_t of its timestep. */
export interface JudgedStep {
  alphaBar: number
  stats: StepStats
}

/**
 * Warnings over an image's steps so far: NaN/infinity anywhere, or a predicted x0 far outside the data
 * range (over OUT_OF_RANGE_FRACTION of it beyond FAR_OUT_RANGES x the clip range) at a step where the
 * estimate means something (alpha-bar_t >= JUDGED_ALPHA_BAR); each with the index of the step where it
 * started (messages count steps from 1, as the timeline shows them).
 */
export function statsWarnings(steps: JudgedStep[]): StatsWarning[] {
  const warnings: StatsWarning[] = []
  const nan = steps.findIndex((s) => s.stats.nonFinite > 0)
  if (nan >= 0) warnings.push({ kind: 'non-finite', step: nan, message: `NaN or infinite values from step ${nan + 1}` })
  const wide = steps.findIndex((s) => s.alphaBar >= JUDGED_ALPHA_BAR && s.stats.farOutFraction > OUT_OF_RANGE_FRACTION)
  if (wide >= 0) {
    const pct = Math.round(OUT_OF_RANGE_FRACTION * 100)
    warnings.push({
      kind: 'out-of-range',
      step: wide,
      message: `predicted x0 out of range (over ${pct}% of values beyond ±${FAR_OUT_RANGES}) from step ${wide + 1}`,
    })
  }
  return warnings
}
