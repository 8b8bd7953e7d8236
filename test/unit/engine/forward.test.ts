import { describe, expect, it } from 'vitest'

import { noiseImage, previewNoise } from '../../../src-main/engine/forward'
import { makeSchedule, NAMED_SCHEDULES } from '../../../src-main/engine/schedule'

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
    const images = NAMED_SCHEDULES.map(
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
