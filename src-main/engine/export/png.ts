/**
 * PNG export with the run's parameters inside, the way Stable Diffusion UIs do it: a tEXt chunk
 * `parameters` with a readable one-line summary, and a tEXt chunk `stepwise` with the full parameters
 * as JSON so a PNG dropped back onto Stepwise can restore the run.
 */

import { decode, encode, hasPngSignature } from 'fast-png'

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

/** All tEXt chunks of a PNG, keyword -> text. */
export function readPngText(bytes: Uint8Array, fileName: string): Record<string, string> {
  if (!hasPngSignature(bytes)) throw new EngineError('bad-png', `${fileName}: not a PNG file (no PNG signature)`)
  try {
    return decode(bytes).text
  } catch (e) {
    throw new EngineError('bad-png', `${fileName}: damaged PNG (${e instanceof Error ? e.message : String(e)})`)
  }
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
