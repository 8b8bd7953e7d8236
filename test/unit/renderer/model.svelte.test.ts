/** The loaded model (lib/model.svelte.ts): loading, the dialog, dropped files, the provider, recent models. */
import { beforeEach, describe, expect, it, vi } from 'vitest'

import { DEFAULT_SETTINGS, type ModelCard, type Result } from '../../../src-preload/contract'
import { isTrainingState } from '../../../src-shared/model'
import { card, fail, loadRenderer, ok, type Renderer } from './fake-api'

let r: Renderer
let loaded: ModelCard[]

beforeEach(async () => {
  r = await loadRenderer()
  loaded = []
  r.model.onLoad((c) => loaded.push(c))
  r.api.answer('settings.get', ok({ ...DEFAULT_SETTINGS, recentModels: ['/m/a.onnx'], provider: 'cpu' }))
})

const named = (name: string) => card({ name, path: `/m/${name}.onnx` })
const file = (name: string) => new File(['x'], name)

describe('load', () => {
  it('loads the bundled default, tells the listeners, then reads the recent models and provider', async () => {
    r.api.answer('model.load', ok(named('default')))
    const pending = r.model.load()
    expect(r.model.loading).toBe(true)
    expect(await pending).toBe(true)
    expect(r.api.requests('model.load')).toEqual([{}])
    expect(r.model.card?.name).toBe('default')
    expect(loaded.map((c) => c.name)).toEqual(['default'])
    expect(r.model.loading).toBe(false)
    await vi.waitFor(() => expect(r.model.recent).toEqual(['/m/a.onnx']))
    expect(r.model.preferred).toBe('cpu')
  })

  it('a failed load keeps the model there was and says why', async () => {
    r.api.answer('model.load', ok(named('first')))
    await r.model.load('/m/first.onnx')
    r.api.answer('model.load', fail('not an ONNX file', 'not-onnx'))
    expect(await r.model.load('/m/bad.onnx')).toBe(false)
    expect(r.api.requests('model.load')).toEqual([{ path: '/m/first.onnx' }, { path: '/m/bad.onnx' }])
    expect(r.model.card?.name).toBe('first')
    expect(loaded).toHaveLength(1)
    expect(r.model.loading).toBe(false)
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'not an ONNX file' }])
  })

  it('the Open Model... dialog: a cancelled one changes nothing, a picked model becomes the current one', async () => {
    r.api.answer('model.open', ok(null))
    await r.model.open()
    expect(r.model.card).toBeNull()
    expect(loaded).toEqual([])

    r.api.answer('model.open', ok(named('picked')))
    await r.model.open()
    expect(r.model.card?.name).toBe('picked')
    expect(loaded).toHaveLength(1)
  })

  it('adopts a model the shell loaded on its own', () => {
    r.model.adopt(named('from menu'))
    expect(r.model.card?.name).toBe('from menu')
    expect(loaded).toHaveLength(1)
  })
})

