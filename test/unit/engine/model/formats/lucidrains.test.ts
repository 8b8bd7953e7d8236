/**
 * lucidrains checkpoints load as models: DDIM-20 with no options reproduces the peer's own ddim_sample (1e-3)
 * from Trainer.save's model-N.pt alone (EMA weights, its timestep pairs, x0 clipped and the noise re-derived,
 * self-conditioning fed back), the Unet and the objective are inferred and said so, and what is not a
 * Trainer checkpoint says what it is. ElucidatedDiffusion and ContinuousTimeGaussianDiffusion sample as the
 * library's own samplers do over their virtual schedules, and a Unet alone with a sidecar's schedule.
 */
import { readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import { beforeAll, describe, expect, it } from 'vitest'

import { encodePixelsPng } from '../../../../../src-main/engine/export/png'
import { LOG_SNR, logSnrTable } from '../../../../../src-main/engine/model/formats/lucidrains-continuous'
import { objectiveOf } from '../../../../../src-main/engine/model/formats/lucidrains-diffusion'
import { loadModel, type LoadOptions } from '../../../../../src-main/engine/model/load'
import { trainingOf } from '../../../../../src-main/engine/model/training'
import { modelFacts, type PlanRequest, planRun } from '../../../../../src-main/engine/plan'
import { runSampling, type StepFrame } from '../../../../../src-main/engine/run'
import { makeSampler } from '../../../../../src-main/engine/samplers/sampler'
import { makeSchedule, namedScheduleOf } from '../../../../../src-main/engine/schedule'
import { sourceLabel } from '../../../../../src-shared/model'
import { modelCalls } from '../../../../fixtures/ode-distance'
import { cli } from '../../../cli/capture'
import { ddim20, FIXTURES, maxDiff, npy } from './peer-sampling'

const PEER = join(FIXTURES, 'peers', 'lucidrains', 'cosine-eps-gray28')
const OWN = join(FIXTURES, 'lucidrains')
const WEIGHTS = join(FIXTURES, 'diffusers', 'weights')

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepwise-lucidrains-'))
})

/** DDIM 20 steps eta 0 from x_T.npy, and the reference of the weights asked for. */
async function reproduces(folder: string, options: LoadOptions = {}, checkpoint = join(folder, 'model-3.pt')) {
  const xT = await npy(join(folder, 'x_T.npy'))
  const reference = options.weights === 'online' ? 'ddim20_ref_online_model.npy' : 'ddim20_ref.npy'
  const ref = await npy(join(folder, reference))
  const run = await ddim20(checkpoint, xT, undefined, options)
  return { ...run, diff: maxDiff(run.samples, ref.data) }
}

const LUCIDRAINS_20 = [999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 499, 449, 399, 349, 299, 249, 199, 149, 99, 49]

