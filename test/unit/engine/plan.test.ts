/**
 * The one planner: a request over the model's defaults becomes the run, its parameters and timesteps.
 * The CLI and the service both plan with it, so the same request gives the same parameters in a PNG
 * written by `stepwise sample` and in the app's sample.start answer.
 */
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { main } from '../../../src-main/cli'
import { readStepwiseParameters } from '../../../src-main/engine/export/png'
import { imageForModel } from '../../../src-main/engine/image-input'
import { defaultModelPath } from '../../../src-main/engine/model/default-model'
import { type Denoiser, loadModel } from '../../../src-main/engine/model/load'
import { type ModelFacts, modelFacts, planRun, samplerWith } from '../../../src-main/engine/plan'
import { runSampling } from '../../../src-main/engine/run'
import { finishTimeline, recordStep, startTimeline, type Timeline } from '../../../src-main/engine/timeline'
import { createHandlers, type Handlers } from '../../../src-main/service/handlers'
import type { Events, SampleStartRequest } from '../../../src-preload/contract'
import { configOf, DEFAULT_SAMPLER, type SamplerSettings, summarize } from '../../../src-shared/parameters'

let model: Denoiser
let facts: ModelFacts
let handlers: Handlers
let tmp: string
const events: { event: string; payload: unknown }[] = []

beforeAll(async () => {
  model = await loadModel(defaultModelPath(), { providers: ['cpu'] })
  facts = modelFacts(model.info)
  handlers = createHandlers((event, payload) => events.push({ event, payload }))
  await handlers['model.load']({ providers: ['cpu'] })
  tmp = await mkdtemp(join(tmpdir(), 'stepwise-plan-'))
})
afterAll(async () => {
  await handlers.dispose()
  await model.release()
})

/** `stepwise sample ...` in this process; the parameters its first PNG records. */
async function cliParameters(name: string, ...argv: string[]): Promise<unknown> {
  const out = join(tmp, name)
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  try {
    const code = await main(['sample', ...argv, '--provider', 'cpu', '--out', out])
    expect(code, String(err.mock.calls.at(-1)?.[0])).toBe(0)
  } finally {
    vi.restoreAllMocks()
  }
  const seed = Number(argv[argv.indexOf('--seed') + 1])
  return readStepwiseParameters(new Uint8Array(await readFile(join(out, `seed-${seed}.png`))), 'seed.png')
}

/** sample.start through the service's handlers, waiting for the run to end; the parameters it answered. */
async function serviceRun(req: SampleStartRequest) {
  const started = await handlers['sample.start'](req)
  await vi.waitFor(
    () => {
      const end = events.find(
        (e) => (e.event === 'done' || e.event === 'failed') && (e.payload as Events['done']).runId === started.runId,
      )
      if (!end) throw new Error('still running')
      expect(end.event).toBe('done')
    },
    { timeout: 30_000, interval: 20 },
  )
  return started
}

/** A plain JSON copy (the PNG holds JSON: undefined fields are gone there too). */
const json = (x: unknown) => JSON.parse(JSON.stringify(x))

