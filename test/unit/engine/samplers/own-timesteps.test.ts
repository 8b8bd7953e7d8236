/**
 * Timesteps of one's own (the `timesteps` option: DPMSolverMultistepScheduler.set_timesteps(timesteps=...),
 * and UniPC and DEIS here too). diffusers' own outputs with them are reference.json's dpmpp-2m-timesteps-10
 * and dpmpp-3m-timesteps-sigma_min-8 cases (dpmpp-2m.test.ts, dpmpp-3m.test.ts). Here: the spacing's own
 * timesteps given as one's own make the very same run, for every sampler that takes them; and a fork of a
 * run with its own timesteps, with the same settings, reproduces it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { defaultModelPath } from '../../../../src-main/engine/model/default-model'
import { type Denoiser, loadModel } from '../../../../src-main/engine/model/load'
import { modelFacts, planRun } from '../../../../src-main/engine/plan'
import { runSampling } from '../../../../src-main/engine/run'
import { makeSampler } from '../../../../src-main/engine/samplers/sampler'
import { finishTimeline, recordStep, startTimeline } from '../../../../src-main/engine/timeline'
import { alwaysStochastic, samplerReads, SAMPLERS } from '../../../../src-shared/names'
import { npy, oursOf, pipelineLoop } from '../../../fixtures/samplers/reference'

const LINEAR = { num_train_timesteps: 1000, beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' }
const readers = SAMPLERS.filter((s) => samplerReads(s, 'timesteps'))

describe("timesteps of one's own", () => {
  it('are taken by the DPM-Solver multistep family, UniPC and DEIS', () => {
    expect(readers).toEqual(['dpmpp-2m', 'dpmpp-2m-sde', 'dpmpp-3m', 'unipc', 'deis'])
  })

  // The app offers "Fit to this model" for ODE solvers only: the table's fact, read by the renderer, must be the
  // engine's (a sampler that adds noise at some step with diffusers' defaults, at a few step counts).
  it.each(SAMPLERS)("%s: the table's 'stochastic' is whether the engine's sampler adds noise", (sampler) => {
    const addsNoise = [4, 10, 25].some((steps) => {
      const { config, schedule } = oursOf(sampler, LINEAR, steps)
      const s = makeSampler(config, schedule)
      return s.timesteps.some((_, i) => s.isStochastic(i))
    })
    expect(alwaysStochastic(sampler)).toBe(addsNoise)
  })

  it.each(readers.filter((s) => s !== 'dpmpp-2m-sde').flatMap((s) => [7, 12].map((n) => [s, n] as const)))(
    "%s, %i steps: the spacing's own timesteps given as one's own make the same run",
    (sampler, steps) => {
      const { config, schedule } = oursOf(sampler, { ...LINEAR, final_sigmas_type: 'sigma_min' }, steps)
      const spaced = makeSampler(config, schedule)
      const own = makeSampler({ ...config, timesteps: spaced.timesteps }, schedule)
      expect(own.timesteps).toEqual(spaced.timesteps)
      expect(own.sigmas).toEqual(spaced.sigmas)
      const xT = npy('x_T.npy').data
      expect(pipelineLoop(own, xT, 3)).toEqual(pipelineLoop(spaced, xT, 3))
    },
  )
})

describe('a fork of a run with its own timesteps', () => {
  let model: Denoiser
  beforeAll(async () => {
    model = await loadModel(defaultModelPath(), { providers: ['cpu'] })
  })
  afterAll(() => model.release())

  it.each([
    ['unipc', 2],
    ['dpmpp-2m', 3],
  ] as const)('%s from step %i with the same settings reproduces it exactly', async (sampler, step) => {
    const facts = modelFacts(model.info)
    const settings = { sampler, timesteps: [999, 751, 545, 376, 146, 40] }
    const plan = planRun(facts, { sampler: settings, seed: 5, batch: 1, classLabel: 3 })
    const parent = startTimeline(plan)
    const result = await runSampling(model, plan.run, { onStep: (f) => recordStep(parent, f) })
    finishTimeline(parent, result.samples)
    const fork = planRun(facts, { sampler: settings, seed: 5, batch: 1, classLabel: 3, fork: { step } }, parent)
    expect(fork.timesteps).toEqual(settings.timesteps)
    expect((await runSampling(model, fork.run)).samples).toEqual(result.samples)
  })
})
