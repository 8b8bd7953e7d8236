/** Our loop against the expectations published in diffusers' tests/schedulers/test_scheduler_ddim.py. */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { beforeAll, describe, expect, it } from 'vitest'

import { type Denoiser, loadModel } from '../../../../src-main/engine/model/load'
import { runSampling } from '../../../../src-main/engine/run'
import { spacedTimesteps } from '../../../../src-main/engine/samplers/common'
import { ddim } from '../../../../src-main/engine/samplers/ddim'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../../src-main/engine/schedule'
import { DEFAULT_SAMPLER, type SamplerConfig } from '../../../../src-shared/parameters'
import timePairs from '../../../fixtures/lucidrains/time-pairs.json'
import { dummyModel } from '../../../fixtures/onnx-builder'

/** diffusers' dummy_sample_deter: arange(4*3*8*8) / n reshaped (C, H, W, B) and permuted to (B, C, H, W). */
function dummySampleDeter(): Float32Array {
  const [B, C, H, W] = [4, 3, 8, 8]
  const n = B * C * H * W
  const out = new Float32Array(n)
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++)
      for (let h = 0; h < H; h++)
        for (let w = 0; w < W; w++) out[((b * C + c) * H + h) * W + w] = (((c * H + h) * W + w) * B + b) / n
  return out
}

let model: Denoiser
beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'stepwise-'))
  await writeFile(join(dir, 'dummy.onnx'), dummyModel())
  model = await loadModel(join(dir, 'dummy.onnx'), { providers: ['cpu'] })
})

async function fullLoop(sampler: Partial<SamplerConfig>, betaStart = 0.0001) {
  const config: SamplerConfig = { ...DEFAULT_SAMPLER, sampler: 'ddim', steps: 10, eta: 0, clipSample: true, ...sampler }
  const r = await runSampling(model, {
    sampler: config,
    schedule: makeSchedule({ ...DEFAULT_SCHEDULE, betaStart }),
    seed: 0,
    batch: 4,
    height: 8,
    width: 8,
    initNoise: dummySampleDeter(),
  })
  const abs = r.samples.reduce((s, v) => s + Math.abs(v), 0)
  return { sum: abs, mean: abs / r.samples.length }
}

describe('ddim reproduces diffusers full loops through an ONNX model', () => {
  it('no noise (epsilon)', async () => {
    const { sum, mean } = await fullLoop({})
    expect(Math.abs(sum - 172.0067)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 0.223967)).toBeLessThan(1e-3)
  })
  it('v-prediction', async () => {
    const { sum, mean } = await fullLoop({ predictionType: 'v_prediction' })
    expect(Math.abs(sum - 52.5302)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 0.0684)).toBeLessThan(1e-3)
  })
  it('set_alpha_to_one with beta_start 0.01', async () => {
    const { sum, mean } = await fullLoop({ setAlphaToOne: true }, 0.01)
    expect(Math.abs(sum - 149.8295)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 0.1951)).toBeLessThan(1e-3)
  })
  it('no set_alpha_to_one with beta_start 0.01', async () => {
    const { sum, mean } = await fullLoop({ setAlphaToOne: false }, 0.01)
    expect(Math.abs(sum - 149.0784)).toBeLessThan(1e-2)
    expect(Math.abs(mean - 0.1941)).toBeLessThan(1e-3)
  })
})

describe('diffusers scheduler expectations', () => {
  it('steps_offset 1 with 5 steps gives [801, 601, 401, 201, 1]', () => {
    expect(spacedTimesteps(1000, 5, 'leading', 1)).toEqual([801, 601, 401, 201, 1])
  })
  it('trailing and linspace spacing round half to even like numpy', () => {
    // np.round(np.arange(1000, 0, -62.5)) - 1: 937.5 -> 938, 812.5 -> 812
    expect(spacedTimesteps(1000, 16, 'trailing').slice(0, 4)).toEqual([999, 937, 874, 811])
    expect(spacedTimesteps(1000, 10, 'trailing')).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99])
    expect(spacedTimesteps(1000, 4, 'linspace')).toEqual([999, 666, 333, 0])
    expect(spacedTimesteps(1000, 10, 'leading')).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0])
  })
  it('ddim variance matches test_variance (eq. 16 without eta)', () => {
    const { alphasCumprod: ab } = makeSchedule(DEFAULT_SCHEDULE)
    const variance = (t: number, p: number) => ((1 - ab[p]) / (1 - ab[t])) * (1 - ab[t] / ab[p])
    expect(Math.abs(variance(420, 400) - 0.14771)).toBeLessThan(1e-5)
    expect(Math.abs(variance(980, 960) - 0.3246)).toBeLessThan(1e-5)
    expect(Math.abs(variance(487, 486) - 0.00979)).toBeLessThan(1e-5)
    expect(Math.abs(variance(999, 998) - 0.02)).toBeLessThan(1e-5)
  })
  it('ddim steps from t to t - T // steps whatever the spacing (diffusers quirk)', () => {
    const sched = makeSchedule(DEFAULT_SCHEDULE)
    const s = ddim({ ...DEFAULT_SAMPLER, steps: 10, timestepSpacing: 'trailing', clipSample: false }, sched)
    const x = new Float32Array([0.5]),
      eps = new Float32Array([0.1])
    const out = s.step(eps, 0, x, 1).prevSample[0]
    const ab = sched.alphasCumprod,
      t = 999,
      p = 899
    const x0 = (0.5 - Math.sqrt(1 - ab[t]) * 0.1) / Math.sqrt(ab[t])
    expect(out).toBeCloseTo(Math.sqrt(ab[p]) * x0 + Math.sqrt(1 - ab[p]) * 0.1, 6)
  })
})

