/** What the user does across the state modules (lib/actions.ts): start up, generate, fork, reopen, drops, menus. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { DEFAULT_SETTINGS, type ModelCard, type RunFrames } from '../../../src-preload/contract'
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
  runList,
  started,
  summary,
} from './fake-api'

let r: Renderer
let stopListening: () => void

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
  stopListening = r.run.listen()
  r.api.answer('settings.get', ok(DEFAULT_SETTINGS))
})
afterEach(() => {
  stopListening()
  vi.useRealTimers()
})

/** A model loaded through model.load, as at start (its card adopted by the parameters). */
async function loadModel(c: ModelCard = card()) {
  r.api.answer('model.load', ok(c))
  await r.model.load()
}

/** A finished run 'parent' of 4 steps shown, its 4 frames in. */
async function finishedRun(parameters = generationParameters({ seed: 900 })) {
  r.api.answer('sample.start', ok(started('parent', { parameters })))
  await r.run.start({ sampler: {}, seed: 900, batch: 2 })
  for (let i = 0; i < 4; i++) r.api.emit('frame', frameEvent('parent', i))
  r.api.emit('done', { runId: 'parent', samples: floats(9), elapsedMs: 1 })
}

describe('startUp', () => {
  it("loads the default model, then puts last session's controls over its defaults, its kept fits and export options", async () => {
    const fits = [
      {
        ...{ model: '/models/tiny.onnx', sampler: 'unipc' as const, timesteps: [999, 500, 40] },
        ...{ distance: 0.02, startDistance: 0.04, probe: 32, savedAt: '2026-12-02T03:00:00.000Z' },
      },
    ]
    const exported = { ...DEFAULT_SETTINGS.export, scale: 2, sheetColumns: 5 }
    const settings = { ...DEFAULT_SETTINGS, parameters: { sampler: { steps: 12 }, seed: 3 }, fits, export: exported }
    r.api.answer('settings.get', ok(settings))
    r.api.answer('model.load', ok(card({ samplerDefaults: { sampler: 'ddpm', steps: 1000 } })))
    expect(r.isRestored()).toBe(false)
    await r.startUp()
    expect(r.api.requests('model.load')).toEqual([{}])
    expect(r.parameters).toMatchObject({ sampler: 'ddpm', steps: 12, seed: 3 })
    // Kept before fits had a model hash: known by the path.
    expect(r.fit.keptFor(card(), 'unipc', 3)).toEqual(fits[0])
    expect(r.fit.keptFor({ path: '/models/other.onnx', hash: '0123456789' }, 'unipc', 3)).toBeUndefined()
    // The export bar as it was last used.
    expect(r.exporter).toMatchObject({ scale: 2, sheetColumns: 5 })
    expect(r.isRestored()).toBe(true)
  })

  it('says what was wrong with the settings file, when the host repaired it', async () => {
    const problem = 'settings.json: a saved setting was invalid and reset to the default: parameters.batch (1e9)'
    r.api.answer('settings.get', ok({ ...DEFAULT_SETTINGS, parameters: { seed: 3 }, problem }))
    r.api.answer('model.load', ok(card()))
    await r.startUp()
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: problem }])
    expect(r.parameters).toMatchObject({ seed: 3 })
  })

  it('without the settings: the defaults, a toast, and persisting may begin', async () => {
    r.api.answer('settings.get', fail('settings unreadable'))
    r.api.answer('model.load', ok(card({ samplerDefaults: { steps: 40 } })))
    await r.startUp()
    expect(r.parameters.steps).toBe(40)
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'settings unreadable' }])
    expect(r.isRestored()).toBe(true)
  })

  it('a newly loaded model resets the noising preview made for another size', async () => {
    r.noise.preview = { channels: 1, height: 8, width: 8, image: new ArrayBuffer(0), rows: [] }
    await loadModel(card({ height: 32, width: 32 }))
    expect(r.noise.preview).toBeNull()
  })
})

