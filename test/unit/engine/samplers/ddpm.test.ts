/**
 * Our DDPM against diffusers' DDPMScheduler, in two parts:
 *
 * 1. The expectations of diffusers' tests/schedulers/test_scheduler_ddpm.py that need no torch random numbers,
 *    with the numbers copied from it.
 * 2. Step-by-step outputs of diffusers' own scheduling_ddpm.py (prev_sample and pred_original_sample of every
 *    step, set_timesteps lists), saved by test/fixtures/ddpm/make-ddpm-reference.py with the noise of every
 *    step supplied by us; see test/fixtures/ddpm/README.md.
 *
 * Not reproduced: test_full_loop_no_noise (sum 258.9606, mean 0.3372), test_full_loop_with_v_prediction
 * (202.0296, 0.2631) and test_full_loop_with_noise (387.9466, 0.5051). Despite the first one's name, every
 * step with t > 0 draws its noise from torch.manual_seed(0), which we do not have. The fixture generator runs
 * those three loops through its stand-ins for diffusers and checks it gets these numbers, which shows that
 * diffusers' scheduler code runs there as in diffusers' own suite. The check_over_configs / check_over_forward
 * tests (test_timesteps, test_betas, test_schedules, test_variance_type, test_clip_sample, test_thresholding,
 * test_prediction_type, test_time_indices, test_rescale_betas_zero_snr) compare a scheduler with its own
 * saved-and-reloaded copy and publish no numbers. The fixture cases run the same settings instead: 1, 5,
 * 100 and 1000 training steps, linear/squaredcos_cap_v2/sigmoid/scaled_linear, fixed_small/fixed_large,
 * clipping on and off, thresholding at sample_max_value 0.5, 1.5 and 2, all three prediction types, and
 * zero terminal SNR.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { EngineError } from '../../../../src-main/engine/errors'
import { readNpy } from '../../../../src-main/engine/npy'
import { clipPredictedX0 } from '../../../../src-main/engine/samplers/common'
import { ddpm } from '../../../../src-main/engine/samplers/ddpm'
import { DEFAULT_SCHEDULE, makeSchedule, parseScheduleName, type Schedule } from '../../../../src-main/engine/schedule'
import type { PredictionType, TimestepSpacing, VarianceType } from '../../../../src-shared/names'
import { DEFAULT_SAMPLER, type SamplerConfig } from '../../../../src-shared/parameters'

const fixtures = join(import.meta.dirname, '..', '..', '..', 'fixtures', 'ddpm')
const npy = (name: string) => readNpy(new Uint8Array(readFileSync(join(fixtures, name))), name)

/** DDPMScheduler's config as diffusers records it (every __init__ argument but trained_betas). */
interface DiffusersConfig {
  num_train_timesteps: number
  beta_start: number
  beta_end: number
  beta_schedule: string
  variance_type: VarianceType
  clip_sample: boolean
  prediction_type: PredictionType
  thresholding: boolean
  dynamic_thresholding_ratio: number
  clip_sample_range: number
  sample_max_value: number
  timestep_spacing: TimestepSpacing
  steps_offset: number
  rescale_betas_zero_snr: boolean
}

interface Reference {
  shape: number[]
  cases: {
    name: string
    config: DiffusersConfig
    steps: number
    /** Where a fork starts; diffusers ran it as custom timesteps. */
    start_at: number | null
    /** diffusers' scheduler.timesteps. */
    timesteps: number[]
    /** How many times step() drew noise. */
    draws: number
    file: string
  }[]
  /** diffusers' set_timesteps(steps).timesteps for step counts where numpy's arithmetic matters. */
  spacing: { train: number; spacing: TimestepSpacing; offset: number; steps: number; timesteps: number[] }[]
  /** SHA-256 of the JSON list of set_timesteps lists for every step count in `steps` (inclusive). */
  spacing_digests: {
    train: number
    spacing: TimestepSpacing
    offset: number
    steps: [number, number]
    sha256: string
    /** Step counts where diffusers appends an extra timestep -1 (left out of the digest). */
    extra_minus_one: number[]
  }[]
}