describe("use_clipped_model_output and lucidrains' ddim_sample", () => {
  const sched = makeSchedule(DEFAULT_SCHEDULE)
  const ab = sched.alphasCumprod
  const base = { ...DEFAULT_SAMPLER, steps: 10, timestepSpacing: 'trailing' as const, clipSample: true }
  // x0 = (x - sqrt(1 - ab) eps) / sqrt(ab) is far outside [-1, 1] at t = 999 for these values.
  const x = new Float32Array([0.5, -0.2])
  const eps = new Float32Array([-3, 0.1])

  it('re-derives the noise from the clipped x0 (GLIDE, diffusers DDIMScheduler.step), and only then', () => {
    const [t, p] = [999, 899]
    const x0 = Array.from(x, (xi, i) => (xi - Math.sqrt(1 - ab[t]) * eps[i]) / Math.sqrt(ab[t]))
    const clipped = x0.map((v) => Math.min(1, Math.max(-1, v)))
    expect(Math.abs(x0[0])).toBeGreaterThan(1)
    const model = ddim({ ...base, useClippedModelOutput: false }, sched).step(eps, 0, x, 2).prevSample
    const rederived = ddim({ ...base, useClippedModelOutput: true }, sched).step(eps, 0, x, 2).prevSample
    for (let i = 0; i < 2; i++) {
      const noise = (x[i] - Math.sqrt(ab[t]) * clipped[i]) / Math.sqrt(1 - ab[t])
      expect(rederived[i]).toBeCloseTo(Math.sqrt(ab[p]) * clipped[i] + Math.sqrt(1 - ab[p]) * noise, 5)
      expect(model[i]).toBeCloseTo(Math.sqrt(ab[p]) * clipped[i] + Math.sqrt(1 - ab[p]) * eps[i], 5)
    }
    // Without clipping there is nothing to re-derive: the same step either way.
    const unclipped = { ...base, clipSample: false }
    expect(ddim({ ...unclipped, useClippedModelOutput: true }, sched).step(eps, 0, x, 2).prevSample).toEqual(
      ddim({ ...unclipped, useClippedModelOutput: false }, sched).step(eps, 0, x, 2).prevSample,
    )
  })

  it("lucidrains spacing: torch's float32 linspace(-1, T - 1, N + 1).int() for every N torch 1.13 gave", () => {
    let checked = 0
    for (const [T, byN] of Object.entries(timePairs as Record<string, Record<string, number[]>>))
      for (const [N, expected] of Object.entries(byN)) {
        expect(spacedTimesteps(Number(T), Number(N), 'lucidrains'), `T=${T} N=${N}`).toEqual(expected)
        checked++
      }
    expect(checked).toBeGreaterThan(20)
    // 30 of 1000: 965 where trailing gives 966.
    expect(spacedTimesteps(1000, 30, 'lucidrains').slice(0, 3)).toEqual([999, 965, 932])
  })

  it('each lucidrains step goes to the next pair, the last to alpha-bar 1 (the clipped x0)', () => {
    const s = ddim({ ...base, steps: 3, timestepSpacing: 'lucidrains' }, sched)
    expect(s.timesteps).toEqual([999, 665, 332])
    const zero = new Float32Array([0])
    const x1 = new Float32Array([0.003])
    // eps = 0: x0 = x / sqrt(ab) (inside [-1, 1]); the step to the next pair scales by sqrt(ab_next / ab).
    expect(s.step(zero, 0, x1, 1).prevSample[0]).toBeCloseTo(0.003 * Math.sqrt(ab[665] / ab[999]), 6)
    expect(s.step(zero, 2, x1, 1).prevSample[0]).toBeCloseTo(0.003 / Math.sqrt(ab[332]), 6)
  })
})
