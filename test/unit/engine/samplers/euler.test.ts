/**
 * Our Euler against diffusers' EulerDiscreteScheduler, in three parts:
 *
 * 1. The full-loop expectations of diffusers' tests/schedulers/test_scheduler_euler.py, numbers copied from
 *    it. Its loop assigns scale_model_input's result to `sample` and steps from it, which no pipeline does,
 *    so these run that loop with our sampler rather than through runSampling; none needs torch's random
 *    numbers (s_churn is 0: no noise). Not reproduced: the custom timesteps and sigmas loops (we take
 *    neither) and check_over_configs (a scheduler against its own saved copy; no numbers).
 * 2. Every model call's prev_sample and pred_original_sample from diffusers' own scheduling_euler_discrete.py
 *    in a pipeline's loop on more configurations (test/fixtures/samplers/), and set_timesteps lists; and
 *    that loop through ours (runSampling) end to end.
 * 3. Fractional timesteps reach the model as its timestep input takes them.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { loadModel, toHalf } from '../../../../src-main/engine/model/load'
import { euler } from '../../../../src-main/engine/samplers/euler'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../../src-main/engine/schedule'
import { configOf, type SamplerConfig } from '../../../../src-shared/parameters'
import { buildOnnx } from '../../../fixtures/onnx-builder'
import {
  compareCase,
  diffusersTestLoop,
  oursOf,
  reference,
  runCaseThroughOurLoop,
} from '../../../fixtures/samplers/reference'

/** EulerDiscreteSchedulerTest.get_scheduler_config: 1100 training timesteps, linear 1e-4..0.02. */
const schedule1100 = makeSchedule({ ...DEFAULT_SCHEDULE, trainSteps: 1100 })
const testConfig = (over: Partial<SamplerConfig> = {}) => ({ ...configOf('euler', { steps: 10 }), ...over })

describe("diffusers' test_scheduler_euler.py full loops", () => {
  it('test_full_loop_no_noise: sum 10.0807, mean 0.0131', () => {
    const { sum, mean } = diffusersTestLoop(euler(testConfig(), schedule1100))
    expect(Math.abs(sum - 10.0807)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 0.0131)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_v_prediction: sum 0.0002, mean 2.2676e-06', () => {
    const { sum, mean } = diffusersTestLoop(euler(testConfig({ predictionType: 'v_prediction' }), schedule1100))
    expect(Math.abs(sum - 0.0002)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 2.2676e-6)).toBeLessThan(1e-3)
  })
  it('test_full_loop_device_karras_sigmas: sum 124.52299499511719, mean 0.16213932633399963', () => {
    const { sum, mean } = diffusersTestLoop(euler(testConfig({ sigmas: 'karras' }), schedule1100))
    expect(Math.abs(sum - 124.52299499511719)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 0.16213932633399963)).toBeLessThan(1e-3)
  })
  it('test_full_loop_with_noise: add_noise at the 9th timestep, its last 2 steps: sum 57062.9297, mean 74.3007', () => {
    const full = euler(testConfig(), schedule1100)
    const start = { startAt: full.timesteps[8], sigma: full.sigmas![8] }
    const { sum, mean } = diffusersTestLoop(euler(testConfig(), schedule1100, start), { noiseSigma: start.sigma })
    expect(Math.abs(sum - 57062.9297)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 74.3007)).toBeLessThan(1e-3)
  })
})

