/**
 * PNG export with the run's parameters inside, the way Stable Diffusion UIs do it: a tEXt chunk
 * `parameters` with a readable one-line summary, and a tEXt chunk `stepwise` with the full parameters
 * as JSON so a PNG dropped back onto Stepwise can restore the run.
 */

import { encode, hasPngSignature } from 'fast-png'

import { EngineError } from '../errors'
import type { PlanarImage } from '../tensor'
import { type Pixels, toScaledPixels } from './pixels'

export { decode as decodePng } from 'fast-png'

export interface PngMeta {
  parameters: string
  stepwise: unknown
}

/** Writes 8-bit pixels (gray, RGB or RGBA by channel count) as a PNG with the parameter chunks. */
export function encodePixelsPng(img: Pixels, meta?: PngMeta): Uint8Array {
  const text = meta && { parameters: latin1Line(meta.parameters), stepwise: asciiJson(meta.stepwise) }
  return encode({ width: img.width, height: img.height, channels: img.channels, depth: 8, data: img.pixels, text })
}

export const encodePng = (img: PlanarImage, meta?: PngMeta, opts: { scale?: number } = {}): Uint8Array =>
  encodePixelsPng(toScaledPixels(img, opts.scale ?? 1), meta)

const damaged = (fileName: string, why: string) => new EngineError('bad-png', `${fileName}: damaged PNG (${why})`)

/** fast-png reads tEXt as this (WHATWG's 'latin1' is windows-1252); the same here keeps the round trip. */
const latin1 = new TextDecoder('latin1')

/**
 * The chunks of a PNG up to IEND (PNG spec, 5.3 Chunk layout: length, type, data, CRC), walked without
 * inflating anything. fast-png can only read the text by decoding every pixel first, so a 380 KiB PNG of
 * 20000 x 20000 pixels held the engine for seconds; and a chunk walker is too small to be worth a new
 * dependency (png-chunks-extract, the one on npm, was last published in 2016). CRCs are not checked, as
 * fast-png does not check them either.
 */
export function* pngChunks(bytes: Uint8Array, fileName: string): Generator<{ type: string; data: Uint8Array }> {
  if (!hasPngSignature(bytes)) throw new EngineError('bad-png', `${fileName}: not a PNG file (no PNG signature)`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  for (let offset = 8; ;) {
    if (offset + 8 > bytes.length) throw damaged(fileName, 'it ends before its IEND chunk')
    const length = view.getUint32(offset)
    const type = latin1.decode(bytes.subarray(offset + 4, offset + 8))
    if (!/^[A-Za-z]{4}$/.test(type)) throw damaged(fileName, `a chunk at byte ${offset} has no type`)
    const end = offset + 8 + length + 4
    if (end > bytes.length) throw damaged(fileName, `its ${type} chunk runs past the end of the file`)
    yield { type, data: bytes.subarray(offset + 8, offset + 8 + length) }
    if (type === 'IEND') return
    offset = end
  }
}

/** All tEXt chunks of a PNG, keyword -> text (a later chunk of the same keyword wins, as in fast-png). */
export function readPngText(bytes: Uint8Array, fileName: string): Record<string, string> {
  const text: Record<string, string> = {}
  for (const { type, data } of pngChunks(bytes, fileName)) {
    if (type !== 'tEXt') continue
    // PNG spec, 11.3.3.2 tEXt: a keyword of 1-79 bytes, a NUL, then the text.
    const nul = data.indexOf(0)
    if (nul < 1 || nul > 79) throw damaged(fileName, 'a tEXt chunk has no keyword')
    text[latin1.decode(data.subarray(0, nul))] = latin1.decode(data.subarray(nul + 1))
  }
  return text
}

/** A PNG's width and height from its header (IHDR), without decoding anything. */
export function readPngSize(bytes: Uint8Array, fileName: string): { width: number; height: number } {
  const first = pngChunks(bytes, fileName).next()
  if (first.done || first.value.type !== 'IHDR' || first.value.data.length < 8)
    throw damaged(fileName, 'it does not start with an image header')
  const view = new DataView(first.value.data.buffer, first.value.data.byteOffset, 8)
  return { width: view.getUint32(0), height: view.getUint32(4) }
}

/** The full parameters Stepwise wrote, or undefined for a PNG from elsewhere. */
export function readStepwiseParameters(bytes: Uint8Array, fileName: string): unknown | undefined {
  const json = readPngText(bytes, fileName).stepwise
  if (json === undefined) return undefined
  try {
    return JSON.parse(json)
  } catch {
    throw new EngineError('bad-png', `${fileName}: its "stepwise" text chunk is not valid JSON`)
  }
}

/**
 * tEXt holds Latin-1 only, and fast-png reads it back as windows-1252 (the WHATWG 'latin1'), which differs
 * in 0x80-0x9f. JSON can say any character in ASCII with \u escapes, so the round trip is exact.
 */
const asciiJson = (value: unknown): string =>
  (JSON.stringify(value) ?? 'null').replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )

/** The summary is for people: keep it one line, and show what tEXt cannot hold as '?'. */
const latin1Line = (s: string): string =>
  s.replace(/\s*[\r\n]+\s*/g, ' ').replace(/[^\u0020-\u007e\u00a0-\u00ff]/g, '?')