describe("Trainer.save's model-N.pt samples as its ddim_sample does, from the checkpoint alone", () => {
  it("the peers' cosine-eps-gray28: the EMA weights, its time pairs, within 1e-3", async () => {
    const { diff, plan, model } = await reproduces(PEER)
    console.log(`ddim20 cosine-eps-gray28: max diff ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-3)
    expect(plan.timesteps).toEqual(LUCIDRAINS_20)
    expect(plan.parameters.sampler).toMatchObject({
      timestepSpacing: 'lucidrains',
      clipSample: true,
      useClippedModelOutput: true,
      predictionType: 'epsilon',
    })
    expect(plan.parameters.schedule).toMatchObject({ schedule: 'custom', trainSteps: 1000 })
    expect(model.info.layout).toBe('lucidrains-checkpoint')
    expect(plan.parameters.model).toBe('model-3.pt')
    const facts = Object.fromEntries(model.info.source.facts.map((f) => [f.key, f]))
    expect(facts.weights).toMatchObject({ value: 'ema', from: 'checkpoint' })
    expect(facts.beta_schedule).toMatchObject({ value: 'cosine', from: 'checkpoint' })
    expect(facts.objective).toMatchObject({ value: 'pred_noise', from: 'checkpoint', why: 'loss_weight' })
    expect(facts.dim_mults).toMatchObject({ value: '(1, 2, 2)', from: 'weights' })
    expect(facts.full_attn).toMatchObject({ value: '(False, False, True)', from: 'weights' })
    expect(model.info.source.parameters).toBe(319_681)
    expect(sourceLabel(model.info.source)).toBe('lucidrains denoising-diffusion-pytorch Unet')
  })

  it('the online weights when asked (--weights online), which differ from the EMA by up to 0.47', async () => {
    const { diff, plan, model } = await reproduces(PEER, { weights: 'online' })
    console.log(`ddim20 cosine-eps-gray28 online: max diff ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-3)
    // The same file (the same model hash) holds the EMA's too: the name, so every run's parameters, says which.
    expect(plan.parameters.model).toBe('model-3.pt (online weights)')
    expect(plan.parameters.modelHash).toBe(model.info.hash)
    // The app offers the other set where a checkpoint holds both.
    expect(model.info.weights).toEqual({ taken: 'online', both: true })
    expect((await reproduces(PEER)).model.info.weights).toEqual({ taken: 'ema', both: true })
  })

  it('a sidecar that names the model: the online weights are still named apart', async () => {
    const folder = join(dir, 'named')
    await mkdir(folder, { recursive: true })
    await copyFile(join(PEER, 'model-3.pt'), join(folder, 'model-3.pt'))
    await writeFile(join(folder, 'model-3.json'), JSON.stringify({ name: 'gray digits', sample_size: 28 }))
    const names = await Promise.all(
      (['ema', 'online'] as const).map(async (weights) => {
        const model = await loadModel(join(folder, 'model-3.pt'), { providers: ['cpu'], weights })
        await model.release()
        return model.info.name
      }),
    )
    expect(names).toEqual(['gray digits', 'gray digits (online weights)'])
  })

  for (const [name, expected] of [
    // pred_x0, linear betas, stages (1, 2, 4)
    ['x0-linear', { objective: 'pred_x0', beta_schedule: 'linear (beta 0.0001..0.02)', dim_mults: '(1, 2, 4)' }],
    // pred_v (the default), lucidrains' sigmoid of its own shape at T = 500, min-SNR weights, attention per stage
    [
      'v-sigmoid-attn',
      {
        objective: 'pred_v',
        beta_schedule: 'custom',
        min_snr_gamma: '5',
        full_attn: '(False, True, False, True)',
        attn_heads: '(2, 2, 4, 2)',
        attn_dim_head: '(8, 4, 8, 8)',
      },
    ],
    // full attention at every stage, pred_v, cosine at T = 300 (its time pairs 299, 284, ..., 14)
    ['full-attn', { full_attn: '(True, True)', objective: 'pred_v', beta_schedule: 'cosine', timesteps: '300' }],
    // self-conditioning with an init_dim of its own, one channel
    [
      'self-cond',
      {
        self_condition: 'true',
        x_self_cond: "the previous step's clipped x0",
        init_dim: '12',
        channels: '1',
        objective: 'pred_noise',
      },
    ],
    // LearnedGaussianDiffusion: twice the channels out, the first half the noise, the noise not re-derived
    ['learned-variance', { learned_variance: 'true', use_clipped_model_output: 'false' }],
  ] as const) {
    it(`${name}: within 1e-3 of the peer's ddim_sample, with ${Object.keys(expected).join(', ')} inferred`, async () => {
      const { diff, model, plan } = await reproduces(join(OWN, name))
      console.log(`ddim20 ${name}: max diff ${diff.toExponential(2)}`)
      expect(diff).toBeLessThan(1e-3)
      expect(plan.timesteps).toHaveLength(20)
      const facts = Object.fromEntries(model.info.source.facts.map((f) => [f.key, f.value]))
      expect(facts).toMatchObject(expected)
    })
  }

  it("a GaussianDiffusion's state_dict saved by hand: one set of weights, the online model's", async () => {
    const folder = join(OWN, 'x0-linear')
    const { diff, model } = await reproduces(folder, { weights: 'online' }, join(folder, 'diffusion-state-dict.pt'))
    expect(diff).toBeLessThan(1e-3)
    expect(model.info.source.facts.find((f) => f.key === 'weights')).toMatchObject({ value: 'online' })
    expect(model.info.name).toBe('diffusion-state-dict.pt') // its only weights: nothing to tell apart
    expect(model.info.weights).toEqual({ taken: 'online', both: false })
    await expect(loadModel(join(folder, 'diffusion-state-dict.pt'), { weights: 'ema' })).rejects.toThrow(
      "diffusion-state-dict.pt: a state_dict with one set of weights, no EMA's",
    )
  })

  it("a Unet's state_dict alone: refused without, sampled with a sidecar stating its schedule and prediction", async () => {
    const own = join(dir, 'unet-alone')
    await mkdir(own)
    const checkpoint = join(own, 'unet.pt')
    await copyFile(join(OWN, 'x0-linear', 'unet-state-dict.pt'), checkpoint)
    await expect(loadModel(checkpoint)).rejects.toThrow(
      `${checkpoint}: a Unet's state_dict without its GaussianDiffusion (no alphas_cumprod, no loss_weight): the schedule and objective are unknown; save the Trainer's checkpoint or the GaussianDiffusion's state_dict, or give beta_schedule (or alphas_cumprod) and prediction_type in unet.json`,
    )
    await writeFile(join(own, 'unet.json'), JSON.stringify({ beta_schedule: 'linear' }))
    await expect(loadModel(checkpoint)).rejects.toThrow(/or give prediction_type in unet\.json$/)
    // x0-linear's online Unet: T = 1000 linear betas, pred_x0. As its GaussianDiffusion samples it.
    await writeFile(join(own, 'unet.json'), JSON.stringify({ beta_schedule: 'linear', prediction_type: 'sample' }))
    const { diff, model, plan } = await reproduces(join(OWN, 'x0-linear'), { weights: 'online' }, checkpoint)
    console.log(`ddim20 x0-linear, the Unet alone: max diff ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-3)
    expect(plan.timesteps).toEqual(LUCIDRAINS_20)
    const facts = Object.fromEntries(model.info.source.facts.map((f) => [f.key, f]))
    expect(facts.weights).toMatchObject({ value: 'online', why: "a Unet's state_dict, alone" })
    expect(facts.beta_schedule).toMatchObject({ value: 'linear', from: 'config', why: 'unet.json' })
    expect(facts.objective).toMatchObject({ value: 'pred_x0', from: 'config' })
    expect(facts.dim_mults).toMatchObject({ value: '(1, 2, 4)', from: 'weights' })
    await expect(loadModel(checkpoint, { weights: 'ema' })).rejects.toThrow(
      "unet.pt: a state_dict with one set of weights, no EMA's",
    )
  })

  it('the schedule is the alphas_cumprod buffer exactly, named where a schedule fits it', async () => {
    const model = await loadModel(join(OWN, 'v-sigmoid-attn', 'model-3.pt'), { providers: ['cpu'] })
    await model.release()
    const t = trainingOf(model.info)
    expect(t.schedule).toMatchObject({ schedule: 'custom', trainSteps: 500 })
    expect(t.alphasCumprod![499]).toBe(Math.fround(2.0668193201345275e-7))
    expect(model.info.metadata.origin.alphas_cumprod).toBe('checkpoint')
    // The same numbers as lucidrains_sigmoid(start -2, end 3, tau 0.7), to float32.
    const named = makeSchedule({
      schedule: 'lucidrains_sigmoid',
      trainSteps: 500,
      betaStart: 0,
      betaEnd: 0,
      sigmoid: { start: -2, end: 3, tau: 0.7 },
    }).alphasCumprod
    expect(maxDiff(Float32Array.from(named), Float32Array.from(t.alphasCumprod!))).toBeLessThan(1e-7)
    expect(namedScheduleOf(named)).toBeUndefined()
    expect(
      namedScheduleOf(makeSchedule({ schedule: 'cosine', trainSteps: 77, betaStart: 0, betaEnd: 0 }).alphasCumprod),
    ).toBe('cosine')
  })
})

describe('ElucidatedDiffusion (EDM): its Unet in the preconditioning, over a virtual schedule', () => {
  const folder = join(OWN, 'elucidated')
  const clamp = (a: Float32Array) => a.map((v) => Math.min(1, Math.max(-1, v)))
  /** A run of `sampler` from the x_T.npy beside `path` (the peer's samples end clamped to [-1, 1]: so are these). */
  async function sampled(path: string, sampler: NonNullable<PlanRequest['sampler']>, options: LoadOptions = {}) {
    const model = await loadModel(path, { providers: ['cpu'], ...options })
    try {
      const xT = await npy(join(dirname(path), 'x_T.npy'))
      const plan = planRun(modelFacts(model.info), {
        sampler,
        seed: 0,
        batch: 2,
        height: 16,
        width: 16,
        initNoise: xT.data,
      })
      const run = await runSampling(model, plan.run)
      return { model, plan, samples: clamp(run.samples), calls: modelCalls(model, sampler) }
    } finally {
      await model.release()
    }
  }

  it('Heun with Karras sigmas is its deterministic sample() (S_churn 0), within 1e-4, from the checkpoint alone', async () => {
    const { model, samples, plan, calls } = await sampled(join(folder, 'model-3.pt'), {
      sampler: 'heun',
      steps: 8,
      sigmas: 'karras',
    })
    const diff = maxDiff(samples, (await npy(join(folder, 'heun8_ref.npy'))).data)
    console.log(`elucidated heun 8 Karras: max diff ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-4)
    expect(calls).toBe(15)
    // Its sigmas, 80 down to 0.002 (rho 7), land between the virtual timesteps: fractional, as EDM's.
    expect(plan.timesteps[0]).toBe(999)
    expect(plan.timesteps.some((t) => !Number.isInteger(t))).toBe(true)
    expect(plan.parameters.sampler).toMatchObject({ predictionType: 'sample', clipSample: false })
    const facts = Object.fromEntries(model.info.source.facts.map((f) => [f.key, f]))
    expect(facts.diffusion).toMatchObject({ value: 'ElucidatedDiffusion', from: 'checkpoint' })
    expect(sourceLabel(model.info.source)).toBe(
      'lucidrains denoising-diffusion-pytorch Unet in ElucidatedDiffusion (EDM)',
    )
    expect(facts.weights).toMatchObject({ value: 'ema' })
    expect(model.info.source.schedule).toBe('EDM, σ 0.002–80, 1000 virtual timesteps')
    expect(facts.sigma_data).toMatchObject({ value: '0.5', from: 'assumed' })
    expect(facts.learned_sinusoidal_dim).toMatchObject({ value: '16', from: 'weights' })
  })

  it('DPM++ 2M Karras is its sample_using_dpmpp, within the rounding diffusers gives its timesteps', async () => {
    const { samples, plan } = await sampled(join(folder, 'model-3.pt'), {
      sampler: 'dpmpp-2m',
      steps: 8,
      sigmas: 'karras',
    })
    const ref = (await npy(join(folder, 'dpmpp8_ref.npy'))).data
    const diff = maxDiff(samples, ref)
    // diffusers rounds DPM-Solver's Karras timesteps to integers: the model sees sigmas up to half a virtual
    // timestep off (0.5%) while the solver steps between the exact ones.
    expect(plan.timesteps.every(Number.isInteger)).toBe(true)
    const heun = (await npy(join(folder, 'heun8_ref.npy'))).data
    console.log(
      `elucidated dpmpp-2m 8 Karras: max diff ${diff.toExponential(2)} (Heun's samples ${maxDiff(ref, heun).toFixed(3)} away)`,
    )
    expect(diff).toBeLessThan(5e-3)
    expect(maxDiff(ref, heun)).toBeGreaterThan(20 * diff)
  })

  it("self-conditioned: each call fed the previous call's x0, as its sample() does, within 1e-4", async () => {
    const own = join(OWN, 'elucidated-self-cond')
    const { model, samples } = await sampled(join(own, 'model-3.pt'), { sampler: 'heun', steps: 8, sigmas: 'karras' })
    const diff = maxDiff(samples, (await npy(join(own, 'heun8_ref.npy'))).data)
    console.log(`elucidated self-cond heun 8 Karras: max diff ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-4)
    expect(model.info.source.facts.find((f) => f.key === 'x_self_cond')).toMatchObject({ from: 'sampler' })
  })

  it("an ElucidatedDiffusion's state_dict saved by hand: its online weights", async () => {
    const { model, samples } = await sampled(join(folder, 'state-dict.pt'), {
      sampler: 'heun',
      steps: 8,
      sigmas: 'karras',
    })
    expect(model.info.source.facts.find((f) => f.key === 'weights')).toMatchObject({
      value: 'online',
      why: 'an ElucidatedDiffusion state_dict',
    })
    // Not the EMA's: 150 steps at decay 0.995 leave them apart.
    expect(maxDiff(samples, (await npy(join(folder, 'heun8_ref.npy'))).data)).toBeGreaterThan(1e-2)
  })

  it('sigma_min, sigma_max and sigma_data from the sidecar, each in the graph; a bad one names its file', async () => {
    const own = join(dir, 'edm-sidecar')
    await mkdir(own)
    const checkpoint = join(own, 'model-3.pt')
    await copyFile(join(folder, 'model-3.pt'), checkpoint)
    await copyFile(join(folder, 'x_T.npy'), join(own, 'x_T.npy'))
    const cacheDir = join(dir, 'edm-cache')
    const heun = { sampler: 'heun', steps: 8, sigmas: 'karras' } as const
    const plain = await sampled(checkpoint, heun, { cacheDir })
    await writeFile(join(own, 'model-3.json'), JSON.stringify({ sigma_max: 40, sigma_data: 0.25, name: 'mine' }))
    const changed = await sampled(checkpoint, heun, { cacheDir })
    const facts = Object.fromEntries(changed.model.info.source.facts.map((f) => [f.key, f]))
    expect(facts.sigma_max).toMatchObject({ value: '40', from: 'config', why: 'model-3.json' })
    expect(facts.sigma_data).toMatchObject({ value: '0.25', from: 'config' })
    expect(facts.sigma_min).toMatchObject({ value: '0.002', from: 'assumed' })
    expect(changed.model.info.source.schedule).toBe('EDM, σ 0.002–40, 1000 virtual timesteps')
    // Read, so not listed as ignored; a new graph, not the cached one of the defaults.
    expect(changed.model.info.source.notes.join('\n')).not.toMatch(/ignored/)
    expect(changed.model.info.source.graph).toBe('built')
    const ab = trainingOf(changed.model.info).alphasCumprod!
    expect(Math.sqrt((1 - ab[999]) / ab[999])).toBeCloseTo(40, 3)
    expect(maxDiff(plain.samples, changed.samples)).toBeGreaterThan(1e-2)
    for (const [bad, message] of [
      [{ sigma_min: 'small' }, 'sigma_min must be a positive number; found "small"'],
      [{ sigma_min: 100 }, 'sigma_min 100 is not below sigma_max 80'],
    ] as const) {
      await writeFile(join(own, 'model-3.json'), JSON.stringify(bad))
      await expect(loadModel(checkpoint)).rejects.toThrow(`${join(own, 'model-3.json')}: ${message}`)
    }
  })
})

describe('ContinuousTimeGaussianDiffusion: its Unet over a virtual schedule of its log SNR', () => {
  const meta = (name: string) =>
    JSON.parse(readFileSync(join(OWN, name, 'meta.json'), 'utf8')) as Record<string, number[]>
  /** The peer's log SNR at t = k / 1000, k = 0..1000; ours at the virtual timesteps, t = (k + 1) / 1000. */
  const tableError = (ours: ArrayLike<number>, theirs: number[]) =>
    Math.max(...Array.from(ours, (v, k) => Math.abs(v - theirs[k + 1])))

  it("the named schedules' log SNR are the module's own functions, to float64", () => {
    const peer = meta('continuous-linear')
    expect(tableError(logSnrTable(LOG_SNR.linear), peer.log_snr_linear)).toBeLessThan(1e-9)
    // cosine's last (t = 1) is its eps clamp: -log(cos(pi / 2)^-2 - 1), huge and finite.
    expect(tableError(logSnrTable(LOG_SNR.cosine), peer.log_snr_cosine)).toBeLessThan(1e-6)
  })

  it('DDPM at 10 steps is its p_sample_loop of 10 (linear and learned schedules), within 1e-4, from the state_dict alone', async () => {
    for (const [name, schedule] of [
      ['continuous-linear', { value: 'linear', from: 'assumed' }],
      ['continuous-learned', { value: 'learned', from: 'checkpoint' }],
    ] as const) {
      const folder = join(OWN, name)
      const model = await loadModel(join(folder, 'state-dict.pt'), { providers: ['cpu'] })
      try {
        const facts = Object.fromEntries(model.info.source.facts.map((f) => [f.key, f]))
        expect(facts.diffusion).toMatchObject({ value: 'ContinuousTimeGaussianDiffusion', from: 'checkpoint' })
        expect(model.info.source.within).toBe('ContinuousTimeGaussianDiffusion')
        expect(model.info.source.schedule).toBe(`continuous time, ${schedule.value} log SNR, 1000 virtual timesteps`)
        expect(facts.noise_schedule).toMatchObject(schedule)
        expect(facts.objective).toMatchObject({ value: 'pred_noise', from: 'assumed' })
        // The schedule is the peer's log SNR, the learned net's included (float32 in torch).
        const ab = trainingOf(model.info).alphasCumprod!
        const logSnr = Array.from(ab, (a) => Math.log(a / (1 - a)))
        expect(tableError(logSnr, meta(name)[`log_snr_${schedule.value}`])).toBeLessThan(2e-3)
        // p_sample_loop's x_T and its draws (noise.npy), step by step through the sampler the planner makes.
        const xT = await npy(join(folder, 'x_T.npy'))
        const noise = (await npy(join(folder, 'noise.npy'))).data
        const plan = planRun(modelFacts(model.info), {
          sampler: { sampler: 'ddpm', steps: 10 },
          seed: 0,
          batch: 2,
          height: 16,
          width: 16,
          initNoise: xT.data,
        })
        expect(plan.timesteps).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99])
        const sampler = makeSampler(plan.run.sampler, plan.run.schedule)
        let x = xT.data
        const per = x.length
        const clamp = (v: number) => Math.min(1, Math.max(-1, v))
        for (let i = 0; i < 9; i++) {
          const out = await model.predict(x, { batch: 2, channels: 1, height: 16, width: 16 }, sampler.timesteps[i])
          x = sampler.step(out, i, x, per / 2, noise.subarray(i * per, (i + 1) * per)).prevSample
        }
        const nine = maxDiff(x, (await npy(join(folder, 'sample9.npy'))).data)
        // The last step: DDPM's ends at sigma 0 on the clamped x0 (drawing with a variance of 0); the peer's at
        // its t = 0, log SNR(0) = 9.21 (sigma 0.01), which keeps a thousandth of x_t: its mean there.
        const out = await model.predict(x, { batch: 2, channels: 1, height: 16, width: 16 }, 99)
        const last = sampler.step(out, 9, x, per / 2, new Float32Array(per))
        const x0 = last.predictedX0.map(clamp)
        expect(maxDiff(last.prevSample, x0)).toBeLessThan(1e-6)
        const [l, l0] = [Math.log(ab[99] / (1 - ab[99])), meta(name)[`log_snr_${schedule.value}`][0]]
        const c = -Math.expm1(l - l0)
        const [alpha, alpha0] = [Math.sqrt(ab[99]), Math.sqrt(1 / (1 + Math.exp(-l0)))]
        const theirs = x.map((v, i) => clamp(alpha0 * (((1 - c) * v) / alpha + c * x0[i])))
        const ref = (await npy(join(folder, 'sample10_ref.npy'))).data
        const diff = maxDiff(theirs, ref)
        console.log(
          `${name} ddpm 10: after 9 steps max diff ${nine.toExponential(2)}, the peer's last step ${diff.toExponential(2)}, ours to sigma 0 ${maxDiff(x0, ref).toExponential(2)} from it`,
        )
        expect(nine).toBeLessThan(1e-4)
        expect(diff).toBeLessThan(1e-4)
        expect(maxDiff(x0, ref)).toBeLessThan(5e-3)
      } finally {
        await model.release()
      }
    }
  })

  it('noise_schedule and prediction_type from the sidecar; another schedule names its file', async () => {
    const own = join(dir, 'continuous-sidecar')
    await mkdir(own)
    const checkpoint = join(own, 'model.pt')
    await copyFile(join(OWN, 'continuous-linear', 'state-dict.pt'), checkpoint)
    await writeFile(
      join(own, 'model.json'),
      JSON.stringify({ noise_schedule: 'cosine', prediction_type: 'v_prediction' }),
    )
    const model = await loadModel(checkpoint, { providers: ['cpu'] })
    await model.release()
    const facts = Object.fromEntries(model.info.source.facts.map((f) => [f.key, f]))
    expect(facts.noise_schedule).toMatchObject({ value: 'cosine', from: 'config', why: 'model.json' })
    expect(facts.prediction_type).toMatchObject({ value: 'v_prediction', from: 'config' })
    expect(trainingOf(model.info).samplerOptions.predictionType).toBe('v_prediction')
    expect(model.info.source.notes.join('\n')).not.toMatch(/ignored/)
    const ab = trainingOf(model.info).alphasCumprod!
    expect(Math.log(ab[499] / (1 - ab[499]))).toBeCloseTo(LOG_SNR.cosine(0.5), 4)
    await writeFile(join(own, 'model.json'), JSON.stringify({ noise_schedule: 'quadratic' }))
    await expect(loadModel(checkpoint)).rejects.toThrow(
      `${join(own, 'model.json')}: noise_schedule must be "linear" or "cosine" (a learned one is read from the checkpoint); found "quadratic"`,
    )
  })
})

