/**
 * Our DPM++ 2S against diffusers' DPMSolverSinglestepScheduler:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_dpm_single.py (numbers copied
 *    from it) through our loop with diffusers' dummy model. None needs torch's random numbers (dpmsolver++
 *    draws none). Not reproduced: the algorithm types dpmsolver and sde-dpmsolver++ (not samplers of ours),
 *    custom timesteps, and the check_over_configs tests (no numbers).
 * 2. Every model call's prev_sample and data prediction from diffusers' scheduling_dpmsolver_singlestep.py
 *    on more configurations (test/fixtures/samplers/, make-sampler-reference.py), and its set_timesteps.
 */
import { describe, expect, it } from 'vitest'

import { dpmpp2s, orderList } from '../../../../src-main/engine/samplers/dpmpp-2s'
import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import {
  expectMatchesDiffusers,
  oursOf,
  reference,
  schedulerTestLoop,
  useDummyDenoiser,
} from '../../../fixtures/samplers/reference'

const model = useDummyDenoiser()

/** DPMSolverSinglestepSchedulerTest.get_scheduler_config: order 2, midpoint, sigma_min at the end. */
const testConfig = (over: Partial<SamplerConfig> = {}): SamplerConfig => ({
  ...configOf('dpmpp-2s', { steps: 10 }),
  finalSigmas: 'sigma_min',
  ...over,
})
const mean = async (over: Partial<SamplerConfig>) => (await schedulerTestLoop(model(), testConfig(over))).mean

describe("diffusers' test_scheduler_dpm_single.py full loops through our loop", () => {
  it('test_full_loop_no_noise (and test_switch): mean |x| 0.2791', async () => {
    expect(Math.abs((await mean({})) - 0.2791)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_karras: 0.2248', async () => {
    expect(Math.abs((await mean({ sigmas: 'karras' })) - 0.2248)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_v_prediction: 0.1453', async () => {
    expect(Math.abs((await mean({ predictionType: 'v_prediction' })) - 0.1453)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_karras_and_v_prediction: 0.0649', async () => {
    expect(Math.abs((await mean({ predictionType: 'v_prediction', sigmas: 'karras' })) - 0.0649)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_noise: add_noise at the 6th timestep, its 5 steps: sum 269.2187, mean 0.3505', async () => {
    const r = await schedulerTestLoop(model(), testConfig(), { from: 5, addNoise: true })
    expect(Math.abs(r.sum - 269.2187)).toBeLessThan(1e-2)
    expect(Math.abs(r.mean - 0.3505)).toBeLessThan(1e-3)
  })
  it('test_full_uneven_loop: 50 steps started at the 4th (a second-order step, lowered to first): 0.2574', async () => {
    const r = await schedulerTestLoop(model(), testConfig({ steps: 50 }), { from: 3 })
    expect(Math.abs(r.mean - 0.2574)).toBeLessThan(1e-3)
  })
  it('test_solver_order_and_type: no NaN for midpoint and heun, orders 1 to 3, epsilon and sample', async () => {
    for (const solverType of ['midpoint', 'heun'] as const)
      for (const solverOrder of [1, 2, 3])
        for (const predictionType of ['epsilon', 'sample'] as const) {
          const r = await schedulerTestLoop(model(), testConfig({ solverType, solverOrder, predictionType }))
          expect(r.samples.every(Number.isFinite)).toBe(true)
        }
  })
})

describe("dpmpp-2s matches diffusers' DPMSolverSinglestepScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'dpmpp-2s')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    expectMatchesDiffusers(c)
  })

  it.each(
    reference.schedules
      .filter((c) => c.sampler === 'dpmpp-2s')
      .map((c) => [`${JSON.stringify(c.config)} ${c.steps} steps`, c]),
  )('set_timesteps: %s', (_name, c) => {
    const { config, schedule } = oursOf('dpmpp-2s', c.config, c.steps)
    expect(dpmpp2s(config, schedule).timesteps).toEqual(c.timesteps)
  })

  it("orders its steps as diffusers' get_order_list", () => {
    expect(orderList(10, 2, false, false)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 2])
    expect(orderList(10, 2, true, true)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1, 1])
    expect(orderList(9, 2, true, false)).toEqual([1, 2, 1, 2, 1, 2, 1, 2, 1])
    expect(orderList(9, 3, true, false)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 1])
    expect(orderList(10, 3, true, false)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1])
    expect(orderList(11, 3, true, true)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 1])
  })
})