describe('the CLI and the service plan alike', () => {
  it('a guided DDIM request gives the same parameters', async () => {
    const fromService = await serviceRun({
      sampler: { sampler: 'ddim', steps: 6, eta: 0.3 },
      seed: 11,
      batch: 2,
      classLabel: 4,
      guidance: 2.5,
      guidanceRescale: 0.7,
    })
    const fromCli = await cliParameters(
      'ddim',
      ...[
        '--sampler',
        'ddim',
        '--steps',
        '6',
        '--eta',
        '0.3',
        '--seed',
        '11',
        '--batch',
        '2',
        '--class',
        '4',
        '--guidance',
        '2.5',
        '--guidance-rescale',
        '0.7',
      ],
    )
    expect(fromCli).toEqual(json(fromService.parameters))
    expect(fromService.parameters.guidanceRescale).toBe(0.7)
    expect(summarize(fromService.parameters)).toContain('guidance: 2.5, guidance rescale: 0.7')
  })

  it('the null class is recorded as no class (a PNG says nothing of "class: 10"), by the CLI and the service', async () => {
    const fromService = await serviceRun({ sampler: { steps: 3 }, seed: 13, batch: 1, classLabel: 10 })
    const fromCli = await cliParameters('uncond', ...['--steps', '3', '--seed', '13', '--class', '10'])
    expect(fromCli).toEqual(json(fromService.parameters))
    expect(fromService.parameters.classLabel).toBeUndefined()
    expect(fromService.parameters.model).toBe(facts.name)
    expect(summarize(fromService.parameters)).not.toMatch(/class/)
    expect(summarize(planRun(facts, { seed: 1, batch: 1, classLabel: 3 }).parameters)).toMatch(/class: 3/)
  })

  it('a DDPM request on another schedule and spacing gives the same parameters', async () => {
    const req: SampleStartRequest = {
      sampler: { sampler: 'ddpm', steps: 8, timestepSpacing: 'trailing', clipSample: true },
      schedule: { schedule: 'cosine' },
      seed: 5,
      batch: 1,
    }
    const fromService = await serviceRun(req)
    const fromCli = await cliParameters(
      'ddpm',
      ...['--sampler', 'ddpm', '--steps', '8', '--spacing', 'trailing', '--clip-sample', 'true'],
      ...['--schedule', 'cosine', '--seed', '5'],
    )
    expect(fromCli).toEqual(json(fromService.parameters))
  })

  it('a fork gives the same parameters, its parent recorded inside', async () => {
    const parent = await serviceRun({ sampler: { steps: 10 }, seed: 3, batch: 1, classLabel: 5, guidance: 3 })
    const fork = await serviceRun({
      sampler: { sampler: 'ddpm', steps: 20 },
      seed: 0, // a fork keeps its parent's seed, batch and class whatever it asks
      batch: 4,
      guidance: 5,
      fork: { runId: parent.runId, step: 4 },
    })
    const fromCli = await cliParameters(
      'fork',
      ...['--steps', '10', '--seed', '3', '--class', '5', '--guidance', '3'],
      ...['--from-step', '4', '--then', 'sampler=ddpm steps=20 guidance=5'],
    )
    expect(fork.parameters.forkedFrom).toEqual({ step: 4, parameters: parent.parameters })
    expect(fromCli).toEqual(json(fork.parameters))
  })

  it('denoising an image gives the same parameters', async () => {
    const png = join(tmp, 'ddim', 'seed-11.png')
    const image = imageForModel(new Uint8Array(await readFile(png)), 'seed-11.png', {
      channels: 1,
      height: 28,
      width: 28,
    })
    // The CLI names the sampler's step; the app sends that step's timestep (DDIM 20, leading: 50 apart).
    const fromService = await serviceRun({
      sampler: { sampler: 'ddim', steps: 20 },
      seed: 9,
      batch: 1,
      fromImage: { image: image.data.slice().buffer as ArrayBuffer, timestep: 950 - 12 * 50 },
    })
    const fromCli = await cliParameters(
      'image',
      '--sampler',
      'ddim',
      '--steps',
      '20',
      '--seed',
      '9',
      '--from-step',
      '12',
      '--init-image',
      png,
    )
    expect(fromCli).toEqual(json(fromService.parameters))
    expect(fromService.parameters.fromImageAt).toBe(350)
  })
})