describe('the image size, which a checkpoint does not hold', () => {
  it("from the Trainer's sample-N.png beside model-N.pt (a 5 x 5 grid, 2 px padding), else assumed", async () => {
    const folder = join(dir, 'results')
    await mkdir(folder)
    const checkpoint = join(folder, 'model-3.pt')
    await copyFile(join(OWN, 'self-cond', 'model-3.pt'), checkpoint)
    const bare = await loadModel(checkpoint, { providers: ['cpu'] })
    await bare.release()
    expect(trainingOf(bare.info).size.from).toBe('smallest')
    // torchvision's make_grid of 25 images of 16 x 16: 5 (16 + 2) + 2 = 92 a side.
    const side = 5 * (16 + 2) + 2
    const grid = { width: side, height: side, channels: 3, pixels: new Uint8Array(side * side * 3) }
    await writeFile(join(folder, 'sample-3.png'), encodePixelsPng(grid))
    const model = await loadModel(checkpoint, { providers: ['cpu'] })
    await model.release()
    expect(trainingOf(model.info).size).toMatchObject({ width: 16, height: 16, from: 'metadata' })
    expect(model.info.source.facts.find((f) => f.key === 'image_size')).toMatchObject({
      value: '(16, 16)',
      why: "sample-3.png is 92 x 92: a 5 x 5 grid (Trainer's default num_samples 25) of 16 x 16",
    })
  })
})

