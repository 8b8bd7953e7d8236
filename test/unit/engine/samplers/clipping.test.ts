/** Clipping and dynamic thresholding of predicted x0, as diffusers' `_threshold_sample` does it. */
import { describe, expect, it } from 'vitest'

import { clipPredictedX0, quantile } from '../../../../src-main/engine/samplers/common'
import { DEFAULT_SAMPLER } from '../../../../src-shared/parameters'

describe('predicted x0 clipping', () => {
  it('clip_sample clamps to clip_sample_range', () => {
    const x = new Float32Array([-3, -0.5, 0.2, 2.5])
    expect(Array.from(clipPredictedX0(x, { ...DEFAULT_SAMPLER, clipSampleRange: 2 }, 4))).toEqual([
      -2,
      -0.5,
      Math.fround(0.2),
      2,
    ])
    expect(clipPredictedX0(x, { ...DEFAULT_SAMPLER, clipSample: false }, 4)).toBe(x)
  })
  it('quantile interpolates linearly between ranks like torch.quantile', () => {
    expect(quantile(Float64Array.from([1, 2, 3, 4]), 0.5)).toBe(2.5)
    expect(quantile(Float64Array.from([10, 0, 5]), 0.75)).toBe(7.5)
  })
  it('dynamic thresholding divides each image by its own clamped quantile s', () => {
    // Image 1: |x| = 0..3 (101 values); the 0.9 quantile is 2.7, clamped to sample_max_value 2 -> s = 2.
    // Image 2: all |x| <= 0.5; s is clamped up to 1, so the image is unchanged.
    const img1 = Array.from({ length: 101 }, (_, i) => ((i % 2 ? -1 : 1) * (3 * i)) / 100)
    const img2 = Array.from({ length: 101 }, (_, i) => (i - 50) / 100)
    const out = clipPredictedX0(
      Float32Array.from([...img1, ...img2]),
      { ...DEFAULT_SAMPLER, thresholding: true, dynamicThresholdingRatio: 0.9, sampleMaxValue: 2 },
      101,
    )
    expect(out[100]).toBeCloseTo(1, 6) // 3 -> clamp to 2 -> / 2
    expect(out[99]).toBeCloseTo(-1, 6)
    expect(out[10]).toBeCloseTo(0.3 / 2, 6)
    expect(Array.from(out.subarray(101))).toEqual(Array.from(Float32Array.from(img2)))
  })
})
