import { encode as encodePng } from 'fast-png'
import jpeg from 'jpeg-js'
import { describe, expect, it } from 'vitest'

import { EngineError } from '../../../src-main/engine/errors'
import { imageForModel } from '../../../src-main/engine/image-input'
import { MAX_IMAGE_PIXELS } from '../../../src-shared/limits'
import { grayPng } from '../../fixtures/png-builder'

/** A W x H RGB PNG whose left half is white and right half black. */
function halves(width: number, height: number, channels = 3): Uint8Array {
  const data = new Uint8Array(width * height * channels)
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width / 2; x++) for (let c = 0; c < channels; c++) data[(y * width + x) * channels + c] = 255
  return encodePng({ width, height, channels, depth: 8, data })
}

describe('images given to a model', () => {
  it("centre-crop to the model's aspect, area-average, and map to [-1, 1]", () => {
    // 112 x 28 -> the centre 28 x 28 columns 42..69: the left 14 white, the right 14 black.
    const img = imageForModel(halves(112, 28), 'wide.png', { channels: 1, height: 28, width: 28 })
    expect(img.data.slice(0, 28)).toEqual(new Float32Array(28).map((_, x) => (x < 14 ? 1 : -1)))
    // Downscale 2x: 56 x 56 -> 28 x 28, edges stay where they were.
    const half = imageForModel(halves(56, 56), 'big.png', { channels: 3, height: 28, width: 28 })
    for (let c = 0; c < 3; c++) {
      expect(half.data[c * 784 + 13]).toBe(1)
      expect(half.data[c * 784 + 14]).toBe(-1)
    }
  })

  it('gray to RGB copies, RGB to gray is luma, alpha is dropped', () => {
    const gray = encodePng({
      width: 2,
      height: 2,
      channels: 2,
      depth: 8,
      data: new Uint8Array([255, 0, 255, 0, 0, 255, 0, 255]),
    })
    const rgb = imageForModel(gray, 'ga.png', { channels: 3, height: 2, width: 2 })
    expect(Array.from(rgb.data)).toEqual([1, 1, -1, -1, 1, 1, -1, -1, 1, 1, -1, -1])
    const red = encodePng({ width: 1, height: 1, channels: 3, depth: 8, data: new Uint8Array([255, 0, 0]) })
    expect(imageForModel(red, 'red.png', { channels: 1, height: 1, width: 1 }).data[0]).toBeCloseTo(2 * 0.299 - 1, 6)
  })

  it('read JPEG too', () => {
    const w = 32,
      h = 32
    const rgba = new Uint8Array(w * h * 4).map((_, i) => (i % 4 === 3 ? 255 : (i >> 2) % w < w / 2 ? 230 : 20))
    const bytes = new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 95).data)
    const img = imageForModel(bytes, 'photo.jpg', { channels: 1, height: 8, width: 8 })
    expect(img.data[0]).toBeCloseTo((2 * 230) / 255 - 1, 1)
    expect(img.data[7]).toBeCloseTo((2 * 20) / 255 - 1, 1)
  })

  it('name the file that is not an image', () => {
    expect(() =>
      imageForModel(new TextEncoder().encode('hello'), 'notes.txt', { channels: 1, height: 8, width: 8 }),
    ).toThrow('notes.txt: not a PNG or JPEG image')
  })

  it('refuses an image of more than MAX_IMAGE_PIXELS from its header, before decoding a pixel', () => {
    const model = { channels: 1, height: 28, width: 28 }
    const side = Math.sqrt(MAX_IMAGE_PIXELS)
    const refused = (bytes: Uint8Array, name: string) => {
      try {
        imageForModel(bytes, name, model)
      } catch (e) {
        expect(e).toBeInstanceOf(EngineError)
        expect((e as EngineError).code).toBe('bad-argument')
        return (e as EngineError).message
      }
      throw new Error(`${name} was decoded`)
    }
    // A few KiB of PNG each: one pixel row over the limit, and the 20000 x 20000 bomb.
    expect(refused(grayPng({ width: side, height: side + 1, depth: 1 }), 'tall.png')).toBe(
      `tall.png: 4096 x 4097 pixels is more than Stepwise decodes (16.8 megapixels, e.g. 4096 x 4096); scale it down first`,
    )
    expect(refused(grayPng({ width: 20_000, height: 20_000, depth: 1 }), 'bomb.png')).toMatch(
      /^bomb\.png: 20000 x 20000/,
    )
    // A JPEG's frame header saying 5000 x 5000 (then nothing): refused from the header too.
    const sof = [0xff, 0xc0, 0, 17, 8, 0x13, 0x88, 0x13, 0x88, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]
    expect(refused(new Uint8Array([0xff, 0xd8, ...sof, 0xff, 0xd9]), 'big.jpg')).toMatch(/^big\.jpg: the image is more/)
    // At the limit an image is taken.
    expect(imageForModel(grayPng({ width: side, height: side, depth: 8 }), 'ok.png', model).data).toHaveLength(784)
  })
})