describe('planRun', () => {
  /** A finished run of the default model, as the service keeps it. */
  async function timelineOf(plan: ReturnType<typeof planRun>, parent?: Timeline): Promise<Timeline> {
    const timeline = startTimeline(plan, parent)
    const result = await runSampling(model, plan.run, { onStep: (f) => recordStep(timeline, f) })
    finishTimeline(timeline, result.samples)
    return timeline
  }

  it("fills the model's training defaults, and a sampler's own default steps", () => {
    const plan = planRun(facts, { sampler: { sampler: 'ddpm' }, seed: 1, batch: 3 })
    // DDPM's options: the model's stated ones (clip_sample false), diffusers' defaults for the rest; no eta.
    expect(facts.training.samplerOptions).toEqual({ predictionType: 'epsilon', clipSample: false })
    expect(plan.parameters.sampler).toEqual(configOf('ddpm', { clipSample: false }))
    expect(plan.parameters.sampler).toMatchObject({ steps: 1000, timestepSpacing: 'leading', clipSampleRange: 1 })
    expect(plan.parameters.sampler).not.toHaveProperty('eta')
    expect(plan.parameters.schedule).toEqual(facts.training.schedule)
    expect(plan.shape).toEqual({ batch: 3, channels: 1, height: 28, width: 28 })
    expect(plan.timesteps).toHaveLength(1000)
    expect(plan.startStep).toBe(0)
    expect(samplerWith(DEFAULT_SAMPLER, { steps: undefined, eta: 0.5 })).toEqual({ ...DEFAULT_SAMPLER, eta: 0.5 })
  })

  it('a request naming no sampler gets DPM++ 2M Karras, 20 steps; one naming dpmpp-2m gets its diffusers defaults', () => {
    const plan = (sampler?: SamplerSettings) => planRun(facts, { sampler, seed: 1, batch: 1 }).parameters.sampler
    expect(plan()).toEqual(facts.training.sampler)
    expect(plan()).toMatchObject({ sampler: 'dpmpp-2m', steps: 20, sigmas: 'karras', timestepSpacing: 'linspace' })
    expect(summarize({ ...planRun(facts, { seed: 1, batch: 1 }).parameters })).toMatch(
      /sampler: DPM\+\+ 2M Karras, steps: 20/,
    )
    expect(plan({ steps: 10, finalSigmas: 'sigma_min' })).toMatchObject({
      sigmas: 'karras',
      steps: 10,
      finalSigmas: 'sigma_min',
    })
    expect(plan({ sampler: 'dpmpp-2m' })).toMatchObject({ sigmas: 'spacing', steps: 20 })
    expect(plan({ sampler: 'euler' })).toMatchObject({ sampler: 'euler', sigmas: 'spacing', steps: 30 })
  })

  it('a model whose config asks for a clipped x0 keeps DDIM as its default run', () => {
    const { values } = model.info.metadata
    const clipping = modelFacts({
      ...model.info,
      metadata: { ...model.info.metadata, values: { ...values, clip_sample: true } },
    })
    expect(clipping.training.sampler).toMatchObject({ sampler: 'ddim', steps: 50, clipSample: true })
    expect(planRun(clipping, { seed: 1, batch: 1 }).parameters.sampler).toEqual(clipping.training.sampler)
    expect(planRun(clipping, { sampler: { sampler: 'dpmpp-2m' }, seed: 1, batch: 1 }).parameters.sampler.sigmas).toBe(
      'spacing',
    )
  })

  it("a fork continues its parent: the parent's seed, batch and class, its first steps, its x_t at the fork", async () => {
    const parentPlan = planRun(facts, { sampler: { steps: 8 }, seed: 21, batch: 2, classLabel: 7 })
    const parent = await timelineOf(parentPlan)
    const fork = planRun(
      facts,
      { sampler: { steps: 30 }, seed: 99, batch: 5, classLabel: 1, fork: { step: 3 } },
      parent,
    )
    expect(fork.parameters).toMatchObject({ seed: 21, classLabel: 7, forkedFrom: { step: 3 } })
    expect(fork.shape).toEqual(parent.shape)
    expect(fork.startStep).toBe(3)
    expect(fork.timesteps.slice(0, 3)).toEqual(parentPlan.timesteps.slice(0, 3))
    expect(fork.timesteps[3]).toBe(parentPlan.timesteps[3])
    expect(fork.run.start?.sample).toBe(parent.frames[3].sample)
    expect(startTimeline(fork, parent).frames).toHaveLength(3)
  })

  it('a fork of a fork with its own settings reproduces it: each timeline keeps how to go on from each step', async () => {
    const a = await timelineOf(planRun(facts, { sampler: { steps: 12 }, seed: 5, batch: 1, classLabel: 2 }))
    const bPlan = planRun(
      facts,
      { sampler: { sampler: 'dpmpp-2m', steps: 8 }, fork: { step: 3 }, seed: 0, batch: 1 },
      a,
    )
    const b = await timelineOf(bPlan, a)
    const cPlan = planRun(
      facts,
      { sampler: { sampler: 'dpmpp-2m', steps: 8 }, fork: { step: 6 }, seed: 0, batch: 1 },
      b,
    )
    const c = await timelineOf(cPlan, b)
    expect(cPlan.timesteps).toEqual(bPlan.timesteps)
    expect(c.frames.slice(6).map((f) => f.sample)).toEqual(b.frames.slice(6).map((f) => f.sample))
    expect(c.samples).toEqual(b.samples)
  })

  it("an image denoised from a sigma-space sampler's own step starts at that step's sigma: the tail of its run", () => {
    const sampler = { sampler: 'euler' as const, steps: 10, sigmas: 'karras' as const }
    const full = planRun(facts, { sampler, seed: 1, batch: 1 })
    const plan = planRun(facts, { sampler, seed: 1, batch: 1, fromImage: { image: new Float32Array(784), step: 4 } })
    expect(plan.timesteps).toEqual(full.timesteps.slice(4))
    expect(plan.parameters.fromImageAt).toBe(full.timesteps[4])
    expect(plan.run.start?.sigma).toBeGreaterThan(0)
  })

  it('refuses a value a sampler does not take, naming it', () => {
    expect(() => planRun(facts, { seed: 1, batch: 1, sampler: { sampler: 'dpmpp-2m', solverOrder: 3 } })).toThrow(
      /dpmpp-2m: solverOrder \(--solver-order\) 3: expected an integer in \[1, 2\]/,
    )
  })

  it("timesteps of one's own are the steps: their count, the sigmas at them; what does not fit is refused", () => {
    const own = [999, 700, 300, 40]
    const plan = planRun(facts, { seed: 1, batch: 1, sampler: { sampler: 'unipc', timesteps: own } })
    expect(plan.run.sampler).toMatchObject({ sampler: 'unipc', steps: 4, timesteps: own })
    expect(plan.timesteps).toEqual(own)
    expect(summarize(plan.parameters)).toContain('timesteps: 999 700 300 40')
    // The default run is DPM++ 2M Karras: diffusers refuses Karras sigmas with timesteps of one's own.
    expect(() => planRun(facts, { seed: 1, batch: 1, sampler: { timesteps: own } })).toThrow(
      /timesteps: timesteps of one's own take the sigmas at them, not karras sigmas/,
    )
    const unipc = (over: SamplerSettings) =>
      planRun(facts, { seed: 1, batch: 1, sampler: { sampler: 'unipc', ...over } })
    expect(() => unipc({ timesteps: own, steps: 5 })).toThrow(/4 timesteps were given for 5 steps/)
    expect(() => unipc({ timesteps: [1200, 500] })).toThrow(/timestep 1200 is past the model's last, 999/)
    expect(() => unipc({ timesteps: [500, 999] })).toThrow(/timesteps \(--timesteps\) 500,999: expected descending/)
    // A sampler that takes none plans as without them.
    expect(
      planRun(facts, { seed: 1, batch: 1, sampler: { sampler: 'ddim', steps: 3, timesteps: own } }).timesteps,
    ).toHaveLength(3)
  })

  it('refuses what cannot be planned, saying what is wrong', async () => {
    const parent = await timelineOf(planRun(facts, { sampler: { steps: 4 }, seed: 1, batch: 1 }))
    const image = { image: new Float32Array(784), timestep: 500 }
    expect(() => planRun(facts, { seed: 1, batch: 1, fork: { step: 1 }, fromImage: image }, parent)).toThrow(
      /fork cannot also start from an image/,
    )
    expect(() => planRun(facts, { seed: 1, batch: 1, fork: { step: 4 } }, parent)).toThrow(/outside the 4 steps/)
    expect(() => planRun(facts, { seed: 1, batch: 1, fork: { step: 1 } })).toThrow(/run to continue is missing/)
    expect(() => planRun(facts, { seed: 1, batch: 1, classLabel: 12 })).toThrow(/12 is not a class/)
    expect(() =>
      planRun(facts, { seed: 1, batch: 1, fromImage: { image: new Float32Array(10), timestep: 1 } }),
    ).toThrow(/10 values; 1x28x28 needs 784/)
    expect(() => planRun(facts, { seed: 1, batch: 1, sampler: { steps: 2000 } })).toThrow(/cannot exceed/)
  })
})
