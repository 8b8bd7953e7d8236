/** The sidebar's controls (lib/parameters.svelte.ts): model defaults, restoring, PNGs, ranges, the sample.start request. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { GenerationParametersData } from '../../../src-preload/contract'
import { card, classCard, loadRenderer, type Renderer } from './fake-api'

let m: Renderer
let p: Renderer['parameters']

beforeEach(async () => {
  m = await loadRenderer()
  p = m.parameters
})
afterEach(() => vi.restoreAllMocks())

const png = (o: Partial<GenerationParametersData> = {}): GenerationParametersData => ({
  model: 'tiny',
  sampler: { sampler: 'ddpm', steps: 200, timestepSpacing: 'trailing' },
  schedule: { schedule: 'cosine', trainSteps: 500 },
  seed: 1234,
  height: 8,
  width: 8,
  ...o,
})

describe('adoptCard', () => {
  it("takes the model's sampler and schedule defaults, keeping seed, batch and guidance", () => {
    p.seed = 99
    p.batch = 9
    p.guidance = 5
    p.adoptCard(
      card({
        samplerDefaults: { sampler: 'ddpm', steps: 1000, eta: 0.5, timestepSpacing: 'linspace', clipSample: true },
        schedule: { schedule: 'cosine', trainSteps: 4000, betaStart: 0.001, betaEnd: 0.05 },
      }),
    )
    expect(p).toMatchObject({
      sampler: 'ddpm',
      steps: 1000,
      eta: 0.5,
      timestepSpacing: 'linspace',
      predictionType: 'epsilon',
      clipSample: true,
      schedule: 'cosine',
      trainSteps: 4000,
      betaStart: 0.001,
      betaEnd: 0.05,
      seed: 99,
      batch: 9,
      guidance: 5,
    })
  })

  it('starts as the default run, DPM++ 2M Karras, from its card; the Karras sigmas follow a new sampler', () => {
    const dpmpp2mKarras = {
      sampler: 'dpmpp-2m',
      steps: 20,
      timestepSpacing: 'linspace',
      sigmas: 'karras',
      solverOrder: 2,
      solverType: 'midpoint',
      lowerOrderFinal: true,
      finalSigmas: 'zero',
    } as const
    expect(p).toMatchObject({
      sampler: 'dpmpp-2m',
      steps: 20,
      timestepSpacing: 'linspace',
    })
    p.adoptCard(card({ samplerDefaults: dpmpp2mKarras }))
    // Only what the run sets away from DPM++ 2M's diffusers defaults: UniPC, picked next, keeps its own solver.
    expect(p.options).toEqual({ sigmas: 'karras' })
    expect(p.request(card(), { redraw: false }).sampler).toMatchObject({ sampler: 'dpmpp-2m', sigmas: 'karras' })
    p.sampler = 'unipc'
    const unipc = p.request(card(), { redraw: false }).sampler
    expect([unipc?.sigmas, unipc?.solverType]).toEqual(['karras', undefined])
  })

  it("takes the guidance a model says it is meant for (lucidrains' class-conditional), else keeps the user's", () => {
    Object.assign(p, { guidance: 4, guidanceRescale: 0, apgEta: 1, apgNormThreshold: 9 })
    p.adoptCard(classCard(10, { guidanceDefaults: { scale: 6, rescale: 0.7, apgEta: 0 } }))
    expect(p).toMatchObject({ guidance: 6, guidanceRescale: 0.7, apgEta: 0, apgNormThreshold: 0 })
    p.guidance = 5
    p.adoptCard(classCard(10))
    expect(p.guidance).toBe(5)
  })

  it('picks class 0 for a model without a null class, unconditional (null) otherwise', () => {
    p.adoptCard(classCard(null))
    expect(p.classLabel).toBe(0)
    p.adoptCard(classCard(10))
    expect(p.classLabel).toBeNull()
    p.classLabel = 3
    p.adoptCard(card())
    expect(p.classLabel).toBeNull()
  })
})

describe('pickSampler', () => {
  it('a picked sampler clips, spaces and sets eta as the model states, else as diffusers does; like the CLI', () => {
    // The default model states clip_sample false: DDIM picked after DPM++ 2M must not clip (with a guided
    // epsilon that clipping turns digits into blobs), and its spacing is DDIM's own, not DPM-Solver's linspace.
    const c = card({ samplerOptions: { clipSample: false } })
    p.adoptCard(
      card({ samplerDefaults: { sampler: 'dpmpp-2m', steps: 20, timestepSpacing: 'linspace', sigmas: 'karras' } }),
    )
    p.steps = 30
    p.pickSampler('ddim', c)
    expect(p).toMatchObject({ sampler: 'ddim', clipSample: false, timestepSpacing: 'leading', eta: 0, steps: 30 })
    expect(p.request(c, { redraw: false }).sampler).toMatchObject({ sampler: 'ddim', clipSample: false })
    p.pickSampler('dpmpp-2m', c)
    expect(p.timestepSpacing).toBe('linspace')
    // A model that states none: diffusers' DDPMScheduler clips.
    p.pickSampler('ddpm', card({ samplerOptions: {} }))
    expect(p).toMatchObject({ clipSample: true, timestepSpacing: 'leading' })
    // What the model states wins over the sampler's default.
    p.pickSampler('ddim', card({ samplerOptions: { timestepSpacing: 'trailing', clipSample: true } }))
    expect(p).toMatchObject({ clipSample: true, timestepSpacing: 'trailing' })
    // The table's options stay as set: Karras sigmas follow to a sampler that takes them.
    expect(p.options).toEqual({ sigmas: 'karras' })
  })
})

describe('restore', () => {
  it("puts back last session's controls over the model's defaults", () => {
    p.adoptCard(card())
    p.restore(
      {
        sampler: { sampler: 'ddpm', steps: 300, clipSample: true },
        schedule: { schedule: 'sigmoid', betaEnd: 0.03 },
        seed: 42,
        seedLocked: true,
        batch: 16,
        guidance: 2.5,
      },
      card(),
    )
    expect(p).toMatchObject({
      sampler: 'ddpm',
      steps: 300,
      eta: 0, // not in the settings: the model's default stays
      clipSample: true,
      schedule: 'sigmoid',
      trainSteps: 1000,
      betaEnd: 0.03,
      seed: 42,
      seedLocked: true,
      batch: 16,
      guidance: 2.5,
    })
  })

  it('clamps a guidance above the maximum, and keeps a class the model does not have out', () => {
    const digits = classCard(10)
    p.adoptCard(digits)
    p.classLabel = 4
    p.restore({ guidance: 40, classLabel: 12 }, digits)
    expect(p.guidance).toBe(m.MAX_GUIDANCE)
    expect(p.classLabel).toBe(4)
    p.restore({ classLabel: 7 }, digits)
    expect(p.classLabel).toBe(7)
  })

  it('does not restore unconditional sampling on a model that has no null class', () => {
    const noNull = classCard(null)
    p.adoptCard(noNull)
    p.restore({ classLabel: null }, noNull)
    expect(p.classLabel).toBe(0)
    p.restore({ classLabel: null }, classCard(10))
    expect(p.classLabel).toBeNull()
  })

  it('restores what persisted() saved', () => {
    p.adoptCard(classCard(10))
    Object.assign(p, { sampler: 'ddpm', steps: 77, eta: 0.3, seed: 5, seedLocked: true, batch: 3, classLabel: 2 })
    p.guidanceRescale = 0.35
    const saved = p.persisted()
    // Plain data (it crosses IPC): a structured clone of it is equal to it.
    expect(structuredClone(saved)).toEqual(saved)
    const other = new (Object.getPrototypeOf(p).constructor as new () => typeof p)()
    other.restore(saved, classCard(10))
    expect(other.persisted()).toEqual(saved)
  })
})

describe('applyPng', () => {
  it("applies a Stepwise PNG's parameters and locks its seed", () => {
    p.adoptCard(card())
    expect(p.seedLocked).toBe(false)
    p.applyPng(png({ batch: 200, guidance: 4 }), card())
    expect(p).toMatchObject({
      sampler: 'ddpm',
      steps: 200,
      timestepSpacing: 'trailing',
      schedule: 'cosine',
      trainSteps: 500,
      seed: 1234,
      seedLocked: true,
      batch: m.MAX_BATCH,
      guidance: 4,
    })
  })

  it("reads the model's null class as unconditional, and ignores a class the model lacks", () => {
    const digits = classCard(10)
    p.adoptCard(digits)
    p.classLabel = 3
    p.applyPng(png({ classLabel: 10 }), digits)
    expect(p.classLabel).toBeNull()
    p.applyPng(png({ classLabel: 6 }), digits)
    expect(p.classLabel).toBe(6)
    p.applyPng(png({ classLabel: 25 }), digits)
    expect(p.classLabel).toBe(6)
  })

  it('keeps the batch when the PNG does not say', () => {
    p.batch = 6
    p.applyPng(png(), card())
    expect(p.batch).toBe(6)
  })
})

describe('normalize', () => {
  it('puts emptied fields back to the defaults and pushes the rest into range', () => {
    const c = card({ samplerDefaults: { steps: 40, eta: 0.2 }, schedule: { trainSteps: 800 } })
    p.adoptCard(c)
    // Number inputs give null when emptied.
    Object.assign(p, { eta: null, seed: NaN, guidance: null, betaStart: Infinity, trainSteps: null })
    Object.assign(p, { steps: 5000, batch: 0 })
    p.normalize(c)
    expect(p.trainSteps).toBe(800)
    expect(p.steps).toBe(800) // at most the training steps
    expect(p.eta).toBe(0.2)
    expect(p.batch).toBe(1)
    expect(p.guidance).toBe(m.DEFAULT_GUIDANCE)
    expect(p.betaStart).toBe(c.training.schedule.betaStart)
    expect(Number.isInteger(p.seed) && p.seed >= 0).toBe(true)
  })

  it('rounds counts, clamps eta, guidance, batch and betas', () => {
    const c = card()
    p.adoptCard(c)
    Object.assign(p, { steps: 12.6, eta: 3, batch: 500, guidance: 99, betaEnd: 2, seed: -4, trainSteps: 1e9 })
    p.normalize(c)
    // Below RANDOM_SEED (-1, "random each run") is no seed at all.
    expect(p).toMatchObject({ steps: 13, eta: 1, batch: m.MAX_BATCH, guidance: m.MAX_GUIDANCE, seed: -1 })
    expect(p.betaEnd).toBe(0.999)
    expect(p.trainSteps).toBe(100_000)
  })
})

describe('the seed field', () => {
  it('is the seed the run uses: a typed seed turns the dice off and is kept', () => {
    const c = card()
    p.adoptCard(c)
    expect(p.seedLocked).toBe(false) // the dice is on at first
    p.typeSeed(42)
    expect(p.seedLocked).toBe(true)
    expect(p.request(c).seed).toBe(42)
    expect(p.request(c).seed).toBe(42)
    expect(p.seed).toBe(42)
  })

  it('the dice draws a new seed at each Generate and shows it in the field', () => {
    const c = card()
    p.adoptCard(c)
    p.typeSeed(42)
    p.seedLocked = false
    const first = p.request(c).seed
    expect(first).not.toBe(42)
    expect(p.seed).toBe(first)
    expect(p.request(c).seed).not.toBe(first)
    // A fork, a comparison, a grid, "Denoise from here" use the field as it is.
    expect(p.request(c, { redraw: false }).seed).toBe(p.seed)
  })

  it('-1 gives each run a random seed and stays in the field', () => {
    const c = card()
    p.adoptCard(c)
    p.typeSeed(m.RANDOM_SEED)
    const seeds = [p.request(c).seed, p.request(c, { redraw: false }).seed]
    for (const seed of seeds) expect(seed).toBeGreaterThanOrEqual(0)
    expect(seeds[0]).not.toBe(seeds[1])
    expect(p.seed).toBe(-1)
    expect(p.persisted().seed).toBe(-1)
  })
})

describe('the variation', () => {
  it('is off at 0; above, the run asks for it, its seed drawn at each Generate unless typed, as the seed is', () => {
    const c = card()
    p.adoptCard(c)
    expect(p.request(c)).not.toHaveProperty('variation')
    p.variationStrength = 0.25
    const first = p.request(c).variation!
    expect(first.strength).toBe(0.25)
    expect(p.variationSeed).toBe(first.seed)
    expect(p.request(c).variation!.seed).not.toBe(first.seed)
    expect(p.request(c, { redraw: false }).variation!.seed).toBe(p.variationSeed)
    p.typeVariationSeed(77)
    expect(p.variationSeedLocked).toBe(true)
    expect(p.request(c).variation).toEqual({ seed: 77, strength: 0.25 })
    p.variationWalk = true
    expect(p.request(c).variation).toEqual({ seed: 77, strength: 0.25, walk: true })
  })

  it('a PNG brings its variation back, locked, or turns the variation off; it is kept across sessions', () => {
    const c = card()
    p.adoptCard(c)
    p.applyPng(png({ variation: { seed: 8, strength: 0.4 } }), c)
    expect(p).toMatchObject({ seed: 1234, variationSeed: 8, variationSeedLocked: true, variationStrength: 0.4 })
    const other = new (Object.getPrototypeOf(p).constructor as new () => typeof p)()
    other.restore(p.persisted(), c)
    expect(other).toMatchObject({ variationSeed: 8, variationSeedLocked: true, variationStrength: 0.4 })
    p.applyPng(png(), c)
    expect(p.variationStrength).toBe(0)
    expect(p.request(c)).not.toHaveProperty('variation')
  })
})

describe('request', () => {
  it('sends eta to DDIM only', () => {
    const c = card({ samplerDefaults: { eta: 0.4 } })
    p.adoptCard(c)
    expect(p.request(c).sampler).toMatchObject({ sampler: 'ddim', eta: 0.4, steps: 50 })
    p.sampler = 'ddpm'
    const ddpm = p.request(c).sampler
    expect(ddpm).toMatchObject({ sampler: 'ddpm', steps: 50 })
    expect(ddpm).not.toHaveProperty('eta')
  })

  it("sends the table's other options (sigma schedule, solver) only to samplers that read them", () => {
    const c = card()
    p.adoptCard(c)
    p.sampler = 'dpmpp-2m'
    p.steps = 10
    p.options = { sigmas: 'karras', solverType: 'heun' }
    expect(p.request(c).sampler).toMatchObject({ sampler: 'dpmpp-2m', sigmas: 'karras', solverType: 'heun' })
    p.sampler = 'euler'
    const euler = p.request(c).sampler
    expect(euler).toMatchObject({ sigmas: 'karras' })
    expect(euler).not.toHaveProperty('solverType')
    p.sampler = 'ddim'
    expect(p.request(c).sampler).not.toHaveProperty('sigmas')
    // What a control shows: the value set, else diffusers' default for the sampler.
    expect(m.optionValue(p.options, 'dpmpp-2m', 'finalSigmas')).toBe('zero')
    expect(m.optionValue(p.options, 'euler', 'sigmas')).toBe('karras')
  })

  it("gives another sampler's value of an option its own default: DPM-Solver's heun is no UniPC solver", () => {
    const c = card()
    p.adoptCard(c)
    p.sampler = 'unipc'
    p.options = { solverType: 'heun', solverOrder: 3 }
    expect(p.request(c).sampler).toMatchObject({ solverOrder: 3 })
    expect(p.request(c).sampler).not.toHaveProperty('solverType')
    expect(m.optionValue(p.options, 'unipc', 'solverType')).toBe('bh2')
    p.sampler = 'dpmpp-2m'
    // DPMSolverMultistepScheduler's order 3 is DPM++ 3M, a sampler of its own here.
    expect(p.request(c).sampler).toMatchObject({ solverType: 'heun' })
    expect(p.request(c).sampler).not.toHaveProperty('solverOrder')
    expect(m.optionValue(p.options, 'dpmpp-2m', 'solverOrder')).toBe(2)
  })

  it('keeps those options across sessions and takes them from a PNG; a new model starts from its defaults', () => {
    const c = card()
    p.adoptCard(c)
    p.options = { sigmas: 'exponential', lowerOrderFinal: false }
    const saved = p.persisted()
    p.adoptCard(c)
    expect(p.options).toEqual({})
    p.restore(saved, c)
    expect(p.options).toEqual({ sigmas: 'exponential', lowerOrderFinal: false })
    p.applyPng(png({ sampler: { sampler: 'dpmpp-2m', steps: 20, sigmas: 'karras' } }), c)
    expect(p).toMatchObject({ sampler: 'dpmpp-2m', options: { sigmas: 'karras', lowerOrderFinal: false } })
  })

  it('sends schedule, seed and batch, but no class for an unconditional model', () => {
    const c = card()
    p.adoptCard(c)
    Object.assign(p, { seedLocked: true, seed: 3, batch: 5, classLabel: 2 })
    const req = p.request(c)
    expect(req).toMatchObject({
      schedule: { schedule: 'linear', trainSteps: 1000, betaStart: 0.0001, betaEnd: 0.02 },
      seed: 3,
      batch: 5,
    })
    expect(req).not.toHaveProperty('classLabel')
    expect(req).not.toHaveProperty('guidance')
  })

  it('sends guidance only for a class of a model with a null class', () => {
    const guided = classCard(10)
    p.adoptCard(guided)
    p.guidance = 6

    p.classLabel = 3
    expect(p.request(guided)).toMatchObject({ classLabel: 3, guidance: 6 })

    p.classLabel = null // unconditional: the null class, unguided
    const unconditional = p.request(guided)
    expect(unconditional.classLabel).toBe(10)
    expect(unconditional).not.toHaveProperty('guidance')

    const noNull = classCard(null)
    p.adoptCard(noNull)
    p.classLabel = 3
    const plain = p.request(noNull)
    expect(plain.classLabel).toBe(3)
    expect(plain).not.toHaveProperty('guidance')
  })

  it('sends the guidance rescale with a guided run only, above 0; a PNG brings its own back, or none', () => {
    const guided = classCard(10)
    p.adoptCard(guided)
    p.classLabel = 3
    expect(p.request(guided)).not.toHaveProperty('guidanceRescale')
    p.guidanceRescale = 0.7
    expect(p.request(guided)).toMatchObject({ guidance: 3, guidanceRescale: 0.7 })
    p.guidanceRescale = 4 // typed past its range
    expect(p.request(guided).guidanceRescale).toBe(1)
    p.classLabel = null
    expect(p.request(guided)).not.toHaveProperty('guidanceRescale')

    p.applyPng(png({ classLabel: 3, guidance: 5, guidanceRescale: 0.5 }), guided)
    expect(p.guidanceRescale).toBe(0.5)
    p.applyPng(png({ classLabel: 3, guidance: 5 }), guided)
    expect(p.guidanceRescale).toBe(0)
  })

  it('sends APG with a guided run that projects (eta below 1 or a threshold); a PNG brings its own back, or none', () => {
    const guided = classCard(10)
    p.adoptCard(guided)
    p.classLabel = 3
    expect(p.request(guided)).not.toHaveProperty('apg') // eta 1, no threshold: plain guidance
    p.apgEta = 0
    expect(p.request(guided).apg).toEqual({ eta: 0, normThreshold: 0 })
    Object.assign(p, { apgEta: 1, apgNormThreshold: 15 })
    expect(p.request(guided).apg).toEqual({ eta: 1, normThreshold: 15 })
    p.classLabel = null
    expect(p.request(guided)).not.toHaveProperty('apg')
    p.applyPng(png({ classLabel: 3, guidance: 6, apg: { eta: 0.25, normThreshold: 0 } }), guided)
    expect([p.apgEta, p.apgNormThreshold]).toEqual([0.25, 0])
    p.applyPng(png({ classLabel: 3, guidance: 6 }), guided)
    expect([p.apgEta, p.apgNormThreshold]).toEqual([1, 0])
  })

  it('sends APG momentum with a guided run, keeps it in the settings, and a PNG brings it back or none', () => {
    const guided = classCard(10)
    p.adoptCard(guided)
    p.classLabel = 3
    p.apgMomentum = -0.5
    expect(p.request(guided).apg).toEqual({ eta: 1, normThreshold: 0, momentum: -0.5 })
    expect(p.persisted().apgMomentum).toBe(-0.5)
    p.apgMomentum = 3 // typed out of range
    p.normalize(guided)
    expect(p.apgMomentum).toBe(0.95)
    p.applyPng(png({ classLabel: 3, guidance: 6, apg: { eta: 0, normThreshold: 0, momentum: -0.75 } }), guided)
    expect([p.apgEta, p.apgMomentum]).toEqual([0, -0.75])
    p.applyPng(png({ classLabel: 3, guidance: 6 }), guided)
    expect(p.apgMomentum).toBe(0)
    expect(p.request(guided)).not.toHaveProperty('apg')
    // A model that states its guidance starts without momentum.
    p.apgMomentum = -0.5
    p.adoptCard(classCard(10, { guidanceDefaults: { scale: 6, rescale: 0.7, apgEta: 0 } }))
    expect(p.apgMomentum).toBe(0)
  })

  it('draws a new seed when unlocked, keeps a locked one, and keeps it for redraw: false', () => {
    const c = card()
    p.adoptCard(c)
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.25)
    p.seed = 11
    expect(p.request(c).seed).toBe(2 ** 30)
    expect(p.seed).toBe(2 ** 30) // the sidebar shows the seed used

    random.mockReturnValue(0.5)
    expect(p.request(c, { redraw: false }).seed).toBe(2 ** 30)

    p.seedLocked = true
    expect(p.request(c).seed).toBe(2 ** 30)
  })

  it('normalizes first: an out-of-range field never reaches the engine', () => {
    const c = card()
    p.adoptCard(c)
    Object.assign(p, { seedLocked: true, steps: 0, batch: 1000 })
    expect(p.request(c)).toMatchObject({ sampler: { steps: 1 }, batch: m.MAX_BATCH })
  })
})

describe('the image size', () => {
  const open = card({ sizeFrom: 'smallest', height: 32, width: 32, sizeMultiple: 4 })

  it("is the model's unless asked; a size asked for goes to the nearest multiple the U-Net can halve", () => {
    p.adoptCard(open)
    const sent = () => {
      const r = p.request(open, { redraw: false })
      return [r.height, r.width]
    }
    expect(sent()).toEqual([undefined, undefined])
    Object.assign(p, { height: 64, width: 30 })
    expect(sent()).toEqual([64, 32])
    Object.assign(p, { height: 1, width: 99_999 })
    expect(sent()).toEqual([4, m.MAX_IMAGE_SIDE])
    // An emptied field (a number input gives null or undefined) is the model's size again.
    Object.assign(p, { height: null, width: undefined })
    expect(sent()).toEqual([undefined, undefined])
  })

  it('is never sent for a graph that fixes it, and a new model starts from its own', () => {
    p.adoptCard(open)
    Object.assign(p, { height: 64, width: 64 })
    p.adoptCard(open)
    expect([p.height, p.width]).toEqual([null, null])
    const fixed = card()
    Object.assign(p, { height: 64, width: 64 })
    const r = p.request(fixed, { redraw: false })
    expect([r.height, r.width]).toEqual([undefined, undefined])
  })

  it("comes from a PNG where the model can take it, so the PNG's image is made again", () => {
    p.applyPng(png({ height: 48, width: 64 }), open)
    expect([p.height, p.width]).toEqual([48, 64])
    p.applyPng(png({ height: 32, width: 32 }), open)
    expect([p.height, p.width]).toEqual([null, null])
    p.applyPng(png({ height: 48, width: 64 }), card())
    expect([p.height, p.width]).toEqual([null, null])
  })
})

describe("timesteps of one's own", () => {
  it('set the steps and the sigmas at them; a sampler that takes none sends none', () => {
    const c = card({ samplerDefaults: { sampler: 'dpmpp-2m', steps: 20, sigmas: 'karras' } })
    p.adoptCard(c)
    p.sampler = 'unipc'
    expect(p.ownTimesteps).toEqual([])
    p.setOption('timesteps', [999, 546, 40])
    expect([p.steps, p.options.sigmas, p.ownTimesteps]).toEqual([3, 'spacing', [999, 546, 40]])
    expect(p.request(c, { redraw: false }).sampler).toMatchObject({
      sampler: 'unipc',
      steps: 3,
      sigmas: 'spacing',
      timesteps: [999, 546, 40],
    })
    // The steps field cannot disagree with them: the request counts the timesteps.
    p.steps = 20
    expect(p.request(c, { redraw: false }).sampler?.steps).toBe(3)
    p.sampler = 'ddim'
    expect(p.ownTimesteps).toEqual([])
    expect(p.request(c, { redraw: false }).sampler).not.toHaveProperty('timesteps')
    // Cleared, the spacing places them again.
    p.sampler = 'unipc'
    p.setOption('timesteps', [])
    expect(p.request(c, { redraw: false }).sampler).toMatchObject({ steps: 20, timesteps: [] })
  })
})

describe('scheduleDiffers', () => {
  it("says when the schedule asked for is not the model's", () => {
    const c = card()
    p.adoptCard(c)
    expect(m.scheduleDiffers(p, c)).toBeNull()
    expect(m.scheduleDiffers(p, null)).toBeNull()
    p.schedule = 'cosine'
    expect(m.scheduleDiffers(p, c)).toMatch(/cosine schedule; this model was trained with linear/)
    p.schedule = 'linear'
    p.trainSteps = 500
    expect(m.scheduleDiffers(p, c)).toMatch(/differ from training \(T=1000/)
  })
})
