/**
 * Per-step diagnostics of a run, per image: what a model's author looks at to see where sampling goes
 * wrong. Pure functions over one step's arrays; the timeline draws them under the scrubber.
 */
import { imageSize, type Shape4 } from './tensor'

/** Predicted-x0 values beyond this many clip ranges count as far out of range (a trained model's x0
 *  sits a little past +-1 routinely: backgrounds at -1.05). */
export const FAR_OUT_RANGES = 1.5
/** Over this fraction of predicted-x0 values far out of range, a step is flagged. */
export const OUT_OF_RANGE_FRACTION = 0.25

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

function meanStd(x: Float32Array, from: number, to: number): { mean: number; std: number; nonFinite: number } {
  let sum = 0,
    sq = 0,
    n = 0,
    nonFinite = 0
  for (let i = from; i < to; i++) {
    const v = x[i]
    if (!Number.isFinite(v)) {
      nonFinite++
      continue
    }
    sum += v
    sq += v * v
    n++
  }
  const mean = n ? sum / n : NaN
  return { mean, std: n ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : NaN, nonFinite }
}

/** The stats of every image of the batch at one step. */
export function stepStats(
  frame: { sample: Float32Array; predictedX0: Float32Array; predictedNoise: Float32Array },
  shape: Shape4,
  clipRange = 1,
): StepStats[] {
  const per = imageSize(shape)
  return Array.from({ length: shape.batch }, (_, k) => {
    const from = k * per,
      to = from + per
    const xt = meanStd(frame.sample, from, to)
    const x0 = meanStd(frame.predictedX0, from, to)
    let clipped = 0,
      farOut = 0,
      sq = 0,
      noiseNonFinite = 0
    for (let i = from; i < to; i++) {
      const a = Math.abs(frame.predictedX0[i])
      if (a > clipRange) clipped++
      if (a > FAR_OUT_RANGES * clipRange) farOut++
      const e = frame.predictedNoise[i]
      if (Number.isFinite(e)) sq += e * e
      else noiseNonFinite++
    }
    return {
      clippedFraction: clipped / per,
      farOutFraction: farOut / per,
      noiseRms: Math.sqrt(sq / per),
      sampleMean: xt.mean,
      sampleStd: xt.std,
      x0Mean: x0.mean,
      x0Std: x0.std,
      nonFinite: xt.nonFinite + x0.nonFinite + noiseNonFinite,
    }
  })
}

export interface StatsWarning {
  kind: 'non-finite' | 'out-of-range'
  /** The first step where it happened. */
  step: number
  message: string
}

/**
 * Warnings over an image's steps so far: NaN/infinity anywhere, or a predicted x0 far outside the data
 * range (over OUT_OF_RANGE_FRACTION of it beyond FAR_OUT_RANGES x the clip range); each with the index of
 * the step where it started (messages count steps from 1, as the timeline shows them).
 */
export function statsWarnings(steps: StepStats[]): StatsWarning[] {
  const warnings: StatsWarning[] = []
  const nan = steps.findIndex((s) => s.nonFinite > 0)
  if (nan >= 0) warnings.push({ kind: 'non-finite', step: nan, message: `NaN or infinite values from step ${nan + 1}` })
  const wide = steps.findIndex((s) => s.farOutFraction > OUT_OF_RANGE_FRACTION)
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