describe("classifier_free_guidance.py's GaussianDiffusion, its state_dict saved by hand", () => {
  it('samples as its guided ddim_sample does (its guidance projection off, and on as APG), within 1e-3', async () => {
    const folder = join(OWN, 'class-cfg')
    const model = await loadModel(join(folder, 'cfg-state-dict.pt'), { providers: ['cpu'] })
    try {
      const xT = await npy(join(folder, 'x_T.npy'))
      const facts = modelFacts(model.info)
      expect(facts.training.classes).toEqual({ names: ['0', '1', '2'], nullClassId: 3 })
      // How its own sample() guides: what the app starts it at.
      expect(facts.training.guidance).toEqual({ scale: 6, rescale: 0.7, apgEta: 0 })
      const request: PlanRequest = {
        sampler: { sampler: 'ddim', steps: 10, eta: 0 },
        seed: 0,
        batch: 2,
        height: 8,
        width: 8,
        classLabel: 2,
        guidance: 3,
        guidanceRescale: 0.7,
        initNoise: xT.data,
      }
      const sample = async (r: PlanRequest) => (await runSampling(model, planRun(facts, r).run)).samples
      const samples = await sample(request)
      const diff = maxDiff(samples, (await npy(join(folder, 'ddim10_ref.npy'))).data)
      console.log(`ddim10 class-cfg, guidance 3, rescale 0.7: max diff ${diff.toExponential(2)}`)
      expect(diff).toBeLessThan(1e-3)
      // The guidance counts: the same run unguided lands elsewhere.
      expect(maxDiff(await sample({ ...request, guidance: 1 }), samples)).toBeGreaterThan(0.01)
      // Its default guidance removes the update's part along the conditional output (keep_parallel_frac):
      // APG's eta. At cond_scale 6 the projection moves the samples (this small random model's outputs are
      // nearly orthogonal to the update) by several times the tolerance.
      for (const [ref, eta] of [
        ['ddim10_apg_ref.npy', 0],
        ['ddim10_apg_keep_ref.npy', 0.25],
      ] as const) {
        const projected = await sample({ ...request, guidance: 6, apg: { eta, normThreshold: 0 } })
        const apgDiff = maxDiff(projected, (await npy(join(folder, ref))).data)
        console.log(`ddim10 class-cfg, guidance 6, APG eta ${eta}, rescale 0.7: max diff ${apgDiff.toExponential(2)}`)
        expect(apgDiff).toBeLessThan(1e-3)
        const moved = maxDiff(await sample({ ...request, guidance: 6 }), projected)
        console.log(`  moved from plain guidance: ${moved.toExponential(2)}`)
        expect(moved).toBeGreaterThan(3e-3)
      }
    } finally {
      await model.release()
    }
  })
})