describe('generate', () => {
  it('samples with a new seed, following the new run from the start in the results tab', async () => {
    await loadModel()
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    r.view.tab = 'grid'
    Object.assign(r.parameters, { batch: 2, seed: 1 })
    r.timeline.select(3)
    r.timeline.scrub(5)
    r.api.answer('sample.start', ok(started('a')))
    await r.generate()
    expect(r.api.requests('sample.start')).toMatchObject([{ seed: 2 ** 31, batch: 2 }])
    expect(r.view.tab).toBe('results')
    expect(r.timeline).toMatchObject({ image: 0, follow: true, position: 0 })
    expect(r.run).toMatchObject({ runId: 'a', status: 'running' })
    vi.restoreAllMocks()
  })

  it('does nothing without a model or while a model loads; while a run runs, it queues', async () => {
    r.api.answer('sample.start', ok(started('a')))
    await r.generate()
    expect(r.api.requests('sample.start')).toEqual([])

    await loadModel()
    await r.generate()
    await r.generate()
    expect(r.api.requests('sample.start')).toHaveLength(1)
    expect(r.queue.items).toHaveLength(1)

    r.queue.clear()
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
    r.model.loading = true
    await r.generate()
    expect(r.api.requests('sample.start')).toHaveLength(1)
    expect(r.queue.items).toHaveLength(0)
  })

  it('N batches: with the dice on each draws a seed; with a seed typed in, each starts where the last ended', async () => {
    await loadModel()
    Object.assign(r.parameters, { batch: 4, seed: 10, seedLocked: true })
    r.api.answer('sample.start', ok(started('a')))
    await r.generate(3)
    expect(r.api.requests('sample.start').map((q) => q.seed)).toEqual([10])
    expect(r.queue.items.map((q) => q.request.seed)).toEqual([14, 18])
    r.queue.clear()
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })

    r.parameters.seedLocked = false
    let draw = 0
    vi.spyOn(Math, 'random').mockImplementation(() => (draw = (draw + 0.125) % 1))
    r.api.answer('sample.start', ok(started('b')))
    await r.generate(3)
    const seeds = [r.api.requests('sample.start').at(-1)!.seed, ...r.queue.items.map((q) => q.request.seed)]
    expect(new Set(seeds).size).toBe(3) // each batch its own draw
    seeds.forEach((seed) => expect(seed % 2 ** 29).toBe(0)) // drawn: a multiple of 2^32 / 8
    vi.restoreAllMocks()
  })

  it('N batches with a variation: the seed stays, a typed variation seed goes on where the last batch ended', async () => {
    await loadModel()
    Object.assign(r.parameters, { batch: 4, seed: 10, seedLocked: true, variationStrength: 0.3 })
    r.parameters.typeVariationSeed(50)
    r.api.answer('sample.start', ok(started('a')))
    await r.generate(3)
    const requests = [r.api.requests('sample.start')[0], ...r.queue.items.map((q) => q.request)]
    expect(requests.map((q) => q.seed)).toEqual([10, 10, 10])
    expect(requests.map((q) => q.variation)).toEqual([50, 54, 58].map((seed) => ({ seed, strength: 0.3 })))
    r.queue.clear()
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })

    // The variation dice on: each batch draws its own variation seed, and the seed field is left as it was.
    r.parameters.variationSeedLocked = false
    r.api.answer('sample.start', ok(started('b')))
    await r.generate(2)
    const next = [r.api.requests('sample.start').at(-1)!, ...r.queue.items.map((q) => q.request)]
    expect(next.map((q) => q.seed)).toEqual([10, 10])
    expect(next[0].variation!.seed).not.toBe(next[1].variation!.seed)
    // A strength of 0 sends no variation.
    r.queue.clear()
    r.api.emit('done', { runId: 'b', samples: floats(1), elapsedMs: 1 })
    r.parameters.variationStrength = 0
    r.api.answer('sample.start', ok(started('c')))
    await r.generate()
    expect(r.api.requests('sample.start').at(-1)).not.toHaveProperty('variation')
  })
})

