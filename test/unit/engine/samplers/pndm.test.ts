/**
 * Our PNDM (and PLMS: skip_prk_steps) against diffusers' PNDMScheduler, in two parts:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_pndm.py, numbers copied from it,
 *    run through our loop (runSampling) with diffusers' dummy model as an ONNX graph on its dummy sample, and
 *    its one stated timestep list (test_steps_offset). None needs random numbers (PNDM draws none). Not
 *    reproduced: test_step_shape, test_pow_of_3_inference_steps and test_inference_plms_no_past_residuals
 *    (they call step_prk / step_plms with made-up residuals and assert shapes or that it raises; no numbers;
 *    the fixture cases run 27 steps' set_timesteps instead), and the check_over_configs tests (a scheduler
 *    against its own saved copy).
 * 2. Every model call's prev_sample from diffusers' own scheduling_pndm.py in a pipeline's loop on more
 *    configurations, both warm-ups (test/fixtures/samplers/; its step() returns no x0), and its set_timesteps
 *    lists (one timestep a model call).
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { beforeAll, describe, expect, it } from 'vitest'

import { type Denoiser, loadModel } from '../../../../src-main/engine/model/load'
import { type Progress, runSampling, type StepFrame } from '../../../../src-main/engine/run'
import { pndm, type PndmState } from '../../../../src-main/engine/samplers/pndm'
import { DEFAULT_SCHEDULE, makeSchedule, type ScheduleConfig } from '../../../../src-main/engine/schedule'
import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import { dummyModel } from '../../../fixtures/onnx-builder'
import {
  expectCaseMatches,
  expectScheduleMatches,
  expectSumAndMean,
  scheduleCases,
} from '../../../fixtures/samplers/expect-case'
import { callTimesteps, dummyDeter, reference, runCaseThroughOurLoop } from '../../../fixtures/samplers/reference'

let model: Denoiser
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepwise-pndm-'))
  await writeFile(join(dir, 'dummy.onnx'), dummyModel())
  model = await loadModel(join(dir, 'dummy.onnx'), { providers: ['cpu'] })
})

/** PNDMSchedulerTest.get_scheduler_config (1000 training timesteps, linear 1e-4..0.02) and its 10 steps. */
const testConfig = (over: Partial<SamplerConfig> = {}) => ({ ...configOf('pndm', { steps: 10 }), ...over })

async function fullLoop(over: Partial<SamplerConfig> = {}, schedule: Partial<ScheduleConfig> = {}) {
  const r = await runSampling(model, {
    sampler: testConfig(over),
    schedule: makeSchedule({ ...DEFAULT_SCHEDULE, ...schedule }),
    seed: 0,
    batch: 4,
    height: 8,
    width: 8,
    initNoise: dummyDeter(false),
  })
  const sum = r.samples.reduce((s, v) => s + Math.abs(v), 0)
  return { sum, mean: sum / r.samples.length }
}

describe("diffusers' test_scheduler_pndm.py full loops through our loop", () => {
  it('test_full_loop_no_noise: sum 198.1318, mean 0.2580', async () => {
    expectSumAndMean(await fullLoop(), 198.1318, 0.258)
  })
  it('test_full_loop_with_v_prediction: sum 67.3986, mean 0.0878', async () => {
    expectSumAndMean(await fullLoop({ predictionType: 'v_prediction' }), 67.3986, 0.0878)
  })
  it('test_full_loop_with_set_alpha_to_one (beta_start 0.01): sum 230.0399, mean 0.2995', async () => {
    expectSumAndMean(await fullLoop({ setAlphaToOne: true }, { betaStart: 0.01 }), 230.0399, 0.2995)
  })
  it('test_full_loop_with_no_set_alpha_to_one (beta_start 0.01): sum 186.9482, mean 0.2434', async () => {
    expectSumAndMean(await fullLoop({ setAlphaToOne: false }, { betaStart: 0.01 }), 186.9482, 0.2434)
  })
  it('test_steps_offset: the model calls of 10 steps with offset 1', () => {
    const s = pndm(testConfig({ stepsOffset: 1 }), makeSchedule(DEFAULT_SCHEDULE))
    expect(callTimesteps(s)).toEqual([
      901, 851, 851, 801, 801, 751, 751, 701, 701, 651, 651, 601, 601, 501, 401, 301, 201, 101, 1,
    ])
    // One frame a step: the three Runge-Kutta steps take four calls each.
    expect(s.timesteps).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1])
    expect(s.timesteps.map((_, i) => s.callsAt(i))).toEqual([4, 4, 4, 1, 1, 1, 1, 1, 1, 1])
  })
})

