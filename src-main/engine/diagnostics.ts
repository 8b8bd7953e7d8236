/**
 * Per-step diagnostics of a run, per image: what a model's author looks at to see where sampling goes
 * wrong. Pure functions over one step's arrays; the timeline draws them under the scrubber.
 */
import { FAR_OUT_RANGES, type StepStats } from '../../src-shared/diagnostics'
import { imageSize, type Shape } from './tensor'

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
  shape: Shape,
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
