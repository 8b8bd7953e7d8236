import { describe, expect, it } from 'vitest'

import { stepStats } from '../../../src-main/engine/diagnostics'
import { statsWarnings } from '../../../src-shared/diagnostics'

const shape = { batch: 2, channels: 1, height: 2, width: 5 }

describe('per-step diagnostics', () => {
  it('count clipped x0 values, the noise RMS, and mean and std per image', () => {
    const x0 = new Float32Array([0, 0.5, -1, 1.5, -2, 3, 0, 0, 0, 0, /* image 1: */ 1, 1, 1, 1, 1, -1, -1, -1, -1, -1])
    const noise = new Float32Array(20).fill(2)
    const sample = new Float32Array(20).map((_, i) => (i < 10 ? i : 7))
    const [a, b] = stepStats({ sample, predictedX0: x0, predictedNoise: noise }, shape)
    expect(a.clippedFraction).toBeCloseTo(0.3, 12)
    expect(a.farOutFraction).toBeCloseTo(0.2, 12) // -2 and 3 are beyond 1.5
    expect(b.clippedFraction).toBe(0)
    expect(a.noiseRms).toBeCloseTo(2, 6)
    expect(a.sampleMean).toBeCloseTo(4.5, 6)
    expect(a.sampleStd).toBeCloseTo(Math.sqrt(8.25), 5) // population std of 0..9
    expect(b.sampleStd).toBe(0)
    expect(b.x0Mean).toBe(0)
    expect(b.x0Std).toBeCloseTo(1, 6)
    expect(a.nonFinite + b.nonFinite).toBe(0)
  })

  it('warn where NaN first appears and where x0 leaves the data range', () => {
    const one = { batch: 1, channels: 1, height: 1, width: 4 }
    const frame = (x0: number[], noise = [0, 0, 0, 0]) =>
      stepStats(
        { sample: new Float32Array(4), predictedX0: new Float32Array(x0), predictedNoise: new Float32Array(noise) },
        one,
      )[0]
    // A background a little past -1 (as trained models' x0 routinely is) is not out of range.
    const steps = [
      frame([-1.08, -1.05, -1.1, 0]),
      frame([0, 0, 0, 5]),
      frame([0, 0, 5, 5]),
      frame([0, 0, 0, 0], [NaN, 0, 0, 0]),
      frame([NaN, 0, 0, 0]),
    ]
    expect(steps[0].clippedFraction).toBe(0.75)
    expect(steps[3].nonFinite).toBe(1)
    expect(statsWarnings(steps)).toEqual([
      { kind: 'non-finite', step: 3, message: 'NaN or infinite values from step 4' },
      {
        kind: 'out-of-range',
        step: 2,
        message: 'predicted x0 out of range (over 25% of values beyond ±1.5) from step 3',
      },
    ])
    expect(statsWarnings(steps.slice(0, 2))).toEqual([])
  })
})
