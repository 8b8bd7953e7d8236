/** The forward noising preview (lib/noise.svelte.ts): which timesteps, loading an image, the slider. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import type { NoisePreview, NoisePreviewRequest } from '../../../src-preload/contract'
import { card, fail, loadRenderer, ok, type Renderer } from './fake-api'

let r: Renderer

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
})
afterEach(() => vi.useRealTimers())

/** What noise.preview answers for a request: the model's size, each asked timestep under two schedules. */
const previewOf = (req: NoisePreviewRequest, size = 8): NoisePreview => ({
  channels: 1,
  height: size,
  width: size,
  image: new Float32Array(size * size).buffer,
  rows: (['linear', 'cosine'] as const).map((schedule) => ({
    schedule,
    frames: req.timesteps.map((timestep) => ({ timestep, alphaBar: 1, snr: 1, sample: new ArrayBuffer(4) })),
  })),
})

const png = (name = 'digit.png', type = 'image/png') => new File([new Uint8Array([137, 80, 78, 71])], name, { type })

describe('previewTimesteps', () => {
  it('every 10th timestep and the last', () => {
    const ts = r.previewTimesteps(1000)
    expect(ts.slice(0, 3)).toEqual([0, 10, 20])
    expect(ts.slice(-2)).toEqual([990, 999])
    expect(ts).toHaveLength(101)
    expect(r.previewTimesteps(25)).toEqual([0, 10, 20, 24])
  })

  it('further apart for long schedules: at most the 256 the engine takes', () => {
    const ts = r.previewTimesteps(10_000)
    expect(ts.length).toBeLessThanOrEqual(256)
    expect(ts[1] - ts[0]).toBe(40)
    expect(ts.at(-1)).toBe(9999)
    expect(new Set(ts).size).toBe(ts.length)
  })
})

describe('load', () => {
  it("asks the engine to noise the image's bytes at the previewed timesteps with the seed", async () => {
    r.api.answer('noise.preview', (req) => ok(previewOf(req)))
    const c = card({ schedule: { trainSteps: 100 } })
    await r.noise.load(png(), c, 42)
    const [req] = r.api.requests('noise.preview')
    expect(req.image.name).toBe('digit.png')
    expect([...new Uint8Array(req.image.bytes)]).toEqual([137, 80, 78, 71])
    expect(req.timesteps).toEqual(r.previewTimesteps(100))
    expect(req.seed).toBe(42)

    expect(r.noise.fileName).toBe('digit.png')
    expect(r.noise.timesteps).toEqual(r.previewTimesteps(100))
    expect(r.noise.shape).toEqual({ batch: 1, channels: 1, height: 8, width: 8 })
    expect(r.noise.loading).toBe(false)
  })

  it('starts the slider halfway, and keeps its timestep for the next image', async () => {
    r.api.answer('noise.preview', (req) => ok(previewOf(req)))
    const c = card({ schedule: { trainSteps: 100 } }) // 0, 10, ..., 90, 99
    await r.noise.load(png(), c, 1)
    expect(r.noise.index).toBe(5)
    expect(r.noise.timestep).toBe(50)
    r.noise.index = 8
    await r.noise.load(png('other.png'), c, 1)
    expect(r.noise.timestep).toBe(80)

    r.noise.index = 10
    expect(r.noise.timestep).toBe(99)
    await r.noise.load(png(), card({ schedule: { trainSteps: 1000 } }), 1)
    expect(r.noise.timestep).toBe(500) // t = 99 is not previewed for T = 1000: halfway again
  })

  it('refuses a file that is not a PNG or JPEG without asking the engine', async () => {
    await r.noise.load(new File(['x'], 'model.onnx'), card(), 1)
    expect(r.api.calls).toEqual([])
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'model.onnx: not a PNG or JPEG image' }])
    expect(r.isImageFile(png('photo.JPG', ''))).toBe(true)
    expect(r.isImageFile(png('no-extension', 'image/jpeg'))).toBe(true)
    expect(r.isImageFile(png('anim.gif', 'image/gif'))).toBe(false)
  })

  it('refuses an image larger than MAX_IMAGE_BYTES without reading or sending it', async () => {
    const huge = png('huge.png')
    Object.defineProperty(huge, 'size', { value: 65 * 1024 ** 2 })
    huge.arrayBuffer = () => Promise.reject(new Error('read'))
    await r.noise.load(huge, card(), 1)
    expect(r.api.calls).toEqual([])
    expect(r.toasts.items).toMatchObject([
      { kind: 'error', message: 'huge.png is 65 MiB; images dropped here may be up to 64 MiB' },
    ])
  })

  it('an engine error is a toast; the previous preview stays', async () => {
    r.api.answer('noise.preview', (req) => ok(previewOf(req)))
    await r.noise.load(png(), card(), 1)
    const before = r.noise.preview
    r.api.answer('noise.preview', fail('not an image', 'bad-png'))
    await r.noise.load(png('broken.png'), card(), 1)
    expect(r.noise.preview).toBe(before)
    expect(r.noise.fileName).toBe('digit.png')
    expect(r.toasts.items).toMatchObject([{ message: 'not an image' }])
    expect(r.noise.loading).toBe(false)
  })
})

describe('adoptCard', () => {
  it('drops the preview for a model that sees images at another size, keeps it otherwise', async () => {
    r.api.answer('noise.preview', (req) => ok(previewOf(req, 8)))
    await r.noise.load(png(), card(), 1)
    r.noise.adoptCard(card({ name: 'same size' }))
    expect(r.noise.preview).not.toBeNull()
    r.noise.adoptCard(card({ height: 16, width: 16 }))
    expect(r.noise).toMatchObject({ preview: null, fileName: null, timestep: null, shape: null })
    expect(r.noise.timesteps).toEqual([])
  })
})
