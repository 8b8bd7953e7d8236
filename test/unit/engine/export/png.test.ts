import { describe, expect, test } from 'vitest'

import { EngineError } from '../../../../src-main/engine/errors'
import { toPixels, upscaleNearest } from '../../../../src-main/engine/export/pixels'
import {
  decodePng,
  encodePng,
  readPngSize,
  readPngText,
  readStepwiseParameters,
} from '../../../../src-main/engine/export/png'
import type { PlanarImage } from '../../../../src-main/engine/tensor'
import { grayPng } from '../../../fixtures/png-builder'

const image = (channels: number, width: number, height: number, values: number[]): PlanarImage => ({
  channels,
  width,
  height,
  data: Float32Array.from(values),
})

describe('pixels', () => {
  test('maps [-1, 1] to 0..255, clamps, and shows NaN as black', () => {
    const img = image(1, 8, 1, [-1, -0.5, 0, 0.5, 1, 2, -3, NaN])
    expect([...toPixels(img)]).toEqual([0, 64, 128, 191, 255, 255, 0, 0])
  })

  test('interleaves planar RGB as RGB triples', () => {
    // 2 pixels: plane R = [1, -1], plane G = [-1, 1], plane B = [0, 0]
    expect([...toPixels(image(3, 2, 1, [1, -1, -1, 1, 0, 0]))]).toEqual([255, 0, 128, 0, 255, 128])
  })

  test('nearest-neighbour upscale repeats each pixel as a block', () => {
    expect([...upscaleNearest(Uint8Array.from([1, 2, 3, 4]), 2, 2, 1, 2)]).toEqual([
      1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4,
    ])
  })
})

describe('png', () => {
  const meta = {
    parameters: 'seed 42, 50 steps DDIM, eta 0\nmodel mnist.onnx',
    stepwise: { seed: 42, steps: 50, sampler: 'ddim', model: 'modèle-数字-😀.onnx', note: 'a\u0085b' },
  }

  test('gray PNG decodes to the input mapping', () => {
    const values = Array.from({ length: 12 }, (_, i) => i / 5.5 - 1)
    const img = image(1, 4, 3, values)
    const png = decodePng(encodePng(img))
    expect([png.width, png.height, png.channels, png.depth]).toEqual([4, 3, 1, 8])
    expect([...png.data]).toEqual([...toPixels(img)])
  })

  test('RGB and RGBA PNGs keep every channel', () => {
    const rgb = image(
      3,
      2,
      2,
      Array.from({ length: 12 }, (_, i) => i / 6 - 1),
    )
    const rgba = image(
      4,
      2,
      2,
      Array.from({ length: 16 }, (_, i) => 1 - i / 8),
    )
    for (const img of [rgb, rgba]) {
      const png = decodePng(encodePng(img))
      expect(png.channels).toBe(img.channels)
      expect([...png.data]).toEqual([...toPixels(img)])
    }
  })

  test('scale enlarges nearest-neighbour', () => {
    const png = decodePng(encodePng(image(1, 2, 1, [-1, 1]), undefined, { scale: 3 }))
    expect([png.width, png.height]).toEqual([6, 3])
    expect([...png.data.slice(0, 6)]).toEqual([0, 0, 0, 255, 255, 255])
  })

  test('writes the parameters summary and the full parameters as text chunks', () => {
    const bytes = encodePng(image(1, 1, 1, [0]), meta)
    const text = readPngText(bytes, 'seed-42.png')
    expect(text.parameters).toBe('seed 42, 50 steps DDIM, eta 0 model mnist.onnx')
    expect(JSON.parse(text.stepwise)).toEqual(meta.stepwise)
    expect(readStepwiseParameters(bytes, 'seed-42.png')).toEqual(meta.stepwise)
  })

  test('reads text from a view that does not start at its buffer start (Node Buffers)', () => {
    const bytes = encodePng(image(1, 1, 1, [0]), meta)
    const padded = new Uint8Array(bytes.length + 3)
    padded.set(bytes, 3)
    expect(readStepwiseParameters(padded.subarray(3), 'seed-42.png')).toEqual(meta.stepwise)
  })

  test('a PNG from elsewhere has no Stepwise parameters', () => {
    expect(readStepwiseParameters(encodePng(image(1, 1, 1, [0])), 'other.png')).toBeUndefined()
  })

  test('a file that is not a PNG gives bad-png naming the file', () => {
    const attempt = () => readStepwiseParameters(new TextEncoder().encode('hello, not a png'), 'notes.png')
    expect(attempt).toThrowError(EngineError)
    expect(attempt).toThrowError(/^notes\.png: not a PNG/)
    try {
      attempt()
    } catch (e) {
      expect((e as EngineError).code).toBe('bad-png')
    }
  })

  test('reads the text without inflating the pixels: pixel data that is no zlib stream does not matter', () => {
    const png = grayPng({ width: 4, height: 4, text: { stepwise: '{"seed":1}' }, idat: Buffer.from('not zlib') })
    expect(readStepwiseParameters(png, 'odd.png')).toEqual({ seed: 1 })
  })

  test('a PNG bomb (20000 x 20000 pixels in a few KiB) gives its text and its size from the header', () => {
    const bomb = grayPng({ width: 20_000, height: 20_000, depth: 1, text: { parameters: 'seed 1', stepwise: '{}' } })
    expect(bomb.length).toBeLessThan(100 * 1024)
    expect(readPngText(bomb, 'bomb.png')).toEqual({ parameters: 'seed 1', stepwise: '{}' })
    expect(readPngSize(bomb, 'bomb.png')).toEqual({ width: 20_000, height: 20_000 })
  })

  test('a chunk that runs past the end, or no header first, gives bad-png naming the file', () => {
    const png = grayPng({ width: 2, height: 2, text: { stepwise: '{}' } })
    const cut = png.subarray(0, png.length - 20)
    expect(() => readPngText(cut, 'cut.png')).toThrowError(/^cut\.png: damaged PNG \(its IDAT chunk runs past the end/)
    const headless = Buffer.concat([png.subarray(0, 8), png.subarray(33)])
    expect(() => readPngSize(headless, 'headless.png')).toThrowError(/^headless\.png: damaged PNG \(it does not start/)
  })

  test('a damaged PNG gives bad-png naming the file', () => {
    const bytes = encodePng(image(1, 4, 4, new Array(16).fill(0)), meta)
    expect(() => readPngText(bytes.subarray(0, 40), 'cut.png')).toThrowError(/^cut\.png: damaged PNG/)
  })
})