describe('forkHere', () => {
  it('is possible on a finished run with frames, at the step shown', async () => {
    await loadModel()
    expect(r.canFork()).toBe(false)
    await finishedRun()
    expect(r.canFork()).toBe(true)
    r.run.clear()
    expect(r.canFork()).toBe(false)
  })

  it("continues the run shown from the step shown with the sidebar's sampler, the parent's seed and batch", async () => {
    await loadModel()
    await finishedRun()
    Object.assign(r.parameters, { sampler: 'ddpm', steps: 100, seed: 1, seedLocked: false, batch: 7 })
    r.timeline.select(1)
    r.timeline.scrub(2)
    r.api.answer('sample.start', ok(started('fork', { startStep: 2, parent: { runId: 'parent', step: 2 } })))
    await r.forkHere()
    const [, req] = r.api.requests('sample.start')
    expect(req).toMatchObject({ fork: { runId: 'parent', step: 2 }, seed: 900, batch: 2 })
    expect(req.sampler).toMatchObject({ sampler: 'ddpm', steps: 100 })
    expect(req).not.toHaveProperty('classLabel') // the parent's
    expect(req).not.toHaveProperty('guidance')
    expect(r.run.frames).toHaveLength(2) // the parent's first two
    expect(r.timeline).toMatchObject({ image: 1, follow: true })
  })

  it("guides the fork with the sidebar's guidance when the parent sampled a class", async () => {
    const digits = classCard(10)
    await loadModel(digits)
    r.parameters.guidance = 6
    await finishedRun(generationParameters({ seed: 900, classLabel: 4, guidance: 2 }))
    r.api.answer('sample.start', ok(started('fork')))
    await r.forkHere()
    expect(r.api.requests('sample.start')[1].guidance).toBe(6)

    r.api.emit('done', { runId: 'fork', samples: floats(1), elapsedMs: 1 })
    await finishedRun(generationParameters({ seed: 900, classLabel: 10 })) // the null class: unconditional
    r.api.answer('sample.start', ok(started('fork2')))
    await r.forkHere()
    expect(r.api.requests('sample.start')[3]).not.toHaveProperty('guidance')
  })
})

describe('loading a model', () => {
  it('a new one brings its defaults; the current one loaded anew (its other weights, another provider) keeps what was set', async () => {
    const weighted = (taken: 'ema' | 'online') =>
      card({ path: '/m/model-3.pt', samplerDefaults: { steps: 50 }, weights: { taken, both: true } })
    r.api.answer('model.load', (req) =>
      ok(req.path === '/m/other.onnx' ? card({ path: req.path }) : weighted(req.weights ?? 'ema')),
    )
    r.api.answer('settings.set', ok({ ...DEFAULT_SETTINGS, provider: 'cpu' }))
    await r.model.load('/m/model-3.pt')
    r.parameters.steps = 7
    await r.model.useWeights('online')
    await r.model.prefer('cpu')
    expect(r.parameters.steps).toBe(7)
    await r.model.load('/m/other.onnx')
    expect(r.parameters.steps).toBe(50)
  })
})

describe('denoiseFrom', () => {
  it("samples from a copy of the image at that timestep, at the image's size", async () => {
    await loadModel()
    const image = new Float32Array([0.25, -0.5]).buffer
    r.parameters.height = 64 // Size asks another of new runs: the image is the size it was previewed at
    r.api.answer('sample.start', ok(started('sdedit')))
    await r.denoiseFrom({ image, height: 1, width: 2 }, 300)
    const [req] = r.api.requests('sample.start')
    expect(req.fromImage?.timestep).toBe(300)
    expect(req.fromImage?.image).not.toBe(image)
    expect([...new Float32Array(req.fromImage!.image)]).toEqual([0.25, -0.5])
    expect([req.height, req.width]).toEqual([1, 2])
  })
})

