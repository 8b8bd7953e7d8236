import { describe, expect, test } from 'vitest'

import { EngineError } from '../../../../src-main/engine/errors'
import { decodePng, readStepwiseParameters } from '../../../../src-main/engine/export/png'
import { contactSheet, encodeSheetPng } from '../../../../src-main/engine/export/sheet'
import type { PlanarImage } from '../../../../src-main/engine/tensor'

/** A 2x2 gray image of one level, given as a byte 0..255. */
const flat = (level: number, channels = 1): PlanarImage => ({
  channels,
  width: 2,
  height: 2,
  data: new Float32Array(4 * channels).fill((level / 255) * 2 - 1),
})

const at = (s: { width: number; channels: number; pixels: Uint8Array }, x: number, y: number) =>
  s.pixels[(y * s.width + x) * s.channels]

describe('contact sheet', () => {
  test('lays out n images in ceil(sqrt(n)) columns with padding', () => {
    const sheet = contactSheet(
      [10, 20, 30, 40, 50].map((g) => flat(g)),
      { padding: 2, background: 255 },
    )
    // 3 columns x 2 rows of 2 px cells, 2 px gaps and border.
    expect([sheet.width, sheet.height, sheet.channels]).toEqual([2 + 3 * 4, 2 + 2 * 4, 1])
    expect([at(sheet, 2, 2), at(sheet, 3, 3), at(sheet, 6, 2), at(sheet, 10, 2)]).toEqual([10, 10, 20, 30])
    expect([at(sheet, 2, 6), at(sheet, 6, 7)]).toEqual([40, 50])
    expect([at(sheet, 0, 0), at(sheet, 4, 2), at(sheet, 10, 6)]).toEqual([255, 255, 255]) // gaps, empty 6th cell
  })

  test('honours columns, scale and background', () => {
    const sheet = contactSheet([flat(100), flat(200)], { columns: 1, scale: 3, padding: 1, background: 0 })
    expect([sheet.width, sheet.height]).toEqual([1 + 7, 1 + 2 * 7])
    expect([at(sheet, 1, 1), at(sheet, 6, 6), at(sheet, 1, 8), at(sheet, 0, 0), at(sheet, 7, 7)]).toEqual([
      100, 100, 200, 0, 0,
    ])
  })

  test('labels add margins with text in them and leave the cells alone', () => {
    const images = [flat(128), flat(128), flat(128), flat(128)]
    const plain = contactSheet(images, { padding: 2 })
    const labelled = contactSheet(images, {
      padding: 2,
      rowLabels: ['SEED 1', 'SEED 2'],
      columnLabels: ['G 1', 'G 7.5'],
    })
    expect(labelled.width).toBeGreaterThan(plain.width)
    expect(labelled.height).toBeGreaterThan(plain.height)
    const dark = (x0: number, x1: number, y0: number, y1: number) => {
      let n = 0
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (at(labelled, x, y) === 0) n++
      return n
    }
    const left = labelled.width - plain.width
    const top = labelled.height - plain.height
    expect(dark(0, left, top, labelled.height)).toBeGreaterThan(20) // row labels
    expect(dark(left, labelled.width, 0, top)).toBeGreaterThan(10) // column labels
    expect(at(labelled, left + 2, top + 2)).toBe(128) // first cell just inside the margins
    expect(dark(left, labelled.width, top, labelled.height)).toBe(0) // no text over the grid
  })

  test('RGBA sheets have opaque margins', () => {
    const sheet = contactSheet([flat(50, 4)], { padding: 1 })
    expect(sheet.pixels[3]).toBe(255)
  })

  test('images of different sizes are refused', () => {
    const odd: PlanarImage = { channels: 1, width: 3, height: 2, data: new Float32Array(6) }
    expect(() => contactSheet([flat(0), odd])).toThrowError(EngineError)
    expect(() => contactSheet([])).toThrowError(/no images/)
  })

  test('encodeSheetPng writes the sheet pixels and the parameters', () => {
    const sheet = contactSheet([flat(10), flat(20), flat(30)], { rowLabels: ['A'] })
    const stepwise = { seeds: [1, 2, 3] }
    const bytes = encodeSheetPng(sheet, { parameters: 'seeds 1-3', stepwise })
    const png = decodePng(bytes)
    expect([png.width, png.height, png.channels]).toEqual([sheet.width, sheet.height, 1])
    expect([...png.data]).toEqual([...sheet.pixels])
    expect(readStepwiseParameters(bytes, 'sheet.png')).toEqual(stepwise)
  })
})