describe("euler matches diffusers' EulerDiscreteScheduler call by call", () => {
  const cases = reference.cases.filter((c) => c.sampler === 'euler')
  it.each(cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    const r = compareCase(c)
    // float32 timesteps, fractional for linspace spacing and for sigmas from Karras & co. (within the
    // float32 rounding of the sigmas they are read back from).
    r.sampler.timesteps.forEach((t, i) => expect(Math.abs(t - c.timesteps[i])).toBeLessThan(2e-4))
    r.sampler.sigmas!.forEach((s, i) => expect(Math.abs(s - c.sigmas[i])).toBeLessThanOrEqual(4e-7 * c.sigmas[i]))
    expect(Math.abs(r.sampler.initNoiseSigma / c.init_noise_sigma - 1)).toBeLessThan(4e-7)
    // cosine's sigma_max is 2e4: its float32 rounding carries into the next steps.
    const tolerance = c.name.includes('cosine') ? 1e-4 : 1e-5
    expect(r.maxRelDiff.prevSample).toBeLessThan(tolerance)
    expect(r.maxRelDiff.predictedX0).toBeLessThan(tolerance)
  })

  it.each(['euler-10', 'euler-karras-10', 'euler-v-10'])(
    '%s through our loop (runSampling, a float32-timestep ONNX dummy model)',
    async (name) => {
      const { final, expected } = await runCaseThroughOurLoop(name)
      final.forEach((v, j) => expect(Math.abs(v - expected[j])).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected[j]))))
    },
  )

  it.each(
    reference.schedules.filter((c) => c.sampler === 'euler').map((c) => [`${JSON.stringify(c.config)} ${c.steps}`, c]),
  )('set_timesteps: %s', (_name, c) => {
    const { config, schedule } = oursOf('euler', c.config, c.steps)
    const s = euler(config, schedule)
    expect(s.timesteps).toHaveLength(c.timesteps.length)
    s.timesteps.forEach((t, i) => expect(Math.abs(t - c.timesteps[i])).toBeLessThan(2e-4))
  })

  it('linspace timesteps are fractional; leading spacing scales x_T by sqrt(sigma_max^2 + 1)', () => {
    const linear = makeSchedule(DEFAULT_SCHEDULE)
    expect(euler(testConfig({ steps: 10 }), linear).timesteps.slice(0, 3)).toEqual([999, 888, 777].map(Math.fround))
    expect(euler(testConfig({ steps: 4 }), linear).timesteps).toEqual([999, 666, 333, 0])
    expect(euler(testConfig({ steps: 7 }), linear).timesteps[1]).toBe(Math.fround(832.5))
    const leading = euler(testConfig({ timestepSpacing: 'leading' }), linear)
    const s0 = leading.sigmas![0]
    expect(leading.initNoiseSigma).toBeCloseTo(Math.sqrt(s0 * s0 + 1), 4)
  })
})

describe('fractional timesteps reach the model as its timestep input takes them', () => {
  /** A graph that answers the timestep it was given, as float32, in every value of the output. */
  const echo = (dtype: 'int64' | 'int32' | 'float32' | 'float16') =>
    buildOnnx({
      inputs: [
        { name: 'x', dtype: 'float32', shape: ['B', 1, 'H', 'W'] },
        { name: 't', dtype, shape: ['B'] },
      ],
      outputs: [{ name: 'y', dtype: 'float32', shape: ['B', 1, 'H', 'W'] }],
      initializers: [
        { name: 'zero', dims: [], data: new Float32Array([0]) },
        { name: 'shape', dims: [4], data: new BigInt64Array([-1n, 1n, 1n, 1n]) },
      ],
      nodes: [
        { op: 'Cast', inputs: ['t'], outputs: ['tf'], attrs: { to: 1 } },
        { op: 'Reshape', inputs: ['tf', 'shape'], outputs: ['t4'] },
        { op: 'Mul', inputs: ['x', 'zero'], outputs: ['z'] },
        { op: 'Add', inputs: ['z', 't4'], outputs: ['y'] },
      ],
    })

  it('float32 as is, integers rounded half to even, float16 to the nearest half', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stepwise-t-'))
    const seen: Record<string, number[]> = {}
    for (const dtype of ['float32', 'int64', 'int32', 'float16'] as const) {
      await writeFile(join(dir, `${dtype}.onnx`), echo(dtype))
      const model = await loadModel(join(dir, `${dtype}.onnx`), { providers: ['cpu'] })
      const shape = { batch: 1, channels: 1, height: 1, width: 1 }
      seen[dtype] = []
      for (const t of [887.7777709960938, 2.5, 3.5, 0.25])
        seen[dtype].push((await model.predict(new Float32Array(1), shape, t))[0])
      await model.release()
    }
    expect(seen.float32).toEqual([887.7777709960938, 2.5, 3.5, 0.25])
    expect(seen.int64).toEqual([888, 2, 4, 0])
    expect(seen.int32).toEqual([888, 2, 4, 0])
    expect(seen.float16).toEqual([888, 2.5, 3.5, 0.25])
  })

  it('toHalf gives the bits numpy.float16 does', () => {
    // np.array([v], dtype=np.float16).view(np.uint16) for each v.
    const numpy: [number, number][] = [
      [0, 0],
      [1, 15360],
      [3, 16896],
      [999, 25550],
      [2047, 26623],
      [2049, 26624],
      [887.7777709960938, 25328],
      [0.1, 11878],
      [1e-5, 168],
      [6e-8, 1],
      [65504, 31743],
      [123.456, 22455],
      [1023.75, 25600],
      [1024.5, 25600],
      [1025.5, 25602],
    ]
    for (const [v, bits] of numpy) expect([v, toHalf(v)]).toEqual([v, bits])
  })
})