describe('the command line on a model that says how it is guided', () => {
  it("samples as the library's own sample() does without guidance flags; flags given win", async () => {
    const folder = join(OWN, 'class-cfg')
    const run = async (...flags: string[]) => {
      const out = await mkdtemp(join(tmpdir(), 'stepwise-cfg-cli-'))
      const { code, stderr } = await cli(
        ...['sample', '--model', join(folder, 'cfg-state-dict.pt'), '--provider', 'cpu', '--class', '2'],
        ...['--sampler', 'ddim', '--steps', '10', '--eta', '0', '--init-noise', join(folder, 'x_T.npy')],
        ...['--save-npy', '--out', out, ...flags],
      )
      expect([code, stderr]).toEqual([0, ''])
      return (await npy(join(out, 'samples.npy'))).data
    }
    // Its metadata: guidance 6, rescale 0.7, APG eta 0 (cond_scale, rescaled_phi, keep_parallel_frac).
    expect(maxDiff(await run(), (await npy(join(folder, 'ddim10_apg_ref.npy'))).data)).toBeLessThan(1e-3)
    // Guidance 3 without the projection; the rescale still the model's.
    const plain = await run('--guidance', '3', '--apg-eta', '1')
    expect(maxDiff(plain, (await npy(join(folder, 'ddim10_ref.npy'))).data)).toBeLessThan(1e-3)
    // inspect says so.
    const inspected = await cli('inspect', join(folder, 'cfg-state-dict.pt'), '--provider', 'cpu')
    expect(inspected.stdout).toContain('  guidance        6, rescale 0.7, APG eta 0  (the model')
  })
})