const reference = JSON.parse(readFileSync(join(fixtures, 'reference.json'), 'utf8')) as Reference

function ours(c: DiffusersConfig, steps: number): { config: SamplerConfig; schedule: Schedule } {
  const name = parseScheduleName(c.beta_schedule)
  if (!name) throw new Error(`no schedule named ${c.beta_schedule}`)
  const schedule = makeSchedule({
    schedule: name,
    trainSteps: c.num_train_timesteps,
    betaStart: c.beta_start,
    betaEnd: c.beta_end,
    rescaleZeroSnr: c.rescale_betas_zero_snr,
  })
  const config: SamplerConfig = {
    ...DEFAULT_SAMPLER,
    sampler: 'ddpm',
    steps,
    timestepSpacing: c.timestep_spacing,
    stepsOffset: c.steps_offset,
    predictionType: c.prediction_type,
    clipSample: c.clip_sample,
    clipSampleRange: c.clip_sample_range,
    thresholding: c.thresholding,
    dynamicThresholdingRatio: c.dynamic_thresholding_ratio,
    sampleMaxValue: c.sample_max_value,
    varianceType: c.variance_type,
  }
  return { config, schedule }
}

/** diffusers' SchedulerCommonTest.dummy_model, sample * t / (t + 1), rounded to float32 after each op as torch does. */
const dummyModel = (x: Float32Array, t: number) => x.map((v) => Math.fround(Math.fround(v * t) / (t + 1)))

/** diffusers' DDPMSchedulerTest.get_scheduler_config: fixed_small, clip_sample; its betas are `linear` below. */
const testConfig = (over: Partial<SamplerConfig> = {}): SamplerConfig => ({
  ...DEFAULT_SAMPLER,
  sampler: 'ddpm',
  steps: 1000,
  varianceType: 'fixed_small',
  clipSample: true,
  ...over,
})
/** linear betas 0.0001..0.02 over 1000 training steps, as in get_scheduler_config. */
const linear = makeSchedule(DEFAULT_SCHEDULE)

/**
 * The noise a step adds for unit noise: from x_t = 0 with model output 0 the posterior mean is 0, so
 * x_{t-1} = sqrt(variance) * 1 for every value.
 */
function noiseScale(config: SamplerConfig, index: number, start?: number): number {
  const s = ddpm(config, linear, { startAt: start })
  const zero = new Float32Array(4)
  return s.step(zero, index, zero, 4, new Float32Array(4).fill(1)).prevSample[0]
}

