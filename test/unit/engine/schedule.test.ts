/** Noise schedules against their defining formulas and diffusers' published values. */
import { describe, expect, it } from 'vitest'

import {
  DEFAULT_SCHEDULE,
  makeSchedule,
  NAMED_SCHEDULES,
  parseScheduleName,
  type SCHEDULES,
} from '../../../src-main/engine/schedule'

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
    for (const name of NAMED_SCHEDULES) expect(sched(name, { trainSteps: 37 }).betas).toHaveLength(37)
    const { alphasCumprod } = sched('scaled_linear', { rescaleZeroSnr: true, betaStart: 0.00085, betaEnd: 0.012 })
    expect(alphasCumprod[T - 1]).toBeCloseTo(0, 12)
    expect(() => sched('linear', { trainSteps: 0 })).toThrow(/an integer from 1 to 100000, got 0/)
    expect(() => sched('linear', { trainSteps: 1e12 })).toThrow(/an integer from 1 to 100000, got 1000000000000/)
  })
  it("lucidrains_sigmoid is lucidrains' sigmoid_beta_schedule, not diffusers' sigmoid (its torch values)", () => {
    // sigmoid_beta_schedule(T, start, end, tau) of faed4db in torch 1.13, cumprod(1 - betas) in float64.
    const cases: [object, number, [number, number][]][] = [
      [
        {},
        1000,
        [
          [0, 0.9996997208025897],
          [250, 0.8498630103525684],
          [500, 0.4983428217896729],
          [999, 3.002869867999664e-7],
        ],
      ],
      [
        { sigmoid: { start: 0, end: 3, tau: 0.5 } },
        1000,
        [
          [0, 0.9969850998394297],
          [500, 0.0898100622414517],
          [999, 8.77889646399789e-8],
        ],
      ],
      [
        {},
        37,
        [
          [0, 0.9912859167409827],
          [18, 0.47761784455506096],
          [36, 8.714091048407025e-6],
        ],
      ],
    ]
    for (const [over, trainSteps, values] of cases) {
      const { alphasCumprod } = sched('lucidrains_sigmoid', { ...over, trainSteps })
      for (const [t, expected] of values) expect(alphasCumprod[t] / expected).toBeCloseTo(1, 9)
    }
    // diffusers' sigmoid with its defaults: 0.299 at t = 500.
    expect(sched('sigmoid').alphasCumprod[500]).toBeCloseTo(0.299, 3)
  })
  it("custom is the model's own alphas_cumprod as it is, and needs one of the same T", () => {
    const own = Float64Array.from({ length: 10 }, (_, i) => 1 - (i + 1) / 11)
    const s = makeSchedule({ ...DEFAULT_SCHEDULE, schedule: 'custom', trainSteps: 10 }, own)
    expect(s.alphasCumprod).toBe(own)
    expect(s.betas[3]).toBeCloseTo(1 - own[3] / own[2], 15)
    expect(() => makeSchedule({ ...DEFAULT_SCHEDULE, schedule: 'custom', trainSteps: 10 })).toThrow(
      'schedule "custom" is a model\'s own alphas_cumprod, and this model has none; choose a named schedule',
    )
    expect(() => makeSchedule({ ...DEFAULT_SCHEDULE, schedule: 'custom', trainSteps: 1000 }, own)).toThrow(
      "the model's own schedule has T = 10; it cannot be used with T = 1000",
    )
  })
})
