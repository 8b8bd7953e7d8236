import { crc32 } from 'node:zlib'

import { decode } from 'fast-png'
import { describe, expect, test } from 'vitest'

import { encodeApng } from '../../../../src-main/engine/export/apng'
import { pngChunks, readPngText } from '../../../../src-main/engine/export/png'
import type { PlanarImage } from '../../../../src-main/engine/tensor'

const toFloat = (byte: number) => (byte / 255) * 2 - 1

/** A 16x16 gray frame holding every level 0..255 once, shifted by `offset`. */
const allGrays = (offset: number): PlanarImage => ({
  channels: 1,
  width: 16,
  height: 16,
  data: Float32Array.from({ length: 256 }, (_, i) => toFloat((i + offset) % 256)),
})

/** A 3x2 colour frame whose every channel value differs, shifted by `offset`. */
const colours = (offset: number): PlanarImage => ({
  channels: 3,
  width: 3,
  height: 2,
  data: Float32Array.from({ length: 18 }, (_, i) => toFloat((i * 13 + offset) % 256)),
})

/**
 * The animation frames of an APNG, each decoded by fast-png as a still PNG made of the header and the
 * frame's own data (fdAT less its sequence number), with its delay and the acTL's frame and play counts.
 * (fast-png's decodeApng takes a default image that is not part of the animation for its first frame.)
 */
function animation(apng: Uint8Array) {
  const chunks = [...pngChunks(apng, 'test.apng.png')]
  const header = chunks.find((c) => c.type === 'IHDR')!
  const actl = new DataView(
    chunks.find((c) => c.type === 'acTL')!.data.buffer,
    chunks.find((c) => c.type === 'acTL')!.data.byteOffset,
  )
  const still = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length)
    const view = new DataView(out.buffer)
    view.setUint32(0, data.length)
    out.set(new TextEncoder().encode(type), 4)
    out.set(data, 8)
    view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
    return out
  }
  const frames: { delayMs: number; data: Uint8Array }[] = []
  let delayMs = NaN
  for (const c of chunks) {
    const view = new DataView(c.data.buffer, c.data.byteOffset)
    if (c.type === 'fcTL') delayMs = (1000 * view.getUint16(20)) / view.getUint16(22)
    if (c.type === 'fdAT') {
      const png = [
        PNG_SIGNATURE,
        still('IHDR', header.data),
        still('IDAT', c.data.subarray(4)),
        still('IEND', new Uint8Array(0)),
      ]
      const bytes = new Uint8Array(png.reduce((n, b) => n + b.length, 0))
      png.reduce((at, b) => (bytes.set(b, at), at + b.length), 0)
      frames.push({ delayMs, data: decode(bytes).data as Uint8Array })
    }
  }
  return {
    numberOfFrames: actl.getUint32(0),
    numberOfPlays: actl.getUint32(4),
    width: decode(apng).width,
    channels: decode(apng).channels,
    frames,
  }
}
const PNG_SIGNATURE = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10])

describe('apng', () => {
  test('every frame decodes to its exact pixels, with its delay, the last held, looping forever', () => {
    const apng = encodeApng([allGrays(0), allGrays(1), allGrays(2)], { scale: 1 })
    const decoded = animation(apng)
    expect([decoded.numberOfFrames, decoded.numberOfPlays, decoded.channels]).toEqual([3, 0, 1])
    expect(decoded.frames.map((f) => f.delayMs)).toEqual([80, 80, 1500])
    decoded.frames.forEach((frame, k) => {
      expect([...frame.data], `frame ${k}`).toEqual(Array.from({ length: 256 }, (_, i) => (i + k) % 256))
    })
  })

  test('colour frames stay exact (no palette), and the still image is the final frame', () => {
    const frames = [colours(0), colours(100), colours(200)]
    const apng = encodeApng(frames, { scale: 1, delayMs: 40, holdLastMs: 900 })
    const decoded = animation(apng)
    expect(decoded.channels).toBe(3)
    const rgb = (f: PlanarImage) =>
      Array.from({ length: 6 }, (_, p) => [0, 1, 2].map((c) => Math.round(((f.data[c * 6 + p] + 1) / 2) * 255))).flat()
    decoded.frames.forEach((frame, k) => expect([...frame.data]).toEqual(rgb(frames[k])))
    expect(decoded.frames.map((f) => f.delayMs)).toEqual([40, 40, 900])
    // A decoder without APNG sees one still PNG: the final sample, not noise.
    expect([...decode(apng).data]).toEqual(rgb(frames[2]))
  })

  test('is well formed: chunk CRCs, sequence numbers in order, the parameters as in a PNG export', () => {
    const meta = { parameters: 'Steps: 20, Sampler: DPM++ 2M Karras, Seed: 7', stepwise: { seed: 7 } }
    const apng = encodeApng([allGrays(0), allGrays(9)], { scale: 3, loop: false }, meta)
    const chunks = [...pngChunks(apng, 'test.apng.png')]
    expect(chunks.map((c) => c.type)).toEqual([
      'IHDR',
      'acTL',
      'tEXt',
      'tEXt',
      'IDAT',
      'fcTL',
      'fdAT',
      'fcTL',
      'fdAT',
      'IEND',
    ])
    let offset = 8
    const view = new DataView(apng.buffer, apng.byteOffset)
    for (const c of chunks) {
      const end = offset + 8 + c.data.length
      expect(view.getUint32(end), c.type).toBe(crc32(apng.subarray(offset + 4, end)))
      offset = end + 4
    }
    const sequence = chunks
      .filter((c) => c.type === 'fcTL' || c.type === 'fdAT')
      .map((c) => new DataView(c.data.buffer, c.data.byteOffset).getUint32(0))
    expect(sequence).toEqual([0, 1, 2, 3])
    expect(readPngText(apng, 'test.apng.png')).toEqual({ parameters: meta.parameters, stepwise: '{"seed":7}' })
    const decoded = animation(apng)
    expect([decoded.width, decoded.numberOfPlays]).toEqual([48, 1])
  })

  test('refuses no frames and frames of different sizes', () => {
    expect(() => encodeApng([])).toThrow(/no frames/)
    expect(() => encodeApng([allGrays(0), colours(0)])).toThrow(/same size/)
  })
})
