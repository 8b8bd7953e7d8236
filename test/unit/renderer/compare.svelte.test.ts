/** Compare (lib/compare.svelte.ts): variants of the sidebar's settings from one seed, side by side. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { SampleStartRequest } from '../../../src-preload/contract'
import {
  card,
  classCard,
  fail,
  floats,
  frameEvent,
  generationParameters,
  loadRenderer,
  ok,
  type Renderer,
  started,
  stepAnswer,
} from './fake-api'

let r: Renderer
let stopListening: () => void

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
  stopListening = r.compare.listen()
  r.parameters.adoptCard(card())
  Object.assign(r.parameters, { seed: 77, seedLocked: false })
})
afterEach(() => {
  stopListening()
  vi.useRealTimers()
})

/** sample.start answering run `v<n>` for the n-th request, `steps` timesteps each. */
/** The engine's answers: each request's settings resolved over the card's defaults, as the planner does. */
function answerStarts(steps = 4, refuse: number[] = []) {
  let n = 0
  r.api.answer('sample.start', (req) => {
    const i = n++
    if (refuse.includes(i)) return fail(`variant ${i} refused`, 'bad-argument')
    const base = generationParameters()
    const parameters = {
      ...base,
      sampler: { ...base.sampler, ...req.sampler },
      schedule: { ...base.schedule, ...req.schedule },
      seed: req.seed,
      ...(req.guidance !== undefined && { guidance: req.guidance }),
    }
    return ok(started(`v${i}`, { steps, parameters }))
  })
}

describe('variants', () => {
  it('start as the current settings and the same with the other sampler', () => {
    r.parameters.steps = 30
    r.compare.ensureVariants(r.parameters)
    expect(r.compare.variants).toEqual([
      { sampler: 'ddim', steps: 30, eta: 0, schedule: 'linear', guidance: 3 },
      { sampler: 'ddpm', steps: 30, eta: 0, schedule: 'linear', guidance: 3 },
    ])
    r.parameters.steps = 99
    r.compare.ensureVariants(r.parameters) // first use only
    expect(r.compare.variants[0].steps).toBe(30)
  })

  it('add copies the last, up to four; remove keeps at least two', () => {
    r.compare.ensureVariants(r.parameters)
    r.compare.variants[1].steps = 7
    r.compare.add(r.parameters)
    r.compare.add(r.parameters)
    r.compare.add(r.parameters)
    expect(r.compare.variants.map((v) => v.steps)).toEqual([50, 7, 7, 7])
    r.compare.variants[3].steps = 8
    expect(r.compare.variants[2].steps).toBe(7) // a copy, not the same object
    r.compare.remove(0)
    r.compare.remove(0)
    r.compare.remove(0)
    expect(r.compare.variants.map((v) => v.steps)).toEqual([7, 8])
  })
})