describe('loadFiles', () => {
  beforeEach(() => {
    r.api.answer('model.load', (req) => ok(card({ path: req.path! })))
  })

  it('loads the .onnx of a dropped .onnx + .json pair', async () => {
    r.api.staged = ok(['/staged/config.json', '/staged/model.onnx'])
    const top = [file('config.json'), file('model.ONNX')]
    await r.model.loadFiles(top, [])
    expect(r.api.stageCalls).toEqual([{ top, files: [] }])
    expect(r.api.requests('model.load')).toEqual([{ path: '/staged/model.onnx' }])
  })

  it('loads the weights of a dropped .safetensors or .bin + config.json pair', async () => {
    r.api.staged = ok(['/staged/config.json', '/staged/diffusion_pytorch_model.safetensors'])
    await r.model.loadFiles([file('config.json'), file('diffusion_pytorch_model.safetensors')], [])
    r.api.staged = ok(['/staged/config.json', '/staged/diffusion_pytorch_model.bin'])
    await r.model.loadFiles([file('config.json'), file('diffusion_pytorch_model.bin')], [])
    expect(r.api.requests('model.load')).toEqual([
      { path: '/staged/diffusion_pytorch_model.safetensors' },
      { path: '/staged/diffusion_pytorch_model.bin' },
    ])
  })

  it('loads the first item of anything else (a folder; the engine says when it is no model)', async () => {
    r.api.staged = ok(['/staged/my-model', '/staged/readme.txt'])
    const inFolder = { file: file('model_index.json'), relativePath: 'my-model/model_index.json' }
    await r.model.loadFiles([file('my-model'), file('readme.txt')], [inFolder])
    expect(r.api.requests('model.load')).toEqual([{ path: '/staged/my-model' }])
  })

  it("a training checkpoint folder goes without accelerate's optimizer and random states", async () => {
    r.api.staged = ok(['/staged/checkpoint-500'])
    const inFolder = (path: string) => ({ file: file(path.split('/').pop()!), relativePath: `checkpoint-500/${path}` })
    const unet = [inFolder('unet_ema/config.json'), inFolder('unet_ema/diffusion_pytorch_model.safetensors')]
    const state = ['optimizer.bin', 'scheduler.bin', 'scaler.pt', 'random_states_0.pkl'].map(inFolder)
    await r.model.loadFiles([file('checkpoint-500')], [...unet, ...state])
    expect(r.api.stageCalls[0].files).toEqual(unet)
    // Their names only: a model's files are never taken for them.
    expect(['optimizer.bin', 'scheduler.bin'].every((n) => isTrainingState(n))).toBe(true)
    expect(['diffusion_pytorch_model.bin', 'model-3.pt', 'scheduler_config.json'].some((n) => isTrainingState(n))).toBe(
      false,
    )
  })

  it('a lucidrains results folder goes with its newest checkpoint only, the one that opens', async () => {
    r.api.staged = ok(['/staged/results'])
    const inFolder = (name: string) => ({ file: file(name), relativePath: `results/${name}` })
    const dropped = ['model-2.pt', 'sample-2.png', 'model-10.pt', 'sample-10.png', 'model-10.json', 'model-9.pt']
    await r.model.loadFiles([file('results')], dropped.map(inFolder))
    expect(r.api.stageCalls[0].files.map((d) => d.relativePath)).toEqual([
      'results/model-10.pt',
      'results/sample-10.png',
      'results/model-10.json',
    ])
    // Without checkpoints, model-3.json is an ONNX model's sidecar.
    const onnx = [inFolder('model-3.onnx'), inFolder('model-3.json')]
    await r.model.loadFiles([file('results')], onnx)
    expect(r.api.stageCalls[1].files).toEqual(onnx)
  })

  it('a file that is no model is not uploaded: the toast says what Stepwise opens, no server path', async () => {
    await r.model.loadFiles([file('notes.txt')], [{ file: file('notes.txt'), relativePath: '' }])
    expect(r.api.stageCalls).toEqual([])
    expect(r.toasts.items).toMatchObject([
      { kind: 'error', message: expect.stringMatching(/^notes\.txt: not a model/) },
    ])
    expect(r.toasts.items[0].message).toContain('.onnx')
  })

  it("an upload the engine cannot open is named as it was dropped, not by the host's temporary path", async () => {
    r.api.host = 'browser'
    r.api.staged = ok(['/tmp/stepwise-uploads-x/b1/broken.onnx'])
    r.api.answer('model.load', fail('/tmp/stepwise-uploads-x/b1/broken.onnx: the file ends early', 'truncated'))
    await r.model.loadFiles([file('broken.onnx')], [{ file: file('broken.onnx'), relativePath: '' }])
    expect(r.toasts.items.map((t) => t.message)).toEqual(['broken.onnx: the file ends early'])
  })

  it('models dropped into the browser host are recent for the session, under their names', async () => {
    r.api.host = 'browser'
    r.api.staged = ok(['/tmp/up/b1/mine.onnx'])
    r.api.answer('model.load', ok(card({ path: '/tmp/up/b1/mine.onnx' })))
    r.api.answer('settings.get', ok(DEFAULT_SETTINGS))
    await r.model.loadFiles([file('mine.onnx')], [{ file: file('mine.onnx'), relativePath: '' }])
    expect(r.model.dropped).toEqual([{ path: '/tmp/up/b1/mine.onnx', name: 'mine.onnx' }])
  })

  it('nothing dropped: nothing staged; staging failed: a toast and no load', async () => {
    await r.model.loadFiles([], [])
    expect(r.api.stageCalls).toEqual([])
    r.api.staged = fail('upload failed')
    await r.model.loadFiles([file('model.onnx')], [])
    expect(r.api.requests('model.load')).toEqual([])
    expect(r.toasts.items).toMatchObject([{ message: 'upload failed' }])
    expect(r.model.loading).toBe(false)
  })
})

describe('prefer', () => {
  it('keeps the choice in the settings and reloads the current model from where it came', async () => {
    let settings = { ...DEFAULT_SETTINGS }
    r.api.answer('settings.get', () => ok(settings))
    r.api.answer('settings.set', (req) => ok((settings = { ...settings, provider: req.provider! })))
    r.model.adopt(named('current'))
    r.api.answer('model.load', ok(named('current')))
    await r.model.prefer('webgpu')
    expect(r.api.requests('settings.set')).toEqual([{ provider: 'webgpu' }])
    expect(r.api.requests('model.load')).toEqual([{ path: '/m/current.onnx' }])
    expect(r.model.preferred).toBe('webgpu')
  })

  it('a refused choice reloads nothing', async () => {
    r.api.answer('settings.set', fail('settings are read-only') as Result<never>)
    await r.model.prefer('cuda')
    expect(r.api.requests('model.load')).toEqual([])
    expect(r.model.preferred).toBe('auto')
    expect(r.toasts.items).toMatchObject([{ message: 'settings are read-only' }])
  })
})

it('baseName takes the last part of a POSIX or Windows path', () => {
  expect(r.baseName('/a/b/model.onnx')).toBe('model.onnx')
  expect(r.baseName('C:\\models\\digits\\')).toBe('digits')
  expect(r.baseName('plain')).toBe('plain')
})

describe('useWeights', () => {
  it("loads the checkpoint's other set from the same path, keeps it for a provider change, and a new model starts from the EMA's", async () => {
    const both = (taken: 'ema' | 'online') => card({ path: '/m/model-3.pt', weights: { taken, both: true } })
    r.api.answer('model.load', (req) => ok(both(req.weights ?? 'ema')))
    r.api.answer('settings.set', ok({ ...DEFAULT_SETTINGS, provider: 'cpu' }))
    await r.model.load('/m/model-3.pt')
    await r.model.useWeights('ema') // the one it has: nothing to do
    await r.model.useWeights('online')
    expect(r.model.card?.weights).toEqual({ taken: 'online', both: true })
    await r.model.prefer('cpu')
    await r.model.load('/m/other.pt')
    expect(r.api.requests('model.load')).toEqual([
      { path: '/m/model-3.pt' },
      { path: '/m/model-3.pt', weights: 'online' },
      { path: '/m/model-3.pt', weights: 'online' },
      { path: '/m/other.pt' },
    ])
  })
})
