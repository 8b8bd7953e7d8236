/**
 * Our Euler a against diffusers' EulerAncestralDiscreteScheduler, in three parts:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_euler_ancestral.py, numbers
 *    copied from it. All three draw their noise from torch.manual_seed(0), which we do not have; the fixture
 *    script ran them through diffusers' own scheduler file, checked it got these numbers, and kept the ten
 *    draws (euler-a-torch-seed-0.npy), which we hand to our sampler's steps in the same order. Like the Euler
 *    tests, the loop steps from scale_model_input's result, so it runs our sampler rather than runSampling.
 *    Not reproduced: check_over_configs (a scheduler against its own saved copy; no numbers).
 * 2. Every model call's prev_sample and pred_original_sample from diffusers' scheduling_euler_ancestral_
 *    discrete.py in a pipeline's loop on more configurations, its step() handed noise.npy's draws
 *    (test/fixtures/samplers/), and its set_timesteps lists.
 * 3. The ancestral split against DDPM's posterior: the noise Euler a adds is DDPM's (Ho et al. 2020, eq. 7).
 */
import { describe, expect, it } from 'vitest'

import { ancestralStep, eulerAncestral } from '../../../../src-main/engine/samplers/euler-a'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../../src-main/engine/schedule'
import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import {
  expectCaseMatches,
  expectScheduleMatches,
  expectSumAndMean,
  scheduleCases,
} from '../../../fixtures/samplers/expect-case'
import { diffusersTestLoop, npy, reference } from '../../../fixtures/samplers/reference'

/** EulerAncestralDiscreteSchedulerTest.get_scheduler_config: 1100 training timesteps, linear 1e-4..0.02. */
const schedule1100 = makeSchedule({ ...DEFAULT_SCHEDULE, trainSteps: 1100 })
const testConfig = (over: Partial<SamplerConfig> = {}) => ({ ...configOf('euler-a', { steps: 10 }), ...over })

/** torch.manual_seed(0)'s ten draws of shape (4, 3, 8, 8) in diffusers' loops, one a step. */
const torchDraws = () => {
  const all = npy('euler-a-torch-seed-0.npy').data
  const size = 4 * 3 * 8 * 8
  return Array.from({ length: 10 }, (_, i) => all.subarray(i * size, (i + 1) * size))
}

describe("diffusers' test_scheduler_euler_ancestral.py full loops, with torch's draws replayed", () => {
  it('test_full_loop_no_noise: sum 152.3192, mean 0.1983', () => {
    const got = diffusersTestLoop(eulerAncestral(testConfig(), schedule1100), { draws: torchDraws() })
    expectSumAndMean(got, 152.3192, 0.1983)
    // What diffusers' own file gave with the same draws (the fixture script's run).
    expect(reference.diffusers_tests['euler_ancestral.test_full_loop_no_noise'][0]).toBeCloseTo(got.sum, 3)
  })
  it('test_full_loop_with_v_prediction: sum 108.4439, mean 0.1412', () => {
    const s = eulerAncestral(testConfig({ predictionType: 'v_prediction' }), schedule1100)
    expectSumAndMean(diffusersTestLoop(s, { draws: torchDraws() }), 108.4439, 0.1412)
  })
  it('test_full_loop_with_noise: add_noise at the 9th timestep, its last 2 steps: sum 56163.0508, mean 73.1290', () => {
    const full = eulerAncestral(testConfig(), schedule1100)
    const start = { startAt: full.timesteps[8], sigma: full.sigmas![8] }
    const tail = eulerAncestral(testConfig(), schedule1100, start)
    expectSumAndMean(diffusersTestLoop(tail, { noiseSigma: start.sigma, draws: torchDraws() }), 56163.0508, 73.129)
  })
  it('the same draws in another order miss the published sum by far: the replay is what reaches it', () => {
    const draws = torchDraws().reverse()
    const { sum } = diffusersTestLoop(eulerAncestral(testConfig(), schedule1100), { draws })
    expect(Math.abs(sum - 152.3192)).toBeGreaterThan(1) // 148.5
  })
})

describe("euler-a matches diffusers' EulerAncestralDiscreteScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'euler-a')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    // cosine's sigma_max is 2e4: its float32 rounding carries into the next steps.
    expectCaseMatches(c, c.name.includes('cosine') ? 1e-4 : 1e-5)
  })

  it.each(scheduleCases('euler-a'))('set_timesteps: %s', (_name, c) => expectScheduleMatches(c))

  it('draws noise for every step but the last (where sigma_up is 0)', () => {
    const s = eulerAncestral(testConfig({ steps: 6 }), makeSchedule(DEFAULT_SCHEDULE))
    expect(s.timesteps.map((_, i) => s.isStochastic(i))).toEqual([true, true, true, true, true, false])
    expect(() => s.step(new Float32Array(1), 0, new Float32Array(1), 1)).toThrow(/needs noise/)
  })
})

describe('the ancestral step', () => {
  it("adds DDPM's posterior noise (Ho et al. eq. 7) in sigma space, and sigma_down^2 + sigma_up^2 = sigma_next^2", () => {
    const { alphasCumprod } = makeSchedule(DEFAULT_SCHEDULE)
    for (const [t, s] of [
      [999, 899],
      [500, 499],
      [100, 0],
    ]) {
      const [abT, abS] = [alphasCumprod[t], alphasCumprod[s]]
      const sigma = (ab: number) => Math.sqrt((1 - ab) / ab)
      const { up, down } = ancestralStep(sigma(abT), sigma(abS))
      // beta-tilde = (1 - ab_s) / (1 - ab_t) (1 - ab_t / ab_s), and x_sigma = x_vp / sqrt(ab_s).
      const posterior = ((1 - abS) / (1 - abT)) * (1 - abT / abS)
      // float32, as diffusers': sigma_from^2 - sigma_to^2 of neighbouring timesteps keeps 5 to 6 digits.
      expect(Math.abs(up / Math.sqrt(posterior / abS) - 1)).toBeLessThan(1e-5)
      expect(Math.abs(down * down + up * up - sigma(abS) ** 2) / sigma(abS) ** 2).toBeLessThan(1e-5)
    }
    expect(ancestralStep(14.6, 0)).toEqual({ up: 0, down: 0 })
  })
})
