/**
 * Our LMS against diffusers' LMSDiscreteScheduler, in three parts:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_lms.py, numbers copied from it.
 *    As in its Euler tests, the loop steps from scale_model_input's result, which no pipeline does, so these
 *    run that loop with our sampler rather than through runSampling; none needs random numbers. Not
 *    reproduced: test_full_loop_device (the no-noise loop again, on a device) and the check_over_configs tests
 *    (a scheduler against its own saved copy; no numbers).
 * 2. Every model call's prev_sample and pred_original_sample from diffusers' own scheduling_lms_discrete.py in
 *    a pipeline's loop on more configurations (test/fixtures/samplers/), its integration coefficients
 *    (get_lms_coefficient: scipy.integrate.quad) and set_timesteps lists; and that loop through ours.
 * 3. The coefficients' quadrature is exact: it integrates every polynomial of the method's degree exactly.
 */
import { describe, expect, it } from 'vitest'

import { lms, lmsCoefficient, type LmsState } from '../../../../src-main/engine/samplers/lms'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../../src-main/engine/schedule'
import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import {
  expectCaseMatches,
  expectScheduleMatches,
  expectSumAndMean,
  scheduleCases,
} from '../../../fixtures/samplers/expect-case'
import { diffusersTestLoop, oursOf, reference, runCaseThroughOurLoop } from '../../../fixtures/samplers/reference'

/** LMSDiscreteSchedulerTest.get_scheduler_config: 1100 training timesteps, linear 1e-4..0.02. */
const schedule1100 = makeSchedule({ ...DEFAULT_SCHEDULE, trainSteps: 1100 })
const testConfig = (over: Partial<SamplerConfig> = {}) => ({ ...configOf('lms', { steps: 10 }), ...over })

describe("diffusers' test_scheduler_lms.py full loops", () => {
  it('test_full_loop_no_noise: sum 1006.388, mean 1.31', () => {
    expectSumAndMean(diffusersTestLoop(lms(testConfig(), schedule1100)), 1006.388, 1.31)
  })
  it('test_full_loop_with_v_prediction: sum 0.0017, mean 2.2676e-06', () => {
    expectSumAndMean(
      diffusersTestLoop(lms(testConfig({ predictionType: 'v_prediction' }), schedule1100)),
      0.0017,
      2.2676e-6,
    )
  })
  it('test_full_loop_device_karras_sigmas: sum 3812.9927 (to 2e-2), mean 4.9648', () => {
    expectSumAndMean(diffusersTestLoop(lms(testConfig({ sigmas: 'karras' }), schedule1100)), 3812.9927, 4.9648, 2e-2)
  })
  it('test_full_loop_with_noise: add_noise at the 9th step, its last 2 steps without a history: sum 27663.6895, mean 36.0204', () => {
    const full = lms(testConfig(), schedule1100)
    const start = { startAt: full.timesteps[8], sigma: full.sigmas![8] }
    expectSumAndMean(
      diffusersTestLoop(lms(testConfig(), schedule1100, start), { noiseSigma: start.sigma }),
      27663.6895,
      36.0204,
    )
  })
})

describe("lms matches diffusers' LMSDiscreteScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'lms')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    // cosine's sigma_max is 2e4: its float32 rounding carries into the next steps.
    expectCaseMatches(c, c.name.includes('cosine') ? 1e-4 : 1e-5)
  })

  it.each(cases.map((c) => [c.name, c]))('%s: the coefficients of every step', (_name, c) => {
    const { config, schedule } = oursOf('lms', c.config, c.steps)
    const sigmas = lms(config, schedule).sigmas!
    c.lms_coefficients!.forEach((theirs, t) => {
      const nodes = theirs.map((_, k) => sigmas[t - k])
      const step = Math.abs(sigmas[t + 1] - sigmas[t])
      // scipy integrates diffusers' integrand as torch evaluates it in float32 (its sigmas are float32
      // tensors): (tau - sigma_k) / (sigma_j - sigma_k) loses float32's 6e-8 times sigma / (their distance).
      // Measured: at most 3.5e-7 times that condition, times the step (ours is exact, see below).
      const gaps = [...nodes.slice(1).map((n, k) => Math.abs(n - nodes[k])), step]
      const condition = Math.max(...nodes) / Math.min(...gaps)
      theirs.forEach((coefficient, j) =>
        expect(Math.abs(lmsCoefficient(nodes, j, sigmas[t], sigmas[t + 1]) - coefficient)).toBeLessThan(
          1e-6 * condition * step,
        ),
      )
    })
  })

  it.each(['lms-10', 'lms-karras-10'])('%s through our loop (runSampling)', async (name) => {
    const { final, expected } = await runCaseThroughOurLoop(name)
    final.forEach((v, j) => expect(Math.abs(v - expected[j])).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected[j]))))
  })

  it.each(scheduleCases('lms'))('set_timesteps: %s', (_name, c) => expectScheduleMatches(c))
})

describe('the integration coefficients', () => {
  it('integrate every polynomial of degree < order exactly over the step (Gauss-Legendre, 2 points)', () => {
    const nodes = [3.1, 4.7, 8.2, 14.6]
    const [from, to] = [3.1, 1.9]
    for (let order = 1; order <= 4; order++) {
      const at = nodes.slice(0, order)
      for (let degree = 0; degree < order; degree++) {
        const p = (x: number) => (x - 2) ** degree
        const exact = ((to - 2) ** (degree + 1) - (from - 2) ** (degree + 1)) / (degree + 1)
        const rule = at.reduce((s, node, j) => s + lmsCoefficient(at, j, from, to) * p(node), 0)
        expect(Math.abs(rule - exact)).toBeLessThan(1e-13)
      }
    }
    // On an even grid they are Adams-Bashforth's: 55, -59, 37, -9 over 24.
    const even = [0, 1, 2, 3].map((k) => lmsCoefficient([3, 4, 5, 6], k, 3, 2) * -24)
    even.forEach((c, k) => expect(c).toBeCloseTo([55, -59, 37, -9][k], 12))
  })

  it("a start part-way at its own step without a history keeps diffusers' quirk: only the current term of order min(k + 1, 4)", () => {
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    const config = testConfig({ steps: 10 })
    const full = lms(config, schedule)
    const s = full.sigmas!
    const fresh = lms(config, schedule, { startAt: full.timesteps[5], sigma: s[5] })
    const x = new Float32Array([0.5])
    // epsilon 1: the derivative is 1, so the step moves x by the one coefficient used.
    const moved = fresh.step(new Float32Array([1]), 0, x, 1).prevSample[0] - 0.5
    const quirk = lmsCoefficient([s[5], s[4], s[3], s[2]], 0, s[5], s[6])
    expect(moved).toBeCloseTo(quirk, 5)
    // 1.4 times the Euler step here (55/24 on an even grid).
    expect(quirk / (s[6] - s[5])).toBeGreaterThan(1.3)
    // With the history a fork carries, all four terms.
    const history: LmsState = {
      kind: 'lms',
      derivatives: [2, 3, 4].map((k) => ({ derivative: new Float32Array([1]), sigma: s[k] })),
    }
    const carried = lms(config, schedule, { startAt: full.timesteps[5], sigma: s[5], state: history })
    const euler = carried.step(new Float32Array([1]), 0, x, 1).prevSample[0] - 0.5
    expect(euler).toBeCloseTo(s[6] - s[5], 5)
  })
})
