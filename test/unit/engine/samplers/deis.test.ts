/**
 * Our DEIS against diffusers' DEISMultistepScheduler:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_deis.py (numbers copied from
 *    it) through our loop with diffusers' dummy model; none needs torch's random numbers. Not reproduced:
 *    the check_over_configs tests (a scheduler against its own saved copy; no numbers).
 * 2. Every model call's prev_sample and data prediction (the x0 its noise prediction gives) from diffusers'
 *    scheduling_deis_multistep.py on more configurations (make-sampler-reference.py), and its set_timesteps.
 */
import { describe, expect, it } from 'vitest'

import { deis } from '../../../../src-main/engine/samplers/deis'
import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import {
  expectMatchesDiffusers,
  npy,
  oursOf,
  pipelineLoop,
  reference,
  schedulerTestLoop,
  useDummyDenoiser,
} from '../../../fixtures/samplers/reference'

const model = useDummyDenoiser()

/** DEISMultistepSchedulerTest.get_scheduler_config: order 2, diffusers' defaults otherwise. */
const testConfig = (over: Partial<SamplerConfig> = {}): SamplerConfig => ({
  ...configOf('deis', { steps: 10 }),
  ...over,
})

describe("diffusers' test_scheduler_deis.py full loops through our loop", () => {
  it('test_full_loop_no_noise (and test_switch): mean |x| 0.23916', async () => {
    expect(Math.abs((await schedulerTestLoop(model(), testConfig())).mean - 0.23916)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_v_prediction: 0.091', async () => {
    const r = await schedulerTestLoop(model(), testConfig({ predictionType: 'v_prediction' }))
    expect(Math.abs(r.mean - 0.091)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_noise: add_noise at the 9th timestep, its 2 steps: sum 315.3016, mean 0.41054', async () => {
    const r = await schedulerTestLoop(model(), testConfig(), { from: 8, addNoise: true })
    expect(Math.abs(r.sum - 315.3016)).toBeLessThan(1e-2)
    expect(Math.abs(r.mean - 0.41054)).toBeLessThan(1e-3)
  })
  it('test_solver_order_and_type: no NaN, orders 1 to 3, epsilon and sample', async () => {
    for (const solverOrder of [1, 2, 3])
      for (const predictionType of ['epsilon', 'sample'] as const) {
        const r = await schedulerTestLoop(model(), testConfig({ solverOrder, predictionType }))
        expect(r.samples.every(Number.isFinite)).toBe(true)
      }
  })
})

describe("deis matches diffusers' DEISMultistepScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'deis')
  // diffusers evaluates the third-order Lagrange integrals in float32, where ind(rho_t) - ind(rho_s) cancels
  // (terms near rho log^2 rho, thousands at rho = 157, for differences near 1): its first third-order step
  // already differs from ours (double) by 5e-6 and later ones by up to 3e-5 (measured). Orders 1, 2: 1e-5.
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    expectMatchesDiffusers(c, [], c.config.solver_order === 3 ? 5e-5 : 1e-5)
  })

  it.each(
    reference.schedules
      .filter((c) => c.sampler === 'deis')
      .map((c) => [`${JSON.stringify(c.config)} ${c.steps} steps`, c]),
  )('set_timesteps: %s', (_name, c) => {
    const { config, schedule } = oursOf('deis', c.config, c.steps)
    const s = deis(config, schedule)
    expect(s.timesteps).toEqual(c.timesteps)
    s.sigmas!.forEach((v, i) => expect(Math.abs(v - c.sigmas[i])).toBeLessThanOrEqual(4e-7 * c.sigmas[i]))
  })

  it('with Karras sigmas the last sigma repeats (diffusers quirk): the last step leaves the sample as it is', () => {
    const c = reference.cases.find((c) => c.name === 'deis-karras-20')!
    const { config, schedule } = oursOf('deis', c.config, c.steps)
    const samples: Float32Array[] = []
    pipelineLoop(deis(config, schedule), npy('x_T.npy').data, 3, (r) => samples.push(r.prevSample))
    samples[19].forEach((v, i) => expect(v).toBeCloseTo(samples[18][i], 6))
  })
})