describe("pndm matches diffusers' PNDMScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'pndm')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    expectCaseMatches(c)
    const skip = c.config.skip_prk_steps === true
    // The Runge-Kutta warm-up costs 9 calls more than one a step; the improved Euler step, 1.
    expect(c.calls).toBe(c.steps + (skip ? Math.min(1, c.steps - 1) : 9))
  })

  it.each(['pndm-10', 'plms-10', 'pndm-v-10'])('%s through our loop (runSampling)', async (name) => {
    const { final, expected } = await runCaseThroughOurLoop(name)
    final.forEach((v, j) => expect(Math.abs(v - expected[j])).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected[j]))))
  })

  it.each(scheduleCases('pndm'))('set_timesteps (one timestep a model call): %s', (_name, c) =>
    expectScheduleMatches(c),
  )

  it("the loop calls the model at each call's timestep; progress counts the warm-up's four calls a step", async () => {
    const seen: number[] = []
    const predict = model.predict
    const progress: Progress[] = []
    const sampler = testConfig({ steps: 5 })
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    try {
      model.predict = (x, shape, t, labels) => (seen.push(t), predict(x, shape, t, labels))
      const req = { sampler, schedule, seed: 3, batch: 1, height: 8, width: 8 }
      await runSampling(model, req, { onProgress: (p) => progress.push(p) })
    } finally {
      model.predict = predict
    }
    expect(seen).toEqual(callTimesteps(pndm(sampler, schedule)))
    expect(progress.map((p) => p.calls)).toEqual(Array.from({ length: 14 }, (_, k) => k + 1))
    expect(progress.every((p) => p.totalCalls === 14 && p.total === 5)).toBe(true)
    // The step count moves after each step's last call: 4, 4, 4, 1, 1.
    expect(progress.map((p) => p.step)).toEqual([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 4, 5])
  })

  it('refuses fewer than 4 steps with the Runge-Kutta warm-up, as diffusers fails there', () => {
    const schedule = makeSchedule(DEFAULT_SCHEDULE)
    expect(() => pndm(testConfig({ steps: 3 }), schedule)).toThrow(
      /3 steps are too few.*"Skip PRK warm-up" \(--skip-prk-steps true\)/,
    )
    expect(pndm(testConfig({ steps: 3, skipPrkSteps: true }), schedule).timesteps).toEqual([666, 333, 0])
  })
})

describe('a run that starts part-way', () => {
  const schedule = makeSchedule(DEFAULT_SCHEDULE)

  it('at one of its own steps with its history goes on as the full run (the tail of its calls)', () => {
    const history: PndmState = { kind: 'pndm', ets: [] }
    const full = pndm(testConfig(), schedule)
    const tail = pndm(testConfig(), schedule, { startAt: 600, state: history })
    expect(callTimesteps(tail)).toEqual(callTimesteps(full).slice(12))
  })

  it('anywhere else warms up afresh on the grid below it; off the grid, its first step goes to the next timestep', () => {
    const at = pndm(testConfig(), schedule, { startAt: 600 })
    expect(callTimesteps(at).slice(0, 5)).toEqual([600, 550, 550, 500, 500])
    const off = pndm(testConfig(), schedule, { startAt: 640 })
    // From 640 to 600 with its midpoint 620; then the warm-up goes on with diffusers' arithmetic.
    expect(callTimesteps(off).slice(0, 6)).toEqual([640, 620, 620, 600, 600, 550])
    const plms = pndm(testConfig({ skipPrkSteps: true }), schedule, { startAt: 640 })
    expect(callTimesteps(plms).slice(0, 3)).toEqual([640, 600, 600])
    // Fewer than four grid timesteps left: the warm-up between those there are, then the multistep step to
    // the end; one step a grid timestep, as in a full run.
    expect(callTimesteps(pndm(testConfig(), schedule, { startAt: 50 }))).toEqual([50, 25, 25, 0, 0])
    expect(callTimesteps(pndm(testConfig(), schedule, { startAt: 0 }))).toEqual([0])
  })

  it('frames carry the history, which a fork with the same settings continues bit for bit', async () => {
    const sampler = testConfig({ skipPrkSteps: true })
    const frames: StepFrame[] = []
    const req = { sampler, schedule, seed: 0, batch: 4, height: 8, width: 8 }
    const parent = await runSampling(model, { ...req, initNoise: dummyDeter(false) }, { onStep: (f) => frames.push(f) })
    const f = frames[3]
    expect(f.fork.state).toMatchObject({ kind: 'pndm' })
    expect((f.fork.state as PndmState).ets).toHaveLength(3)
    const fork = await runSampling(model, { ...req, start: { ...f.fork, sample: f.sample } })
    expect(fork.samples).toEqual(parent.samples)
  })
})
