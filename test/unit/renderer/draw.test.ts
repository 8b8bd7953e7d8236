import { describe, expect, test } from 'vitest'

import { pixelText, pixelValues } from '../../../src-renderer/src/lib/draw'

describe("the look-closer view's pixel readout", () => {
  // [batch 2, channels 3, height 2, width 3]: value = 100 b + 10 c + (3 y + x), so each index is readable.
  const shape = { batch: 2, channels: 3, height: 2, width: 3 }
  const values = Float32Array.from({ length: 2 * 3 * 2 * 3 }, (_, i) => {
    const b = Math.floor(i / 18)
    const c = Math.floor((i % 18) / 6)
    return 100 * b + 10 * c + (i % 6)
  })

  test('reads every channel of the pixel of the image asked for, planar', () => {
    expect(pixelValues(values, shape, 0, 0, 0)).toEqual([0, 10, 20])
    expect(pixelValues(values, shape, 0, 2, 1)).toEqual([5, 15, 25])
    expect(pixelValues(values, shape, 1, 1, 1)).toEqual([104, 114, 124])
  })

  test('null off the image, or past the array (a step that holds one image of the batch)', () => {
    for (const [x, y] of [
      [-1, 0],
      [3, 0],
      [0, 2],
      [0.5, 0],
    ])
      expect(pixelValues(values, shape, 0, x, y)).toBeNull()
    expect(pixelValues(values.subarray(0, 18), shape, 1, 0, 0)).toBeNull()
  })

  test('says the values unclamped, NaN as such', () => {
    expect(pixelText(4, 7, [-1.23456])).toBe('(4, 7) -1.235')
    expect(pixelText(0, 0, [0.5, NaN, Infinity])).toBe('(0, 0) 0.500, NaN, Infinity')
  })
})