describe('denoiseFrom uses the seed field', () => {
  it('the seed shown, not a new one, even with the dice on', async () => {
    await loadModel()
    r.parameters.typeSeed(77)
    r.parameters.seedLocked = false
    r.api.answer('sample.start', ok(started('sdedit')))
    await r.denoiseFrom({ image: new Float32Array(2).buffer, height: 1, width: 2 }, 300)
    expect(r.api.requests('sample.start')[0].seed).toBe(77)
    expect(r.parameters.seed).toBe(77)
  })
})

describe('one image of the run shown', () => {
  it('reuse seed puts seed + k in the field and turns the dice off', async () => {
    await loadModel()
    await finishedRun()
    r.parameters.seedLocked = false
    r.reuseSeed(1)
    expect([r.parameters.seed, r.parameters.seedLocked]).toEqual([901, true])
  })

  it("reuse seed on a variation's image: the seed and its variation seed + k in the fields, both locked", async () => {
    await loadModel()
    await finishedRun(generationParameters({ seed: 900, variation: { seed: 30, strength: 0.4 } }))
    Object.assign(r.parameters, { seedLocked: false, variationSeedLocked: false, variationStrength: 0 })
    r.reuseSeed(1)
    expect(r.parameters).toMatchObject({
      seed: 900,
      seedLocked: true,
      variationSeed: 31,
      variationSeedLocked: true,
      variationStrength: 0.4,
    })
    expect(r.seedOf(1)).toBe('900 var 31')
    // A plain image's seed turns the variation off, so Generate makes that image again.
    await finishedRun()
    r.reuseSeed(1)
    expect([r.parameters.seed, r.parameters.variationStrength]).toEqual([901, 0])
    expect(r.seedOf(1)).toBe('901')
  })

  it("variations of an image: its seed locked, its run's settings, a new variation seed each Generate, and Generate", async () => {
    await loadModel(classCard())
    const parameters = generationParameters({ seed: 900, classLabel: 3, guidance: 4 })
    parameters.sampler = { ...parameters.sampler, sampler: 'ddpm', steps: 30 }
    await finishedRun(parameters)
    expect(r.canVary()).toBe(true)
    r.api.answer('sample.start', ok(started('variations')))
    await r.variationsOf(1)
    const req = r.api.requests('sample.start').at(-1)!
    expect(req).toMatchObject({ seed: 901, classLabel: 3, guidance: 4, sampler: { sampler: 'ddpm', steps: 30 } })
    expect(req.variation!.strength).toBe(r.DEFAULT_VARIATION_STRENGTH)
    expect(r.parameters).toMatchObject({ seedLocked: true, variationSeedLocked: false })
    // A strength the user set stays; a variation's own images cannot have variations (two seeds' noise).
    r.api.emit('done', { runId: 'variations', samples: floats(1), elapsedMs: 1 })
    await finishedRun(parameters)
    r.parameters.variationStrength = 0.05
    r.api.answer('sample.start', ok(started('closer')))
    await r.variationsOf(0)
    expect(r.api.requests('sample.start').at(-1)!.variation!.strength).toBe(0.05)
    r.api.emit('done', { runId: 'closer', samples: floats(1), elapsedMs: 1 })
    await finishedRun(generationParameters({ seed: 5, variation: { seed: 6, strength: 0.1 } }))
    expect(r.canVary()).toBe(false)
  })

  it("compare with: the image's seed and class in the sidebar, its run's settings as variant A, the tab open", async () => {
    await loadModel(classCard())
    const parameters = generationParameters({ seed: 900, classLabel: 3, guidance: 4 })
    parameters.sampler = { ...parameters.sampler, sampler: 'ddpm', steps: 30 }
    await finishedRun(parameters)
    r.compareWith(1)
    expect(r.parameters).toMatchObject({ seed: 901, seedLocked: true, classLabel: 3, guidance: 4 })
    expect(r.compare.variants[0]).toMatchObject({ sampler: 'ddpm', steps: 30, guidance: 4 })
    expect(r.compare.variants).toHaveLength(2)
    expect(r.view.tab).toBe('compare')
  })
})