describe('start', () => {
  it("samples every variant once from the sidebar's seed (not redrawn), each with its own settings", async () => {
    r.compare.ensureVariants(r.parameters)
    r.compare.variants[0] = { sampler: 'ddim', steps: 20, eta: 0.5, schedule: 'cosine', guidance: 3 }
    r.compare.variants[1] = { sampler: 'ddpm', steps: 30, eta: 0.5, schedule: 'linear', guidance: 3 }
    answerStarts()
    await r.compare.start(card(), r.parameters)

    const [ddim, ddpm] = r.api.requests('sample.start')
    expect(ddim).toMatchObject({ seed: 77, batch: 1, sampler: { sampler: 'ddim', steps: 20, eta: 0.5 } })
    expect(ddim.schedule).toMatchObject({ schedule: 'cosine', trainSteps: 1000 })
    expect(ddpm).toMatchObject({ seed: 77, batch: 1, sampler: { sampler: 'ddpm', steps: 30 } })
    expect(ddpm.sampler).not.toHaveProperty('eta')
    expect(ddpm.schedule?.schedule).toBe('linear')
    expect(r.parameters.seed).toBe(77)
    expect(r.compare.seed).toBe('77')

    expect(r.compare.runs).toMatchObject([
      { runId: 'v0', label: 'DDIM 20 eta 0.5 cosine', total: 4, status: 'running', frames: [], samples: null },
      { runId: 'v1', label: 'DDPM 30 linear', total: 4, status: 'running' },
    ])
    expect(r.compare.running).toBe(true)
    // One group: the history shows the comparison as one entry.
    const groups = r.api.requests('sample.start').map((q) => q.group)
    expect(groups[0]).toMatchObject({ kind: 'compare', id: expect.stringMatching(/^compare-/) })
    expect(groups[1]).toEqual(groups[0])
    expect(r.history.entries.map((e) => [e.kind, e.runs.length])).toEqual([['compare', 2]])
  })

  it("a row's sigma schedule goes to its own sampler only, over the sidebar's", async () => {
    r.compare.ensureVariants(r.parameters)
    r.compare.variants[0] = { sampler: 'dpmpp-2m', steps: 10, eta: 0, schedule: 'linear', guidance: 3 }
    r.compare.variants[0].options = { sigmas: 'karras' }
    r.compare.variants[1] = { sampler: 'ddim', steps: 10, eta: 0, schedule: 'linear', guidance: 3 }
    r.compare.variants[1].options = { sigmas: 'karras' } // DDIM reads no sigmas
    answerStarts()
    await r.compare.start(card(), r.parameters)
    const [dpm, ddim] = r.api.requests('sample.start')
    expect(dpm.sampler).toMatchObject({ sampler: 'dpmpp-2m', steps: 10, sigmas: 'karras' })
    expect(ddim.sampler).not.toHaveProperty('sigmas')
  })

  it("the sidebar's timesteps of one's own go to the rows with as many steps; the others space theirs", async () => {
    r.parameters.sampler = 'unipc'
    r.parameters.setOption('timesteps', [999, 500, 250, 40])
    r.compare.ensureVariants(r.parameters)
    r.compare.variants[0] = { sampler: 'unipc', steps: 4, eta: 0, schedule: 'linear', guidance: 3 }
    r.compare.variants[1] = { sampler: 'unipc', steps: 10, eta: 0, schedule: 'linear', guidance: 3 }
    answerStarts()
    await r.compare.start(card(), r.parameters)
    const [own, spaced] = r.api.requests('sample.start')
    expect(own.sampler).toMatchObject({ sampler: 'unipc', steps: 4, timesteps: [999, 500, 250, 40] })
    expect(spaced.sampler).toMatchObject({ sampler: 'unipc', steps: 10, timesteps: [] })
  })

  it('brings fields a user emptied or pushed too far back into range', async () => {
    r.compare.ensureVariants(r.parameters)
    Object.assign(r.compare.variants[0], { steps: 5000, eta: 7 })
    Object.assign(r.compare.variants[1], { sampler: 'ddim', steps: null, eta: null })
    answerStarts()
    await r.compare.start(card(), r.parameters)
    const [a, b] = r.api.requests('sample.start')
    expect(a.sampler).toMatchObject({ steps: 1000, eta: 1 })
    expect(b.sampler).toMatchObject({ steps: 50, eta: 0 })
  })

  it("guides each variant with its own guidance where the sidebar's class is guided", async () => {
    const digits = classCard(10)
    r.parameters.adoptCard(digits)
    r.parameters.classLabel = 4
    r.compare.ensureVariants(r.parameters)
    r.compare.variants[1].guidance = 7
    answerStarts()
    await r.compare.start(digits, r.parameters)
    expect(r.api.requests('sample.start').map((q) => [q.classLabel, q.guidance])).toEqual([
      [4, 3],
      [4, 7],
    ])

    r.api.emit('done', { runId: 'v0', samples: floats(1, 4), elapsedMs: 1 })
    r.api.emit('done', { runId: 'v1', samples: floats(1, 4), elapsedMs: 1 })
    r.parameters.classLabel = null // unconditional: nothing to guide
    await r.compare.start(digits, r.parameters)
    const unguided = r.api.requests('sample.start').slice(2)
    expect(unguided.map((q) => q.classLabel)).toEqual([10, 10])
    unguided.forEach((q: SampleStartRequest) => expect(q).not.toHaveProperty('guidance'))
  })

  it('a variant the engine refuses is a toast; the others run under their own labels', async () => {
    r.compare.ensureVariants(r.parameters)
    r.compare.add(r.parameters)
    r.compare.variants[2].steps = 10
    answerStarts(4, [1])
    await r.compare.start(card(), r.parameters)
    expect(r.compare.runs.map((x) => [x.runId, x.label])).toEqual([
      ['v0', 'DDIM 50'],
      ['v2', 'DDPM 10'], // a copy of the last (DDPM), then 10 steps
    ])
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'variant 1 refused' }])
  })

  it('starts nothing while variants still run', async () => {
    r.compare.ensureVariants(r.parameters)
    answerStarts()
    await r.compare.start(card(), r.parameters)
    await r.compare.start(card(), r.parameters)
    expect(r.api.requests('sample.start')).toHaveLength(2)
  })
})

