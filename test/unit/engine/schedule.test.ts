/** Noise schedules against their defining formulas and diffusers' published values. */
import { describe, expect, it } from 'vitest'

import { DEFAULT_SCHEDULE, makeSchedule, parseScheduleName, SCHEDULES } from '../../../src-main/engine/schedule'

const T = 1000
const sched = (schedule: (typeof SCHEDULES)[number], over = {}) =>
  makeSchedule({ ...DEFAULT_SCHEDULE, schedule, ...over })

describe('noise schedules', () => {
  it('linear runs from beta_start to beta_end in equal steps', () => {
    const { betas } = sched('linear')
    expect(betas[0]).toBeCloseTo(1e-4, 12)
    expect(betas[T - 1]).toBeCloseTo(0.02, 12)
    expect(betas[500] - betas[499]).toBeCloseTo((0.02 - 1e-4) / 999, 12)
  })
  it('alphas_cumprod of linear at T=1000 matches diffusers (ab[999] = 4.0358e-5, to float32 precision)', () => {
    const { alphasCumprod } = sched('linear')
    // diffusers: DDPMScheduler().alphas_cumprod[999] = 4.0358e-05 (float32 cumprod); relative 5e-4.
    expect(Math.abs(alphasCumprod[999] / 4.0358e-5 - 1)).toBeLessThan(5e-4)
    expect(alphasCumprod[0]).toBeCloseTo(1 - 1e-4, 12)
  })
  it('scaled_linear and quadratic are linear in sqrt(beta)', () => {
    for (const name of ['scaled_linear', 'quadratic'] as const) {
      const { betas } = sched(name, { betaStart: 0.00085, betaEnd: 0.012 })
      const r = Array.from(betas, Math.sqrt)
      expect(r[0]).toBeCloseTo(Math.sqrt(0.00085), 12)
      expect(r[T - 1]).toBeCloseTo(Math.sqrt(0.012), 12)
      expect(r[10] - r[9]).toBeCloseTo(r[900] - r[899], 12)
    }
  })
  it('cosine follows alpha-bar = cos^2(((t/T + s)/(1 + s)) pi/2) with betas capped at 0.999', () => {
    const { betas, alphasCumprod } = sched('cosine')
    const f = (t: number) => Math.cos(((t / T + 0.008) / 1.008) * (Math.PI / 2)) ** 2
    expect(alphasCumprod[499]).toBeCloseTo(f(500) / f(0), 10)
    expect(betas[T - 1]).toBe(0.999)
    expect(Math.max(...betas)).toBeLessThanOrEqual(0.999)
    expect(parseScheduleName('squaredcos_cap_v2')).toBe('cosine')
  })
  it('sigmoid is sigmoid(linspace(-6, 6)) scaled into [beta_start, beta_end]', () => {
    const { betas } = sched('sigmoid')
    const sig = (x: number) => 1 / (1 + Math.exp(-x))
    expect(betas[0]).toBeCloseTo(sig(-6) * (0.02 - 1e-4) + 1e-4, 12)
    expect(betas[T - 1]).toBeCloseTo(sig(6) * (0.02 - 1e-4) + 1e-4, 12)
    // symmetric about the middle
    expect(betas[0] + betas[T - 1]).toBeCloseTo(0.02 + 1e-4, 12)
  })
  it('any number of training steps up to the bound, and zero terminal SNR when asked', () => {
    for (const name of SCHEDULES) expect(sched(name, { trainSteps: 37 }).betas).toHaveLength(37)
    const { alphasCumprod } = sched('scaled_linear', { rescaleZeroSnr: true, betaStart: 0.00085, betaEnd: 0.012 })
    expect(alphasCumprod[T - 1]).toBeCloseTo(0, 12)
    expect(() => sched('linear', { trainSteps: 0 })).toThrow(/an integer from 1 to 100000, got 0/)
    expect(() => sched('linear', { trainSteps: 1e12 })).toThrow(/an integer from 1 to 100000, got 1000000000000/)
  })
})
