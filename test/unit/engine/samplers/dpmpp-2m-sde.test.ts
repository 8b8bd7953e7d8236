/**
 * Our DPM++ 2M SDE (DPMSolverMultistepScheduler, algorithm_type sde-dpmsolver++) against diffusers: every
 * model call's prev_sample and data prediction from diffusers' scheduling_dpmsolver_multistep.py given the
 * same noise as ours (saved beside the fixture, handed to its step() through the stand-in randn_tensor).
 * diffusers' own full loops for the SDE draw torch's random numbers, so only their "no NaN" assertion
 * (test_solver_order_and_type, orders 1 and 2) is reproduced, with our noise. Its output law is checked
 * against the exact Gaussian oracle in analytic.test.ts.
 */
import { describe, expect, it } from 'vitest'

import { runSampling } from '../../../../src-main/engine/run'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../../src-main/engine/schedule'
import { configOf } from '../../../../src-shared/parameters'
import { dummyDeter, expectMatchesDiffusers, reference, useDummyDenoiser } from '../../../fixtures/samplers/reference'

const model = useDummyDenoiser()

describe("diffusers' test_scheduler_dpm_multi.py for sde-dpmsolver++ through our loop", () => {
  it('test_solver_order_and_type: no NaN for midpoint and heun, orders 1 and 2, epsilon and sample', async () => {
    for (const solverType of ['midpoint', 'heun'] as const)
      for (const solverOrder of [1, 2])
        for (const predictionType of ['epsilon', 'sample'] as const) {
          const sampler = {
            ...configOf('dpmpp-2m-sde', { steps: 10, solverType, solverOrder, predictionType }),
            lowerOrderFinal: false,
            finalSigmas: 'sigma_min' as const,
          }
          const schedule = makeSchedule(DEFAULT_SCHEDULE)
          const r = await runSampling(model(), {
            sampler,
            schedule,
            seed: 0,
            batch: 4,
            height: 8,
            width: 8,
            initNoise: dummyDeter(false),
          })
          expect(r.samples.every(Number.isFinite)).toBe(true)
        }
  })
})

describe("dpmpp-2m-sde matches diffusers' sde-dpmsolver++ call by call with the same noise", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'dpmpp-2m-sde')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    expect(c.noise).toBeDefined()
    const r = expectMatchesDiffusers(c)
    expect(r.sampler.isStochastic(0)).toBe(true)
  })
})
