import { describe, expect, it } from 'vitest'

import { statsWarnings, stepStats } from '../../src-main/engine/diagnostics'
import { noiseImage, previewNoise } from '../../src-main/engine/forward'
import { makeSchedule, SCHEDULES } from '../../src-main/engine/schedule'

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

describe('forward noising', () => {
  const x0 = new Float32Array(4096).map((_, i) => Math.sin(i / 50))
  const noise = previewNoise(x0.length, 3)

  it('x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) noise, with alpha_bar and SNR of the schedule', () => {
    const schedule = makeSchedule({ schedule: 'cosine', trainSteps: 1000, betaStart: 0.0001, betaEnd: 0.02 })
    for (const n of noiseImage(x0, noise, schedule, [0, 250, 999])) {
      expect(n.alphaBar).toBe(schedule.alphasCumprod[n.timestep])
      expect(n.snr).toBeCloseTo(n.alphaBar / (1 - n.alphaBar), 10)
      const recovered = n.sample.map((v, i) => (v - Math.sqrt(n.alphaBar) * x0[i]) / Math.sqrt(1 - n.alphaBar))
      recovered.forEach((v, i) => expect(v).toBeCloseTo(noise[i], 3))
    }
  })

  it('one noise for every schedule: they differ only through alpha_bar', () => {
    const images = SCHEDULES.map(
      (name) =>
        noiseImage(
          x0,
          noise,
          makeSchedule({ schedule: name, trainSteps: 1000, betaStart: 0.0001, betaEnd: 0.02 }),
          [500],
        )[0],
    )
    // Structure left = correlation with x0 grows with alpha_bar, the same way for every schedule.
    const corr = (y: Float32Array) => {
      let xy = 0,
        xx = 0,
        yy = 0
      for (let i = 0; i < y.length; i++) {
        xy += x0[i] * y[i]
        xx += x0[i] ** 2
        yy += y[i] ** 2
      }
      return xy / Math.sqrt(xx * yy)
    }
    const order = (xs: number[]) => xs.map((_, i) => i).sort((a, b) => xs[a] - xs[b])
    expect(order(images.map((n) => corr(n.sample)))).toEqual(order(images.map((n) => n.alphaBar)))
    expect(previewNoise(16, 3)).toEqual(noise.subarray(0, 16))
  })

  it('refuses timesteps outside the schedule', () => {
    const schedule = makeSchedule({ schedule: 'linear', trainSteps: 100, betaStart: 0.0001, betaEnd: 0.02 })
    expect(() => noiseImage(x0, noise, schedule, [100])).toThrow(/timestep must be an integer in \[0, 99\]/)
  })
})