describe('keys', () => {
  const press = (key: string, o: Partial<KeyboardEvent> & { code?: string } = {}) => {
    const event = {
      key,
      code: o.code ?? '',
      ctrlKey: false,
      metaKey: false,
      shiftKey: false,
      altKey: false,
      target: null,
      preventDefault: vi.fn(),
      ...o,
    } as unknown as KeyboardEvent
    r.handleKey(event, () => {})
    return event
  }

  it("the browser host fires the menu's shortcuts itself: Ctrl+S exports the PNG, not the page", async () => {
    r.api.host = 'browser'
    await loadModel()
    await finishedRun()
    r.api.answer('export.save', ok({ paths: ['/out/seed-900.png'] }))
    r.api.answer('runs.list', ok(runList())) // waitFor runs the timers
    const save = press('s', { code: 'KeyS', ctrlKey: true })
    expect(save.preventDefault).toHaveBeenCalled()
    await vi.waitFor(() => expect(r.exporter.busy).toBe(false))
    press('S', { code: 'KeyS', ctrlKey: true, shiftKey: true })
    await vi.waitFor(() => expect(r.exporter.busy).toBe(false))
    press('ß', { code: 'KeyS', ctrlKey: true, altKey: true })
    await vi.waitFor(() => expect(r.api.requests('export.save')).toHaveLength(3))
    expect(r.api.requests('export.save').map((q) => [q.kind, q.index])).toEqual([
      ['png', 0],
      ['gif', 0],
      ['png', undefined],
    ])
  })

  it('in Electron the native menu fires them: the page leaves them alone', async () => {
    await loadModel()
    await finishedRun()
    const save = press('s', { code: 'KeyS', ctrlKey: true })
    expect(save.preventDefault).not.toHaveBeenCalled()
    expect(r.api.requests('export.save')).toEqual([])
  })

  it('? opens and closes the shortcuts sheet; Escape closes it; Space looks closer', async () => {
    press('?')
    expect(r.view.shortcutsOpen).toBe(true)
    press('Escape')
    expect(r.view.shortcutsOpen).toBe(false)
    await loadModel()
    await finishedRun()
    press(' ')
    expect(r.view.closer).toBe(true)
  })
})

describe('reopen and deleteRun', () => {
  const frames = (runId: string, samples: ArrayBuffer | null = floats(3)): RunFrames => ({
    runId,
    parameters: generationParameters(),
    shape: { batch: 2, channels: 1, height: 2, width: 2 },
    timesteps: [10, 0],
    frames: [],
    samples,
    timeline: true,
  })

  it('shows a run of the history, keeping its thumbnail, in the results tab', async () => {
    r.view.tab = 'compare'
    r.api.answer('runs.frames', (req) => ok(frames(req.runId)))
    await r.reopen('old')
    expect(r.view.tab).toBe('results')
    expect(r.run).toMatchObject({ runId: 'old', reopened: true, status: 'done' })
    expect(r.history.thumbnails.old.values[0]).toBe(3)
    await r.reopen('old') // already shown: not fetched again
    expect(r.api.requests('runs.frames')).toHaveLength(1)
  })

  it('not while a run runs, nor when the frames cannot be had', async () => {
    r.api.answer('runs.frames', fail('gone'))
    await r.reopen('old')
    expect(r.run.runId).toBeNull()
    await loadModel()
    r.api.answer('sample.start', ok(started('live')))
    await r.generate()
    await r.reopen('old')
    expect(r.api.requests('runs.frames')).toHaveLength(1)
    expect(r.run.runId).toBe('live')
  })

  it("reopening puts the run's parameters in the sidebar, its seed kept", async () => {
    r.api.answer('runs.frames', (req) =>
      ok({
        ...frames(req.runId),
        parameters: generationParameters({
          seed: 4242,
          sampler: { ...card().samplerDefaults, sampler: 'ddpm', steps: 77 },
        }),
      }),
    )
    await r.reopen('old')
    expect(r.parameters).toMatchObject({ sampler: 'ddpm', steps: 77, seed: 4242, seedLocked: true, batch: 2 })
  })

  it('deleting the run shown clears it once its undo has expired; deleting another leaves it', async () => {
    r.api.answer('runs.frames', (req) => ok(frames(req.runId)))
    r.api.answer('runs.delete', ok({ deleted: true }))
    r.api.answer('runs.list', ok(runList([summary('shown'), summary('other')])))
    r.history.refresh()
    await vi.advanceTimersByTimeAsync(150)
    await r.reopen('shown')
    r.deleteRun('other')
    await vi.advanceTimersByTimeAsync(r.UNDO_MS)
    expect(r.api.requests('runs.delete')).toEqual([{ runId: 'other' }])
    expect(r.run.runId).toBe('shown')
    r.deleteRun('shown')
    expect(r.run.runId).toBe('shown') // until its undo has expired
    await vi.advanceTimersByTimeAsync(r.UNDO_MS)
    expect(r.run).toMatchObject({ runId: null, status: 'idle' })
  })
})

