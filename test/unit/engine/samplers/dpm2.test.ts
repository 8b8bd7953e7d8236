/**
 * Our DPM2 against diffusers' KDPM2DiscreteScheduler, in two parts:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_kdpm2_discrete.py, numbers
 *    copied from it. As in its Euler tests, the loop steps from scale_model_input's result, which no pipeline
 *    does, so these run that loop with our sampler rather than through runSampling; none needs random
 *    numbers (KDPM2 draws none). Not reproduced: test_full_loop_device (the no-noise loop again, on a device)
 *    and the check_over_configs tests (a scheduler against its own saved copy; no numbers).
 * 2. Every model call's prev_sample and pred_original_sample from diffusers' own scheduling_k_dpm_2_discrete.py
 *    in a pipeline's loop on more configurations (test/fixtures/samplers/), its midpoint sigmas and timesteps,
 *    its set_timesteps lists; and that loop through ours (runSampling).
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadModel } from '../../../../src-main/engine/model/load'
import { type Progress, runSampling } from '../../../../src-main/engine/run'
import { dpm2, midpointSigma } from '../../../../src-main/engine/samplers/dpm2'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../../src-main/engine/schedule'
import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import { dummyModel } from '../../../fixtures/onnx-builder'
import {
  expectCaseMatches,
  expectScheduleMatches,
  expectSumAndMean,
  scheduleCases,
} from '../../../fixtures/samplers/expect-case'
import {
  callTimesteps,
  diffusersTestLoop,
  reference,
  runCaseThroughOurLoop,
} from '../../../fixtures/samplers/reference'

/** KDPM2DiscreteSchedulerTest.get_scheduler_config: 1100 training timesteps, linear 1e-4..0.02. */
const schedule1100 = makeSchedule({ ...DEFAULT_SCHEDULE, trainSteps: 1100 })
const testConfig = (over: Partial<SamplerConfig> = {}) => ({ ...configOf('dpm2', { steps: 10 }), ...over })

describe("diffusers' test_scheduler_kdpm2_discrete.py full loops", () => {
  it('test_full_loop_no_noise: sum 20.4125, mean 0.0266', () => {
    expectSumAndMean(diffusersTestLoop(dpm2(testConfig(), schedule1100)), 20.4125, 0.0266)
  })
  it('test_full_loop_with_v_prediction: sum 4.6934e-07, mean 6.1112e-10', () => {
    const got = diffusersTestLoop(dpm2(testConfig({ predictionType: 'v_prediction' }), schedule1100))
    expectSumAndMean(got, 4.6934e-7, 6.1112e-10)
    // diffusers' own scheduler file gave 6.1e-5 here (the fixture script's run): both are float32 noise on 0.
    expect(got.sum).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_noise: add_noise at the 9th step, its last 3 model calls: sum 70408.4062, mean 91.6776', () => {
    const full = dpm2(testConfig(), schedule1100)
    const start = { startAt: full.timesteps[8], sigma: full.sigmas![8] }
    const tail = dpm2(testConfig(), schedule1100, start)
    expect([0, 1].map((i) => tail.callsAt(i))).toEqual([2, 1])
    // As in heun.test.ts: every value scales with init_noise_sigma, one float32 step above diffusers' in ours
    // (torch's float32 linspace rounds the betas' last bits unlike our float64 ones), which moves the sum by
    // 0.0105. With diffusers' value the sum holds to 1e-2 as there.
    const theirs = reference.test_init_noise_sigma.dpm2
    expect(tail.initNoiseSigma).toBe(Math.fround(theirs + 2 ** -15))
    expectSumAndMean(
      diffusersTestLoop({ ...tail, initNoiseSigma: theirs }, { noiseSigma: start.sigma }),
      70408.4062,
      91.6776,
    )
    expect(Math.abs(diffusersTestLoop(tail, { noiseSigma: start.sigma }).sum - 70408.4062)).toBeLessThan(2e-2)
  })
})

describe("dpm2 matches diffusers' KDPM2DiscreteScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'dpm2')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    const r = expectCaseMatches(c)
    // 2N - 1 model calls for N steps: two a step, one for the last (to sigma 0).
    expect(c.calls).toBe(2 * c.steps - 1)
    const sigmas = r.sampler.sigmas!
    // float32 log, lerp and exp: a few ulps from torch's vectorised ones.
    c.mid_sigmas!.forEach((m, i) =>
      expect(Math.abs(midpointSigma(sigmas[i], sigmas[i + 1]) / m - 1)).toBeLessThan(1e-6),
    )
  })

  it.each(['dpm2-10', 'dpm2-karras-10'])('%s through our loop (runSampling)', async (name) => {
    const { final, expected } = await runCaseThroughOurLoop(name)
    final.forEach((v, j) => expect(Math.abs(v - expected[j])).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected[j]))))
  })

  it.each(scheduleCases('dpm2'))('set_timesteps (one timestep a model call): %s', (_name, c) =>
    expectScheduleMatches(c),
  )

  it("rounds Karras timesteps (diffusers' quirk), not the midpoints' nor exponential ones", () => {
    const linear = makeSchedule(DEFAULT_SCHEDULE)
    const karras = dpm2(testConfig({ sigmas: 'karras' }), linear)
    expect(karras.timesteps.every(Number.isInteger)).toBe(true)
    expect(karras.timestepAt(0, 1) % 1).not.toBe(0)
    expect(dpm2(testConfig({ sigmas: 'exponential' }), linear).timesteps.every(Number.isInteger)).toBe(false)
  })

  it('the loop makes two model calls a step and one for the last; progress counts them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepwise-dpm2-'))
    await writeFile(join(dir, 'dummy.onnx'), dummyModel(1, 'float32'))
    const model = await loadModel(join(dir, 'dummy.onnx'), { providers: ['cpu'] })
    const seen: number[] = []
    const predict = model.predict
    model.predict = (x, shape, t, labels) => (seen.push(t), predict(x, shape, t, labels))
    const progress: Progress[] = []
    const sampler = testConfig({ steps: 4 })
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    await runSampling(
      model,
      { sampler, schedule, seed: 3, batch: 1, height: 2, width: 2 },
      { onProgress: (p) => progress.push(p) },
    )
    await model.release()
    expect(seen).toEqual(callTimesteps(dpm2(sampler, schedule)))
    expect(progress.map((p) => [p.step, p.calls])).toEqual([
      [0, 1],
      [1, 2],
      [1, 3],
      [2, 4],
      [2, 5],
      [3, 6],
      [4, 7],
    ])
  })
})
