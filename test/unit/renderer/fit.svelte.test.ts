/**
 * "Fit to this model" (lib/fit.svelte.ts): the probe it asks the engine for, the progress it shows from fit
 * events, the field it fills, and what it does when stopped, refused, or outrun by a change of model or sampler.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'

import type { ResponseOf, Result } from '../../../src-preload/contract'
import { FIT_BATCH } from '../../../src-shared/fit'
import { card, classCard, fail, loadRenderer, ok, type Renderer } from './fake-api'

let r: Renderer
let stopListening: () => void
/** The answer to the fit under way, given when the test says. */
let answer: (result: Result<ResponseOf<'fit.timesteps'>>) => void

const digits = classCard(10, { name: 'digits', path: '/m/digits.onnx', hash: 'abcdef0123' })

beforeEach(async () => {
  r = await loadRenderer()
  stopListening = r.fit.listen()
  r.api.answer('model.load', ok(digits))
  r.api.answer('settings.get', ok({ parameters: {}, provider: 'auto', recentModels: [] } as never))
  await r.model.load()
  r.parameters.adoptCard(digits)
  r.parameters.pickSampler('unipc', digits)
  r.parameters.steps = 4
  r.parameters.typeSeed(7)
  r.parameters.classLabel = 3
  r.parameters.guidance = 2
  r.api.answer('fit.timesteps', () => new Promise((resolve) => (answer = resolve)))
  r.api.answer('fit.cancel', ok({ cancelled: true }))
  r.api.answer('settings.set', (req) => ok({ ...(req as object) }) as never)
})
afterEach(() => stopListening())

const fitted = (o: Partial<ResponseOf<'fit.timesteps'>> = {}): Result<ResponseOf<'fit.timesteps'>> =>
  ok({
    sampler: { sampler: 'unipc', steps: 4, timesteps: [999, 700, 420, 90] } as never,
    timesteps: [999, 700, 420, 90],
    distance: 0.0412,
    startDistance: 0.0633,
    leftOut: 0,
    start: [999, 749, 500, 250],
    evaluations: 41,
    modelCalls: 1164,
    stopped: false,
    elapsedMs: 12_400,
    ...o,
  })

