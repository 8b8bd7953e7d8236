import { describe, expect, test } from 'vitest'

import { decodeGifFrames, encodeGif, readGifInfo, selectFrames } from '../../../../src-main/engine/export/gif'
import type { PlanarImage } from '../../../../src-main/engine/tensor'

const toFloat = (byte: number) => (byte / 255) * 2 - 1

/** A 16x16 gray frame holding every level 0..255 once, shifted by `offset`. */
const allGrays = (offset: number): PlanarImage => ({
  channels: 1,
  width: 16,
  height: 16,
  data: Float32Array.from({ length: 256 }, (_, i) => toFloat((i + offset) % 256)),
})

describe('gif', () => {
  test('writes every frame with its delay, holds the last, and loops forever', () => {
    const gif = encodeGif([allGrays(0), allGrays(1), allGrays(2)])
    const info = readGifInfo(gif)
    expect(info.frameCount).toBe(3)
    expect(info.delaysMs).toEqual([80, 80, 1500])
    expect(info.loopCount).toBe(0)
    expect([info.width, info.height]).toEqual([256, 256]) // 16 px enlarged to the 256 px minimum
  })

  test('gray frames keep their exact 8-bit levels', () => {
    const frames = decodeGifFrames(encodeGif([allGrays(0), allGrays(7)], { scale: 1 }))
    expect(frames).toHaveLength(2)
    frames.forEach((frame, k) => {
      const offset = k === 0 ? 0 : 7
      for (let i = 0; i < 256; i++) {
        const [r, g, b] = frame.data.subarray(i * 4, i * 4 + 3)
        expect([r, g, b], `frame ${k} pixel ${i}`).toEqual([(i + offset) % 256, (i + offset) % 256, (i + offset) % 256])
      }
    })
  })

  test('a known pixel keeps its gray after nearest-neighbour scaling', () => {
    const [frame] = decodeGifFrames(encodeGif([allGrays(0)], { scale: 2 }))
    expect(frame.width).toBe(32)
    // Source pixel (x 5, y 3) = level 53 covers (10..11, 6..7).
    expect(frame.data[(7 * 32 + 11) * 4]).toBe(53)
  })

  test('options: delays, play once, and explicit scale', () => {
    const gif = encodeGif([allGrays(0), allGrays(1)], { delayMs: 40, holdLastMs: 2000, loop: false, scale: 1 })
    const info = readGifInfo(gif)
    expect(info.delaysMs).toEqual([40, 2000])
    expect(info.loopCount).toBeUndefined()
    expect(info.width).toBe(16)
  })

  test('RGB frames keep a handful of distinct colours', () => {
    // 2x1: red and blue, as planes R = [1, -1], G = [-1, -1], B = [-1, 1]
    const frame: PlanarImage = { channels: 3, width: 2, height: 1, data: Float32Array.from([1, -1, -1, -1, -1, 1]) }
    const [decoded] = decodeGifFrames(encodeGif([frame], { scale: 1 }))
    expect([...decoded.data]).toEqual([255, 0, 0, 255, 0, 0, 255, 255])
  })
})

describe('selectFrames', () => {
  const steps = Array.from({ length: 10 }, (_, i) => i)

  test('every k-th step, always ending on the last', () => {
    expect(selectFrames(steps, { every: 3 })).toEqual([0, 3, 6, 9])
    expect(selectFrames(steps, { every: 4 })).toEqual([0, 4, 8, 9])
  })

  test('N frames evenly spread, first and last included', () => {
    const eleven = Array.from({ length: 11 }, (_, i) => i)
    expect(selectFrames(eleven, { count: 5 })).toEqual([0, 3, 5, 8, 10])
    const picked = selectFrames(
      Array.from({ length: 1000 }, (_, i) => i),
      { count: 24 },
    )
    expect(picked).toHaveLength(24)
    expect([picked[0], picked[23]]).toEqual([0, 999])
    expect(new Set(picked).size).toBe(24)
  })

  test('edge cases: all frames, tiny counts, short runs', () => {
    expect(selectFrames(steps)).toEqual(steps)
    expect(selectFrames(steps, { count: 50 })).toEqual(steps)
    expect(selectFrames(steps, { count: 1 })).toEqual([0, 9])
    expect(selectFrames([7], { count: 5 })).toEqual([7])
    expect(selectFrames([], { every: 2 })).toEqual([])
  })
})