describe("the Trainer's results folder", () => {
  it('opens its newest checkpoint (by milestone, not by name), and says which', async () => {
    const folder = join(dir, 'trained')
    await mkdir(folder)
    // The newest, model-10.pt, is the self-conditioned Unet; model-2.pt and model-9.pt another.
    await copyFile(join(OWN, 'self-cond', 'model-3.pt'), join(folder, 'model-10.pt'))
    for (const n of [2, 9]) await copyFile(join(PEER, 'model-3.pt'), join(folder, `model-${n}.pt`))
    await writeFile(join(folder, 'notes.txt'), 'not a checkpoint')
    const model = await loadModel(folder, { providers: ['cpu'] })
    await model.release()
    expect(model.info.name).toBe('model-10.pt')
    expect(model.info.signature.selfCondition).toBeDefined()
    expect(model.info.source.notes).toContain(
      'trained: model-10.pt, the newest of its 3 checkpoints (open another one by itself)',
    )
  })

  it('a folder with a config.json is left to diffusers, which says what it lacks', async () => {
    const folder = join(dir, 'mixed')
    await mkdir(folder)
    await copyFile(join(PEER, 'model-3.pt'), join(folder, 'model-3.pt'))
    await writeFile(join(folder, 'config.json'), '{}')
    await expect(loadModel(folder, { providers: ['cpu'] })).rejects.toThrow(`${folder}: not a diffusers folder`)
  })
})

