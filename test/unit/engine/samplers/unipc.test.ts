/**
 * Our UniPC against diffusers' UniPCMultistepScheduler:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_unipc.py (numbers copied from
 *    it; the 1-D test's sample is our (4, 3, 1, 8) image) through our loop with diffusers' dummy model. None
 *    needs torch's random numbers. Not reproduced: flow sigmas (not an option of ours) and the
 *    check_over_configs tests (a scheduler against its own saved copy; no numbers).
 * 2. Every model call's prev_sample and data prediction from diffusers' own scheduling_unipc_multistep.py
 *    on more configurations (test/fixtures/samplers/, make-sampler-reference.py), and its set_timesteps.
 */
import { describe, expect, it } from 'vitest'

import { makeSampler } from '../../../../src-main/engine/samplers/sampler'
import { solve, unipc } from '../../../../src-main/engine/samplers/unipc'
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

/** UniPCMultistepSchedulerTest.get_scheduler_config: order 2, bh2, sigma_min at the end. */
const testConfig = (over: Partial<SamplerConfig> = {}): SamplerConfig => ({
  ...configOf('unipc', { steps: 10 }),
  finalSigmas: 'sigma_min',
  ...over,
})
const mean = async (over: Partial<SamplerConfig>, opts: Parameters<typeof schedulerTestLoop>[2] = {}) =>
  (await schedulerTestLoop(model(), testConfig(over), opts)).mean
const oneD = { shape: [4, 3, 1, 8] as [number, number, number, number] }

describe("diffusers' test_scheduler_unipc.py full loops through our loop", () => {
  it('test_full_loop_no_noise (and test_switch): mean |x| 0.2464; 1-D 0.2441', async () => {
    expect(Math.abs((await mean({})) - 0.2464)).toBeLessThan(1e-3)
    expect(Math.abs((await mean({}, oneD)) - 0.2441)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_karras: 0.2925; 1-D 0.2898', async () => {
    expect(Math.abs((await mean({ sigmas: 'karras' })) - 0.2925)).toBeLessThan(1e-3)
    expect(Math.abs((await mean({ sigmas: 'karras' }, oneD)) - 0.2898)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_v_prediction: 0.1014; 1-D 0.1014', async () => {
    expect(Math.abs((await mean({ predictionType: 'v_prediction' })) - 0.1014)).toBeLessThan(1e-3)
    expect(Math.abs((await mean({ predictionType: 'v_prediction' }, oneD)) - 0.1014)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_karras_and_v_prediction: 0.1966; 1-D 0.1944', async () => {
    const over = { predictionType: 'v_prediction', sigmas: 'karras' } as const
    expect(Math.abs((await mean(over)) - 0.1966)).toBeLessThan(1e-3)
    expect(Math.abs((await mean(over, oneD)) - 0.1944)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_noise: add_noise at the 9th timestep, its 2 steps: sum 315.5757, mean 0.4109; 1-D 39.0870', async () => {
    const r = await schedulerTestLoop(model(), testConfig(), { from: 8, addNoise: true })
    expect(Math.abs(r.sum - 315.5757)).toBeLessThan(1e-2)
    expect(Math.abs(r.mean - 0.4109)).toBeLessThan(1e-3)
    const d = await schedulerTestLoop(model(), testConfig(), { from: 8, addNoise: true, ...oneD })
    expect(Math.abs(d.sum - 39.087)).toBeLessThan(1e-2)
    expect(Math.abs(d.mean - 0.4072)).toBeLessThan(1e-3)
  })
  it('test_solver_order_and_type: no NaN for bh1 and bh2, orders 1 to 3, epsilon and sample', async () => {
    for (const solverType of ['bh1', 'bh2'] as const)
      for (const solverOrder of [1, 2, 3])
        for (const predictionType of ['epsilon', 'sample'] as const) {
          const { samples } = await schedulerTestLoop(model(), testConfig({ solverType, solverOrder, predictionType }))
          expect(samples.every(Number.isFinite)).toBe(true)
        }
  })
})

// diffusers quirks, NaN there and here: bh1 or predict_x0 false with final sigma 0 (B(h) or e^h infinite,
// times 0), and order 3 without lower-order final steps with Karras and sigma_min (h = 0 in the last step).
const NAN_CASES = [
  'unipc-bh1-10',
  'unipc-order-3-bh1-25',
  'unipc-noise-bh1-10',
  'unipc-noise-order-3-25',
  'unipc-order-3-karras-sigma_min-no-lower-final-10',
]

describe("unipc matches diffusers' UniPCMultistepScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'unipc')
  it('has cases for every solver type, order, prediction form and sigma schedule', () => {
    expect(cases.length).toBeGreaterThanOrEqual(15)
  })
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    expectMatchesDiffusers(c, NAN_CASES)
  })

  it.each(
    reference.schedules
      .filter((c) => c.sampler === 'unipc')
      .map((c) => [`${JSON.stringify(c.config)} ${c.steps} steps`, c]),
  )('set_timesteps: %s', (_name, c) => {
    const { config, schedule } = oursOf('unipc', c.config, c.steps)
    const s = unipc(config, schedule)
    expect(s.timesteps).toEqual(c.timesteps)
    s.sigmas!.forEach((v, i) => expect(Math.abs(v - c.sigmas[i])).toBeLessThanOrEqual(4e-7 * c.sigmas[i]))
  })

  it('lowers the last step to first order at every step count (diffusers quirk), not only under 15', () => {
    // With lower_order_final the last step of 20 is first order: the same run with it off differs there only.
    const c = reference.cases.find((c) => c.name === 'unipc-no-lower-final-sigma_min-20')!
    const { config, schedule } = oursOf('unipc', c.config, c.steps)
    const xT = npy('x_T.npy').data
    const withLower: Float32Array[] = []
    const without: Float32Array[] = []
    pipelineLoop(makeSampler({ ...config, lowerOrderFinal: true }, schedule), xT, 3, (r) =>
      withLower.push(r.prevSample),
    )
    pipelineLoop(makeSampler(config, schedule), xT, 3, (r) => without.push(r.prevSample))
    expect(withLower.slice(0, 19)).toEqual(without.slice(0, 19))
    expect(withLower[19]).not.toEqual(without[19])
  })

  it('solves the 3x3 systems of the order-3 corrector as torch.linalg.solve does', () => {
    const x = solve(
      [
        [1, 1, 1],
        [2, -1, 1],
        [4, 1, 1],
      ],
      [6, 3, 9],
    )
    x.forEach((v, i) => expect(v).toBeCloseTo([1, 2, 3][i], 12))
  })
})
