/**
 * Our DPM++ 3M (DPMSolverMultistepScheduler at solver_order 3) against diffusers. Its test file
 * (test_scheduler_dpm_multi.py) publishes no full-loop number at order 3; its test_solver_order_and_type
 * asserts no NaN at order 3 for both solver types, which we run through our loop. Every model call's
 * prev_sample and data prediction from diffusers' scheduling_dpmsolver_multistep.py on several
 * configurations (make-sampler-reference.py).
 */
import { describe, expect, it } from 'vitest'

import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import {
  expectMatchesDiffusers,
  reference,
  schedulerTestLoop,
  useDummyDenoiser,
} from '../../../fixtures/samplers/reference'

const model = useDummyDenoiser()

describe("diffusers' test_scheduler_dpm_multi.py at order 3 through our loop", () => {
  it('test_solver_order_and_type: no NaN for midpoint and heun, epsilon and sample', async () => {
    for (const solverType of ['midpoint', 'heun'] as const)
      for (const predictionType of ['epsilon', 'sample'] as const) {
        // DPMSolverMultistepSchedulerTest.get_scheduler_config: no lower-order final steps, sigma_min.
        const config: SamplerConfig = {
          ...configOf('dpmpp-3m', { steps: 10, solverType, predictionType }),
          lowerOrderFinal: false,
          finalSigmas: 'sigma_min',
        }
        const r = await schedulerTestLoop(model(), config)
        expect(r.samples.every(Number.isFinite)).toBe(true)
      }
  })
})

describe("dpmpp-3m matches diffusers' DPMSolverMultistepScheduler (solver_order 3) call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'dpmpp-3m')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    expect(c.config.solver_order).toBe(3)
    expectMatchesDiffusers(c)
  })
})