describe('fit', () => {
  it('asks for the run Generate would make on the probe batch, shows its progress, and fills the field', async () => {
    const done = r.fit.start(digits)
    expect(r.fit.status).toBe('fitting')
    const [req] = r.api.requests('fit.timesteps')
    expect(req).toMatchObject({ seed: 7, batch: FIT_BATCH, classLabel: 3, guidance: 2 })
    expect(req.sampler).toMatchObject({ sampler: 'unipc', steps: 4 })
    r.api.emit('fit', { phase: 'reference', calls: 400, totalCalls: 1000, elapsedMs: 900 })
    expect(r.fit.reference).toBe(0.4)
    expect(r.fit.distance).toBeNull()
    const search = (evaluations: number, distance: number, timesteps: number[]) =>
      r.api.emit('fit', { phase: 'search', evaluations, distance, timesteps, elapsedMs: 1000 * evaluations })
    search(1, 0.0633, [999, 749, 500, 250]) // the start
    search(9, 0.05, [999, 720, 500, 250])
    expect([r.fit.startDistance, r.fit.distance, r.fit.evaluations, r.fit.reference]).toEqual([0.0633, 0.05, 9, 1])
    answer(fitted())
    await done
    expect(r.fit.status).toBe('idle')
    expect(r.parameters.ownTimesteps).toEqual([999, 700, 420, 90])
    expect(r.parameters.options.sigmas).toBe('spacing')
    expect(r.fit.outcome).toBe("RMS to the ODE's solution 0.0412, from 0.0633 (32 probe images, 41 runs, 12 s)")
    expect(r.toasts.items.at(-1)?.message).toMatch(/^Timesteps fitted to digits: RMS/)
  })

  it('keeps each fit that filled the field for its model, one per sampler and step count, in the settings', async () => {
    const first = r.fit.start(digits)
    answer(fitted())
    await first
    const [saved] = r.api.requests('settings.set')
    expect(saved.fits).toEqual([
      {
        model: '/m/digits.onnx',
        modelHash: 'abcdef0123',
        sampler: 'unipc',
        timesteps: [999, 700, 420, 90],
        distance: 0.0412,
        startDistance: 0.0633,
        probe: 32,
        savedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ])
    expect(r.fit.keptFor(digits, 'unipc', 4)?.timesteps).toEqual([999, 700, 420, 90])
    expect(r.fit.keptFor(digits, 'unipc', 5)).toBeUndefined()
    expect(r.fit.keptFor(digits, 'deis', 4)).toBeUndefined()
    // Known by its weights: moved (or uploaded again) it is the same model; other weights at its path are not.
    expect(r.fit.keptFor({ path: '/elsewhere/copy.onnx', hash: 'abcdef0123' }, 'unipc', 4)).toBeDefined()
    expect(r.fit.keptFor({ path: '/m/digits.onnx', hash: '9999999999' }, 'unipc', 4)).toBeUndefined()
    expect(r.fit.keptFor({ path: '/m/other.onnx', hash: null }, 'unipc', 4)).toBeUndefined()
    // A refit of the same sampler and steps takes its place; another step count is kept beside it.
    const refit = r.fit.start(digits)
    answer(fitted({ timesteps: [999, 690, 400, 80], distance: 0.039 }))
    await refit
    r.parameters.setOption('timesteps', [])
    r.parameters.steps = 3
    const three = r.fit.start(digits)
    answer(fitted({ timesteps: [999, 500, 60] }))
    await three
    expect(r.fit.kept.map((k) => k.timesteps)).toEqual([
      [999, 500, 60],
      [999, 690, 400, 80],
    ])
    expect(r.api.requests('settings.set').at(-1)?.fits).toEqual(r.fit.kept)
  })

  it('takes the probe size asked for, within bounds, and refines the timesteps in the field', async () => {
    r.parameters.setOption('timesteps', [999, 600, 300, 40])
    r.fit.probe = 1000
    const done = r.fit.start(digits)
    expect(r.api.requests('fit.timesteps')[0]).toMatchObject({
      batch: 256,
      sampler: { sampler: 'unipc', timesteps: [999, 600, 300, 40] },
    })
    expect(r.fit.probe).toBe(256)
    answer(fitted({ stopped: true }))
    await done
    expect(r.fit.outcome).toMatch(/\(256 probe images, 41 runs, 12 s, stopped\)$/)
  })

  it('applies nothing when the model or the sampler changed meanwhile, and says what it found', async () => {
    const done = r.fit.start(digits)
    r.parameters.pickSampler('deis', digits)
    answer(fitted())
    await done
    expect(r.parameters.ownTimesteps).toEqual([])
    expect(r.fit.outcome).toMatch(/^Not applied \(the model or sampler changed meanwhile\): 999, 700, 420, 90;/)
    r.parameters.pickSampler('unipc', digits)
    const again = r.fit.start(digits)
    r.api.answer('model.load', ok(card({ name: 'other', path: '/m/other.onnx' })))
    await r.model.load('/m/other.onnx')
    answer(fitted())
    await again
    expect(r.parameters.ownTimesteps).toEqual([])
    expect(r.fit.outcome).toMatch(/^Not applied/)
    expect(r.fit.kept).toEqual([])
    expect(r.api.requests('settings.set')).toEqual([])
  })

  it('Stop asks the engine once; stopped before its reference ends, there is nothing to keep', async () => {
    const done = r.fit.start(digits)
    await r.fit.stop()
    await r.fit.stop()
    expect(r.fit.status).toBe('stopping')
    expect(r.api.requests('fit.cancel')).toEqual([{}])
    answer(fail('cancelled at step 300 of 1000', 'cancelled'))
    await done
    expect(r.fit.status).toBe('idle')
    expect(r.fit.outcome).toBe('Stopped before the reference run ended: nothing to keep')
    expect(r.fit.problem).toBeNull()
  })

  it("shows the engine's refusal under the button until the next fit, and starts one fit at a time", async () => {
    const first = r.fit.start(digits)
    await r.fit.start(digits) // ignored while one runs
    expect(r.api.requests('fit.timesteps')).toHaveLength(1)
    answer(fail('fit-timesteps: dpmpp-2m-sde adds noise; only an ODE solver can be fitted', 'bad-argument'))
    await first
    expect(r.fit.problem).toMatch(/adds noise/)
    const second = r.fit.start(digits)
    expect(r.fit.problem).toBeNull()
    answer(fitted())
    await second
  })
})