describe('self-conditioning through forks', () => {
  it("a fork of a self-conditioned run carries the previous x0 and reproduces the parent's steps", async () => {
    const model = await loadModel(join(OWN, 'self-cond', 'model-3.pt'), { providers: ['cpu'] })
    try {
      const xT = await npy(join(OWN, 'self-cond', 'x_T.npy'))
      const [batch, , height, width] = xT.shape
      const plan = planRun(modelFacts(model.info), {
        sampler: { sampler: 'ddim', steps: 8 },
        seed: 0,
        batch,
        height,
        width,
        initNoise: xT.data,
      })
      const frames: StepFrame[] = []
      const parent = await runSampling(model, plan.run, { onStep: (f) => frames.push(f) })
      expect(frames[0].fork.selfCondition!.every((v) => v === 0)).toBe(true) // zeros at the first call
      const k = 3
      const fork = await runSampling(model, { ...plan.run, start: { ...frames[k].fork, sample: frames[k].sample } })
      expect(fork.samples).toEqual(parent.samples)
      const { selfCondition: _dropped, ...without } = frames[k].fork
      const forgetful = await runSampling(model, { ...plan.run, start: { ...without, sample: frames[k].sample } })
      expect(maxDiff(forgetful.samples, parent.samples)).toBeGreaterThan(1e-4)
    } finally {
      await model.release()
    }
  })
})