describe("diffusers' test_scheduler_ddpm.py", () => {
  it("ddpm reproduces diffusers' _get_variance at t = 0, 487, 999 (test_variance)", () => {
    // test_variance: _get_variance(t) of a scheduler without set_timesteps, whose previous timestep is t - 1:
    // our 1000-step run. |variance - 0.0| < 1e-5 at t = 0, 0.00979 at 487, 0.02 at 999.
    const config = testConfig()
    const s = ddpm(config, linear)
    const variance = (t: number) => noiseScale(config, s.timesteps.indexOf(t)) ** 2
    expect(Math.abs(variance(0) - 0)).toBeLessThan(1e-5)
    expect(Math.abs(variance(487) - 0.00979)).toBeLessThan(1e-5)
    expect(Math.abs(variance(999) - 0.02)).toBeLessThan(1e-5)
  })

  it('ddpm steps to the next timestep of its list, and from the last to alpha-bar 1 (previous_timestep)', () => {
    // test_custom_timesteps: with custom timesteps [100, 87, 50, 1, 0], previous_timestep(timesteps[i]) is
    // timesteps[i + 1], and -1 (alpha-bar 1) for the last. Our custom timesteps are a fork's: its start, then
    // the spacing's timesteps below it. fixed_large adds noise of variance beta_t = 1 - ab[t] / ab[prev], so
    // the step reveals which alpha-bar it stepped to. steps_offset 1 makes the last timestep 1, which draws noise.
    const config = testConfig({ steps: 10, stepsOffset: 1, varianceType: 'fixed_large' })
    const s = ddpm(config, linear, { startAt: 487 })
    expect(s.timesteps).toEqual([487, 401, 301, 201, 101, 1])
    const ab = linear.alphasCumprod
    const candidates = [1, ...ab] // index p + 1 holds alpha-bar of timestep p; timestep -1 has alpha-bar 1
    const previous = s.timesteps.map((t, i) => {
      const abPrev = ab[t] / (1 - noiseScale(config, i, 487) ** 2)
      const diffs = candidates.map((a) => Math.abs(a - abPrev))
      return diffs.indexOf(Math.min(...diffs)) - 1
    })
    expect(previous).toEqual([401, 301, 201, 101, 1, -1])
  })

  it('ddpm refuses a start at num_train_timesteps (test_custom_timesteps_too_large)', () => {
    // test_custom_timesteps_too_large: set_timesteps(timesteps=[1000]) raises ValueError. The other
    // custom-timestep errors (ascending lists, both num_inference_steps and timesteps) have no counterpart:
    // our only custom timesteps are a fork's, descending by construction.
    expect(() => ddpm(testConfig({ steps: 10 }), linear, { startAt: 1000 })).toThrow(EngineError)
    expect(() => ddpm(testConfig({ steps: 10 }), linear, { startAt: 999 })).not.toThrow()
  })

  it('ddpm refuses more steps than training timesteps, as set_timesteps does', () => {
    // set_timesteps: "`num_inference_steps`: ... cannot be larger than `self.config.train_timesteps`".
    expect(() => ddpm(testConfig({ steps: 1001 }), linear)).toThrow(/cannot exceed/)
    expect(ddpm(testConfig({ steps: 1000 }), linear).timesteps).toHaveLength(1000)
    const short = makeSchedule({ ...DEFAULT_SCHEDULE, trainSteps: 100 })
    expect(() => ddpm(testConfig({ steps: 101 }), short)).toThrow(/cannot exceed/)
  })
})

/**
 * The size of the terms predicted x0 is computed from. With epsilon-prediction at high t, x_t and
 * sqrt(1 - ab) eps nearly cancel, so float32 rounding of the terms alone moves x0 by ~2^-24 of this:
 * 2e-5 at t = 960 (linear), where a float64 evaluation differs from diffusers' float32 one by as much.
 */
function x0Terms(type: PredictionType, x: number, m: number, ab: number): number {
  if (type === 'epsilon') return (Math.abs(x) + Math.sqrt(1 - ab) * Math.abs(m)) / Math.sqrt(ab)
  if (type === 'v_prediction') return Math.sqrt(ab) * Math.abs(x) + Math.sqrt(1 - ab) * Math.abs(m)
  return Math.abs(m)
}
/** Two float32 roundings (2^-24 each, relative) of x0's terms, on top of the 1e-5 tolerance. */
const FLOAT32_ROUNDING = 2 ** -23