describe('PNGs and drops', () => {
  const png = (name: string) => new File([new Uint8Array([1, 2, 3])], name, { type: 'image/png' })
  const pngParameters = (model: string) => ({
    model,
    sampler: { sampler: 'ddpm' as const, steps: 250 },
    schedule: {},
    seed: 31337,
    height: 8,
    width: 8,
  })

  it("restores a Stepwise PNG's parameters, its seed locked, and says so", async () => {
    await loadModel(card({ name: 'tiny' }))
    r.api.answer('png.read', ok(pngParameters('tiny')))
    await r.restoreFromPng(png('seed-31337.png'))
    expect(r.api.requests('png.read')).toMatchObject([{ name: 'seed-31337.png' }])
    expect([...new Uint8Array(r.api.requests('png.read')[0].bytes)]).toEqual([1, 2, 3])
    expect(r.parameters).toMatchObject({ sampler: 'ddpm', steps: 250, seed: 31337, seedLocked: true })
    expect(r.toasts.items.map((t) => t.message)).toEqual([
      'Parameters restored from seed-31337.png (seed 31337, locked)',
    ])
  })

  it('says when the PNG was made with another model; a PNG without parameters is an error', async () => {
    await loadModel(card({ name: 'tiny' }))
    r.api.answer('png.read', ok(pngParameters('huge')))
    await r.restoreFromPng(png('a.png'))
    expect(r.toasts.items[0].message).toBe('a.png was made with huge; its parameters are applied to tiny')
    // The same name, other weights (card() has hash 0123456789): said; the same weights: nothing to say.
    r.api.answer('png.read', ok({ ...pngParameters('tiny'), modelHash: 'aaaaaaaaaa' }))
    await r.restoreFromPng(png('c.png'))
    expect(r.toasts.items.at(-2)?.message).toBe(
      'c.png was made with other weights of tiny (model hash aaaaaaaaaa, loaded 0123456789); ' +
        'its parameters are applied to the loaded ones',
    )
    r.api.answer('png.read', ok({ ...pngParameters('tiny'), modelHash: '0123456789' }))
    await r.restoreFromPng(png('d.png'))
    expect(r.toasts.items.at(-2)?.message).toBe('Parameters restored from c.png (seed 31337, locked)')
    expect(r.toasts.items.at(-1)?.message).toBe('Parameters restored from d.png (seed 31337, locked)')
    r.api.answer('png.read', fail('b.png has no Stepwise parameters', 'bad-png'))
    await r.restoreFromPng(png('b.png'))
    expect(r.toasts.items.at(-1)).toMatchObject({ kind: 'error', message: 'b.png has no Stepwise parameters' })
  })

  it('a PNG larger than MAX_IMAGE_BYTES is refused in the page, never read nor sent', async () => {
    const huge = png('huge.png')
    Object.defineProperty(huge, 'size', { value: 300 * 1024 ** 2 })
    huge.arrayBuffer = () => Promise.reject(new Error('read'))
    await r.restoreFromPng(huge)
    expect(r.api.calls).toEqual([])
    expect(r.toasts.items).toMatchObject([
      { kind: 'error', message: 'huge.png is 300 MiB; images dropped here may be up to 64 MiB' },
    ])
  })

  it('a drop: PNGs restore parameters, the rest is offered to the engine as a model', async () => {
    await loadModel()
    r.api.answer('png.read', ok(pngParameters('tiny')))
    r.api.staged = ok(['/staged/model.onnx'])
    const onnx = new File(['x'], 'model.onnx')
    await r.acceptDrop({ items: [], files: [png('p.png'), onnx] } as unknown as DataTransfer)
    expect(r.api.requests('png.read')).toHaveLength(1)
    expect(r.api.stageCalls).toEqual([{ top: [onnx], files: [{ file: onnx, relativePath: '' }] }])
    expect(r.api.requests('model.load').at(-1)).toEqual({ path: '/staged/model.onnx' })
  })

  it('a drop of PNGs only loads no model', async () => {
    r.api.answer('png.read', ok(pngParameters('tiny')))
    await r.acceptDrop({ items: [], files: [png('p.png'), png('q.png')] } as unknown as DataTransfer)
    expect(r.api.requests('png.read')).toHaveLength(2)
    expect(r.api.stageCalls).toEqual([])
  })
})