describe('following the runs', () => {
  beforeEach(async () => {
    r.compare.ensureVariants(r.parameters)
    answerStarts(4)
    await r.compare.start(card(), r.parameters)
  })

  it('keeps each run its frames and final sample; ready once all are done', () => {
    r.api.emit('frame', frameEvent('v0', 0))
    r.api.emit('frame', frameEvent('v0', 1))
    r.api.emit('frame', frameEvent('v1', 0))
    r.api.emit('frame', frameEvent('elsewhere', 0))
    r.compare.flush()
    expect(r.compare.runs.map((x) => x.frames.length)).toEqual([2, 1])
    expect(r.compare.runs[0].frames[1]).toMatchObject({ timestep: 20 })
    expect(r.compare.ready).toBe(false)

    r.api.emit('done', { runId: 'v0', samples: floats(9), elapsedMs: 1 })
    expect(r.compare.runs[0]).toMatchObject({ status: 'done' })
    expect(r.compare.runs[0].samples?.[0]).toBe(9)
    expect(r.compare).toMatchObject({ running: true, ready: false })
    r.api.emit('done', { runId: 'v1', samples: floats(9), elapsedMs: 1 })
    expect(r.compare).toMatchObject({ running: false, ready: true })
  })

  it('a failed run is marked and toasted; a cancelled one only marked', () => {
    r.api.emit('failed', { runId: 'v0', error: { code: 'runtime-error', message: 'boom' } })
    r.api.emit('failed', { runId: 'v1', error: { code: 'cancelled', message: 'cancelled' } })
    expect(r.compare.runs.map((x) => x.status)).toEqual(['failed', 'failed'])
    expect(r.toasts.items.map((t) => t.message)).toEqual(['boom'])
    expect(r.compare.running).toBe(false)
    expect(r.compare.ready).toBe(false)
  })

  it('the scrubber shows each run at the same fraction of its steps, the final sample at the end', async () => {
    // Step 3 came without its images: following, the newest step with images shows.
    for (let i = 0; i < 4; i++) r.api.emit('frame', frameEvent('v0', i, 4, i < 3))
    r.compare.flush()
    const run = r.compare.runs[0]
    expect(r.compare.shownOf(run)).toMatchObject({ step: 2, timestep: 10 }) // at the end, not done yet
    expect(r.compare.shownOf(run).values?.[0]).toBe(2.5)
    r.api.emit('done', { runId: 'v0', samples: floats(9), elapsedMs: 1 })
    const done = r.compare.runs[0]
    expect(r.compare.shownOf(done)).toMatchObject({ step: 4, timestep: null })
    expect(r.compare.shownOf(done).values?.[0]).toBe(9)

    r.compare.position = r.SCRUB_MAX / 2 // step 2 of 4
    expect(r.compare.shownOf(done)).toMatchObject({ step: 2, timestep: 10 })
    expect(r.compare.shownOf(done).values?.[0]).toBe(2.5) // predicted x0
    r.compare.of = 'xt'
    expect(r.compare.shownOf(done).values?.[0]).toBe(2)
    r.compare.position = 0
    expect(r.compare.shownOf(done)).toMatchObject({ step: 0, timestep: 30 })
    // A step whose images did not come is fetched when shown.
    r.api.answer('runs.steps', (req) => ok({ steps: req.steps.map(stepAnswer) }))
    r.compare.position = (3 / 4) * r.SCRUB_MAX
    expect(r.compare.shownOf(r.compare.runs[0])).toMatchObject({ step: 3, values: null })
    await vi.advanceTimersByTimeAsync(0)
    expect(r.api.requests('runs.steps')).toEqual([{ runId: 'v0', steps: [3] }])
    expect(r.compare.shownOf(r.compare.runs[0]).values?.[0]).toBe(3) // x_t of step 3

    expect(r.compare.shownOf(r.compare.runs[1])).toEqual({ values: null, step: 0, timestep: null })
  })

  it('cancel asks the engine to stop the runs still going', async () => {
    r.api.emit('done', { runId: 'v0', samples: floats(9), elapsedMs: 1 })
    r.api.answer('sample.cancel', ok({ cancelled: true }))
    await r.compare.cancel()
    expect(r.api.requests('sample.cancel')).toEqual([{ runId: 'v1' }])
  })

  it('saves a sheet or GIF of all runs once done, and says where', async () => {
    r.api.answer('export.save', ok({ paths: ['/out/compare.png'] }))
    await r.compare.save('compare-sheet')
    expect(r.api.requests('export.save')).toEqual([]) // not ready

    r.api.emit('done', { runId: 'v0', samples: floats(9), elapsedMs: 1 })
    r.api.emit('done', { runId: 'v1', samples: floats(9), elapsedMs: 1 })
    r.compare.of = 'xt'
    await r.compare.save('compare-gif')
    expect(r.api.requests('export.save')).toEqual([
      { runId: 'v0', with: ['v1'], kind: 'compare-gif', index: 0, gifOf: 'xt' },
    ])
    expect(r.toasts.items).toMatchObject([{ kind: 'info', message: 'Saved /out/compare.png' }])
    expect(r.compare.exporting).toBe(false)

    r.api.answer('export.save', fail('disk full'))
    await r.compare.save('compare-sheet')
    expect(r.toasts.items.at(-1)).toMatchObject({ kind: 'error', message: 'disk full' })
  })
})