describe("ddpm matches diffusers' DDPMScheduler step by step", () => {
  const xT = npy('x_T.npy')
  const noise = npy('noise.npy')
  const perImage = reference.shape.slice(1).reduce((a, b) => a * b, 1)
  const size = xT.data.length

  it.each(reference.cases.map((c) => [c.name, c]))('%s', (_name, c) => {
    const { config, schedule } = ours(c.config, c.steps)
    const s = ddpm(config, schedule, { startAt: c.start_at ?? undefined })
    expect(s.timesteps).toEqual(c.timesteps)
    const expected = npy(c.file)
    expect(expected.shape).toEqual([c.timesteps.length, 2, ...reference.shape])

    let sample = xT.data
    let draws = 0
    let worstPrev = 0
    let worstX0 = 0
    for (let i = 0; i < s.timesteps.length; i++) {
      const t = s.timesteps[i]
      const stepNoise = s.isStochastic(i) ? noise.data.subarray(draws * size, ++draws * size) : undefined
      const m = dummyModel(sample, t)
      const r = s.step(m, i, sample, perImage, stepNoise)
      // diffusers' pred_original_sample is x0 after clipping or thresholding; ours is before, and the
      // sampler clips with clipPredictedX0.
      const x0 = clipPredictedX0(r.predictedX0, config, perImage)
      const prev = expected.data.subarray(2 * i * size, (2 * i + 1) * size)
      const ref0 = expected.data.subarray((2 * i + 1) * size, (2 * i + 2) * size)
      const ab = schedule.alphasCumprod[t]
      for (let j = 0; j < size; j++) {
        // Both float32; diffusers' alpha-bars are float32 cumprods, ours float64.
        worstPrev = Math.max(worstPrev, Math.abs(r.prevSample[j] - prev[j]) / Math.max(1, Math.abs(prev[j])))
        const slack = FLOAT32_ROUNDING * x0Terms(config.predictionType, sample[j], m[j], ab)
        worstX0 = Math.max(worstX0, (Math.abs(x0[j] - ref0[j]) - slack) / Math.max(1, Math.abs(ref0[j])))
      }
      sample = r.prevSample
    }
    // Noise exactly where diffusers draws it (every step with t > 0), in the same order.
    expect(draws).toBe(c.draws)
    expect(worstPrev).toBeLessThan(1e-5)
    expect(worstX0).toBeLessThan(1e-5)
  })
})

describe("ddpm's timesteps are diffusers' set_timesteps", () => {
  const timesteps = (train: number, spacing: TimestepSpacing, offset: number, steps: number) => {
    const schedule = makeSchedule({ ...DEFAULT_SCHEDULE, trainSteps: train })
    return ddpm(testConfig({ steps, timestepSpacing: spacing, stepsOffset: offset }), schedule).timesteps
  }

  it.each(reference.spacing.map((c) => [`${c.spacing} ${c.steps} of ${c.train}, steps_offset ${c.offset}`, c]))(
    '%s',
    (_name, c) => {
      // diffusers' trailing spacing sometimes appends a step at timestep -1 (np.arange's length rounding up);
      // it would sample at alphas_cumprod[-1], the last. We leave it out.
      const expected =
        c.timesteps.length === c.steps + 1 && c.timesteps.at(-1) === -1 ? c.timesteps.slice(0, -1) : c.timesteps
      expect(timesteps(c.train, c.spacing, c.offset, c.steps)).toEqual(expected)
    },
  )

  it.each(
    reference.spacing_digests.map((d) => [`${d.spacing} 1..${d.steps[1]} of ${d.train}, steps_offset ${d.offset}`, d]),
  )('every step count: %s', (_name, d) => {
    const lists: number[][] = []
    for (let n = d.steps[0]; n <= d.steps[1]; n++) {
      const ts = timesteps(d.train, d.spacing, d.offset, n)
      expect(ts).toHaveLength(n)
      lists.push(ts)
    }
    expect(createHash('sha256').update(JSON.stringify(lists)).digest('hex')).toBe(d.sha256)
  })

  it('a steps_offset that would start at timestep num_train_timesteps is refused', () => {
    // diffusers' leading spacing with steps = T and steps_offset 1 starts at timestep T; its first step then
    // fails indexing alphas_cumprod[T] (IndexError). We refuse it up front.
    expect(() => timesteps(1000, 'leading', 1, 1000)).toThrow(EngineError)
    expect(timesteps(1000, 'leading', 1, 999)[0]).toBe(999)
  })
})