describe('runCommand', () => {
  it('opens a model with the dialog in Electron, the page file input in the browser', async () => {
    const openInBrowser = vi.fn()
    r.api.answer('model.open', ok(null))
    r.runCommand('open-model', openInBrowser)
    await vi.waitFor(() => expect(r.api.requests('model.open')).toHaveLength(1))
    expect(openInBrowser).not.toHaveBeenCalled()
    r.api.host = 'browser'
    r.runCommand('open-model', openInBrowser)
    expect(openInBrowser).toHaveBeenCalledExactlyOnceWith(false)
    expect(r.api.requests('model.open')).toHaveLength(1)
  })

  it('Open Folder...: the dialog for a folder in Electron, the page folder input in the browser', async () => {
    const openInBrowser = vi.fn()
    r.api.answer('model.open', ok(null))
    r.runCommand('open-folder', openInBrowser)
    await vi.waitFor(() => expect(r.api.requests('model.open')).toEqual([{ folder: true }]))
    r.api.host = 'browser'
    r.runCommand('open-folder', openInBrowser)
    expect(openInBrowser).toHaveBeenCalledExactlyOnceWith(true)
  })

  it('generate, cancel and the exports', async () => {
    await loadModel()
    r.api.answer('sample.start', ok(started('a')))
    r.api.answer('sample.cancel', ok({ cancelled: true }))
    r.api.answer('export.save', ok({ paths: [] }))
    r.api.answer('runs.list', ok(runList())) // waitFor runs the timers
    r.runCommand('generate', () => {})
    await vi.waitFor(() => expect(r.run.status).toBe('running'))
    r.runCommand('cancel', () => {})
    await vi.waitFor(() => expect(r.api.requests('sample.cancel')).toEqual([{ runId: 'a' }]))
    r.api.emit('done', { runId: 'a', samples: floats(1), elapsedMs: 1 })
    for (const c of ['export-png', 'export-all', 'export-sheet', 'export-gif'] as const) {
      r.runCommand(c, () => {})
      await vi.waitFor(() => expect(r.exporter.busy).toBe(false))
    }
    expect(r.api.requests('export.save').map((q) => q.kind)).toEqual(['png', 'png', 'sheet', 'gif'])
  })
})
