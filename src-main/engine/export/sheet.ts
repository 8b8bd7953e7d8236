/**
 * Contact sheets: a batch (or a sweep of seeds / guidance values) side by side in one image, each cell
 * enlarged nearest-neighbour, with optional row and column labels drawn in the built-in 5x7 font.
 */

import { EngineError } from '../errors'
import type { PlanarImage } from '../tensor'
import { drawText, GLYPH_HEIGHT, textWidth } from './font'
import { type Pixels, toScaledPixels } from './pixels'
import { encodePixelsPng, type PngMeta } from './png'

export interface SheetOptions {
  /** Cells a row; default ceil(sqrt(n)), the squarest grid. */
  columns?: number
  /** Pixels between cells and around the grid; default 2. */
  padding?: number
  /** Gray level 0..255 of the gaps and margins; default 255 (white). */
  background?: number
  /** Integer nearest-neighbour enlargement of each image; default 1. */
  scale?: number
  rowLabels?: string[]
  columnLabels?: string[]
  /** A caption above each cell (e.g. its seed), clipped to the cell's width. */
  cellLabels?: string[]
  /** A line above everything (e.g. the class of a batch). */
  title?: string
  /** Text size of the labels (1 = 7 px glyphs); default grows with the cells to stay legible. */
  labelScale?: number
}

export type Sheet = Pixels

export function contactSheet(images: PlanarImage[], opts: SheetOptions = {}): Sheet {
  if (images.length === 0) throw new EngineError('bad-argument', 'contact sheet: no images to lay out')
  const [first] = images
  if (images.some((im) => im.width !== first.width || im.height !== first.height || im.channels !== first.channels)) {
    throw new EngineError('bad-argument', 'contact sheet: all images must have the same size and channel count')
  }
  const columns = Math.max(1, Math.floor(opts.columns ?? Math.ceil(Math.sqrt(images.length))))
  const rows = Math.ceil(images.length / columns)
  const padding = Math.max(0, Math.floor(opts.padding ?? 2))
  const background = clampByte(opts.background ?? 255)
  const cells = images.map((im) => toScaledPixels(im, opts.scale ?? 1))
  const cellW = cells[0].width
  const cellH = cells[0].height
  const channels = first.channels

  // Labels grow with the cells so they stay legible on enlarged sheets.
  const textScale = opts.labelScale ?? Math.max(1, Math.floor(cellH / 64))
  const rowLabels = opts.rowLabels?.slice(0, rows) ?? []
  const columnLabels = opts.columnLabels?.slice(0, columns) ?? []
  const cellLabels = opts.cellLabels ?? []
  const line = GLYPH_HEIGHT * textScale + padding
  const left = rowLabels.length ? Math.max(...rowLabels.map((t) => textWidth(t, textScale))) + padding : 0
  const titleHeight = opts.title ? line : 0
  const top = titleHeight + (columnLabels.length ? line : 0)
  const caption = cellLabels.length ? line : 0

  const width = Math.max(
    left + padding + columns * (cellW + padding),
    opts.title ? 2 * padding + textWidth(opts.title, textScale) : 0,
  )
  const height = top + padding + rows * (caption + cellH + padding)
  const sheet: Sheet = { width, height, channels, pixels: new Uint8Array(width * height * channels) }
  fillBackground(sheet, background)

  const cellX = (col: number) => left + padding + col * (cellW + padding)
  const cellY = (row: number) => top + padding + row * (caption + cellH + padding) + caption
  cells.forEach((cell, k) => blit(sheet, cell, cellX(k % columns), cellY(Math.floor(k / columns))))

  const text = { scale: textScale, color: background < 128 ? 255 : 0 }
  if (opts.title) drawText(sheet, opts.title, padding, padding, text)
  columnLabels.forEach((label, col) =>
    drawText(sheet, label, cellX(col), titleHeight + padding, { ...text, maxX: cellX(col) + cellW }),
  )
  cellLabels.slice(0, cells.length).forEach((label, k) => {
    const x = cellX(k % columns)
    drawText(sheet, label, x, cellY(Math.floor(k / columns)) - caption, { ...text, maxX: x + cellW })
  })
  rowLabels.forEach((label, row) =>
    drawText(sheet, label, padding, cellY(row) + Math.floor((cellH - GLYPH_HEIGHT * textScale) / 2), text),
  )
  return sheet
}

/** The sheet as a PNG, with the same parameter chunks as a single image. */
export const encodeSheetPng = (sheet: Sheet, meta?: PngMeta): Uint8Array => encodePixelsPng(sheet, meta)

const clampByte = (v: number): number => Math.min(255, Math.max(0, Math.round(v)))

function fillBackground(sheet: Sheet, gray: number): void {
  sheet.pixels.fill(gray)
  // Margins of an RGBA sheet are opaque, not see-through.
  if (sheet.channels === 4) for (let i = 3; i < sheet.pixels.length; i += 4) sheet.pixels[i] = 255
}

function blit(target: Sheet, src: Pixels, x: number, y: number): void {
  const rowBytes = src.width * src.channels
  for (let r = 0; r < src.height; r++) {
    target.pixels.set(
      src.pixels.subarray(r * rowBytes, (r + 1) * rowBytes),
      ((y + r) * target.width + x) * target.channels,
    )
  }
}
