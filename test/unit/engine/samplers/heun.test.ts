/**
 * Our Heun against diffusers' HeunDiscreteScheduler, in two parts:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_heun.py, numbers copied from
 *    it. As in its Euler tests, the loop steps from scale_model_input's result, which no pipeline does, so
 *    these run that loop with our sampler rather than through runSampling; none needs random numbers. Not
 *    reproduced: the custom timesteps loop (we take none), check_over_configs (no numbers), and the "exp"
 *    beta schedule (not one of ours).
 * 2. Every model call's prev_sample and pred_original_sample from diffusers' own scheduling_heun_discrete.py
 *    in a pipeline's loop on more configurations (test/fixtures/samplers/), and that loop through ours.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadModel } from '../../../../src-main/engine/model/load'
import { type Progress, runSampling, type StepFrame } from '../../../../src-main/engine/run'
import { heun } from '../../../../src-main/engine/samplers/heun'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../../src-main/engine/schedule'
import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import { dummyModel } from '../../../fixtures/onnx-builder'
import { compareCase, diffusersTestLoop, reference, runCaseThroughOurLoop } from '../../../fixtures/samplers/reference'

/** HeunDiscreteSchedulerTest.get_scheduler_config: 1100 training timesteps, linear 1e-4..0.02. */
const schedule1100 = makeSchedule({ ...DEFAULT_SCHEDULE, trainSteps: 1100 })
const testConfig = (over: Partial<SamplerConfig> = {}) => ({ ...configOf('heun', { steps: 10 }), ...over })

describe("diffusers' test_scheduler_heun.py full loops", () => {
  it('test_full_loop_no_noise: sum 0.1233, mean 0.0002', () => {
    const { sum, mean } = diffusersTestLoop(heun(testConfig(), schedule1100))
    expect(Math.abs(sum - 0.1233)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 0.0002)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_v_prediction: sum 4.6934e-07, mean 6.1112e-10', () => {
    const { sum, mean } = diffusersTestLoop(heun(testConfig({ predictionType: 'v_prediction' }), schedule1100))
    expect(Math.abs(sum - 4.6934e-7)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 6.1112e-10)).toBeLessThan(1e-3)
  })
  it('test_full_loop_device_karras_sigmas: sum 0.00015, mean 1.9869554535034695e-07', () => {
    const { sum, mean } = diffusersTestLoop(heun(testConfig({ sigmas: 'karras' }), schedule1100))
    expect(Math.abs(sum - 0.00015)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 1.9869554535034695e-7)).toBeLessThan(1e-2)
  })
  it('test_full_loop_with_noise: add_noise at the 9th step, its last 3 model calls: sum 75074.8906, mean 97.7538', () => {
    const full = heun(testConfig(), schedule1100)
    const start = { startAt: full.timesteps[8], sigma: full.sigmas![8] }
    const tail = heun(testConfig(), schedule1100, start)
    expect([0, 1].map((i) => tail.callsAt(i))).toEqual([2, 1])
    // Every value of this loop scales with init_noise_sigma (sigma_max, 261): ours is one float32 step
    // above diffusers' (torch's float32 linspace rounds the betas' last bits unlike our float64 ones), which
    // moves the sum by 1.2e-7 of itself, 0.009. With diffusers' value the sum holds to 1e-2 as there.
    const theirs = reference.test_init_noise_sigma.heun
    expect(tail.initNoiseSigma).toBe(Math.fround(theirs + 2 ** -15))
    const { sum, mean } = diffusersTestLoop({ ...tail, initNoiseSigma: theirs }, { noiseSigma: start.sigma })
    expect(Math.abs(sum - 75074.8906)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 97.7538)).toBeLessThan(1e-3)
    expect(Math.abs(diffusersTestLoop(tail, { noiseSigma: start.sigma }).sum - 75074.8906)).toBeLessThan(2e-2)
  })
})

describe("heun matches diffusers' HeunDiscreteScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'heun')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    const r = compareCase(c)
    // 2N - 1 model calls for N steps: two a step, one for the last (to sigma 0).
    expect(c.calls).toBe(2 * c.steps - 1)
    r.sampler.timesteps.forEach((t, i) => expect(Math.abs(t - c.timesteps[i])).toBeLessThan(2e-4))
    r.sampler.sigmas!.forEach((s, i) => expect(Math.abs(s - c.sigmas[i])).toBeLessThanOrEqual(4e-7 * c.sigmas[i]))
    expect(Math.abs(r.sampler.initNoiseSigma / c.init_noise_sigma - 1)).toBeLessThan(4e-7)
    expect(r.maxRelDiff.prevSample).toBeLessThan(1e-5)
    expect(r.maxRelDiff.predictedX0).toBeLessThan(1e-5)
  })

  it.each(['heun-10', 'heun-karras-10'])('%s through our loop (runSampling)', async (name) => {
    const { final, expected } = await runCaseThroughOurLoop(name)
    final.forEach((v, j) => expect(Math.abs(v - expected[j])).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected[j]))))
  })

  it("the loop calls the model as Heun asks: one frame a step, progress in model calls, the second call at the step's end", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepwise-heun-'))
    await writeFile(join(dir, 'dummy.onnx'), dummyModel(1, 'float32'))
    const model = await loadModel(join(dir, 'dummy.onnx'), { providers: ['cpu'] })
    const calls: number[] = []
    const predict = model.predict
    model.predict = (x, shape, t, labels) => (calls.push(t), predict(x, shape, t, labels))
    const frames: StepFrame[] = []
    const progress: Progress[] = []
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    const sampler = testConfig({ steps: 5 })
    await runSampling(
      model,
      { sampler, schedule, seed: 3, batch: 1, height: 2, width: 2 },
      { onStep: (f) => frames.push(f), onProgress: (p) => progress.push(p) },
    )
    await model.release()
    const { timesteps } = heun(sampler, schedule)
    expect(frames.map((f) => f.timestep)).toEqual(timesteps)
    expect(calls).toEqual([timesteps[0], ...timesteps.slice(1).flatMap((t) => [t, t])])
    expect(progress.map((p) => p.calls)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(progress.map((p) => p.step)).toEqual([0, 1, 1, 2, 2, 3, 3, 4, 5])
    expect(progress.every((p) => p.totalCalls === 9 && p.total === 5)).toBe(true)
  })
})