describe('the objective from loss_weight', () => {
  const { alphasCumprod } = makeSchedule({ schedule: 'cosine', trainSteps: 1000, betaStart: 0, betaEnd: 0 })
  const snr = Array.from(alphasCumprod, (a) => a / (1 - a))
  it("tells pred_noise, pred_x0 and pred_v apart, with and without min_snr's clipping", () => {
    const weights = {
      pred_noise: (s: number, g: number) => Math.min(s, g) / s,
      pred_x0: (s: number, g: number) => Math.min(s, g),
      pred_v: (s: number, g: number) => Math.min(s, g) / (s + 1),
    }
    for (const [objective, w] of Object.entries(weights)) {
      expect(
        objectiveOf(
          Float32Array.from(snr, (s) => w(s, Infinity)),
          snr,
        ),
      ).toEqual({ objective })
      expect(
        objectiveOf(
          Float32Array.from(snr, (s) => w(s, 5)),
          snr,
        ),
      ).toEqual({ objective, minSnrGamma: 5 })
    }
    expect(
      objectiveOf(
        Float32Array.from(snr, () => 0.5),
        snr,
      ),
    ).toBeUndefined()
  })
})

describe('what is not a lucidrains checkpoint says what it is', () => {
  const asPt = async (file: string, name = file.replace(/\.bin$/, '.pt')) => {
    const path = join(dir, name)
    await copyFile(join(WEIGHTS, file), path)
    return path
  }
  it('a dict of other things, a number, a pickle that would run code', async () => {
    await expect(loadModel(await asPt('no-tensors.bin'))).rejects.toThrow(
      /no-tensors\.pt: not a lucidrains Trainer checkpoint \(a dict with model and ema, from Trainer\.save\) or a GaussianDiffusion state_dict; found keys step \(number\), lr \(number\)/,
    )
    await expect(loadModel(await asPt('number.bin'))).rejects.toThrow(/number\.pt: not a lucidrains .*; found a number/)
    await expect(loadModel(await asPt('os-system.bin'))).rejects.toThrow(/os\.system/)
  })
  it("a diffusers UNet2DModel's weights saved as .pt, alone: the config.json they need", async () => {
    const folder = join(dir, 'diffusers-pt')
    await mkdir(folder)
    const path = join(folder, 'unet.pt')
    const bin = join(FIXTURES, 'peers', 'diffusers', 'class-gray28', 'pipeline', 'unet', 'diffusion_pytorch_model.bin')
    await copyFile(bin, path)
    await expect(loadModel(path)).rejects.toThrow(
      `${path}: a weights file needs the config.json saved with it (${join(folder, 'config.json')}); drop the folder holding both`,
    )
  })
})
