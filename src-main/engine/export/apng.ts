/**
 * The denoising as an animated PNG (APNG): every pixel exact (no palette, unlike a GIF), colour or gray,
 * with the run's parameters in the same tEXt chunks as a PNG export.
 *
 * Each frame is compressed by fast-png (the PNG encoder we already use, which writes still PNGs only); this
 * file only re-wraps its image data in APNG's frame chunks (acTL, fcTL, fdAT: APNG spec 1.0). No maintained,
 * typed npm package writes APNG (UPNG.js was last published in 2019 and has no types), and the framing is
 * 40 lines. The default image, what a viewer without APNG shows, is the final sample and not part of the
 * animation; the animation runs from noise to it and holds it.
 */
import { crc32 } from 'node:zlib'

import { EngineError } from '../errors'
import type { PlanarImage } from '../tensor'
import { defaultGifScale, type GifOptions } from './gif'
import { toScaledPixels } from './pixels'
import { encodePixelsPng, pngChunks, type PngMeta } from './png'

const SIGNATURE = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10])

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, data.length)
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i)
  out.set(data, 8)
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)))
  return out
}

const u32s = (...values: number[]) => {
  const out = new Uint8Array(4 * values.length)
  values.forEach((v, i) => new DataView(out.buffer).setUint32(4 * i, v))
  return out
}

/** fcTL: this frame's size and place (the whole canvas), its delay in ms, no disposal, no blending. */
function frameControl(sequence: number, width: number, height: number, delayMs: number): Uint8Array {
  const data = new Uint8Array(26)
  data.set(u32s(sequence, width, height, 0, 0))
  const view = new DataView(data.buffer)
  view.setUint16(20, Math.round(delayMs))
  view.setUint16(22, 1000) // delay = delay_num / delay_den seconds
  // dispose_op 0 (none) and blend_op 0 (source: the frame replaces the canvas) stay 0.
  return chunk('fcTL', data)
}

export function encodeApng(frames: PlanarImage[], opts: GifOptions = {}, meta?: PngMeta): Uint8Array {
  if (frames.length === 0) throw new EngineError('bad-argument', 'APNG: no frames to encode')
  const { width, height, channels } = frames[0]
  if (frames.some((f) => f.width !== width || f.height !== height || f.channels !== channels)) {
    throw new EngineError('bad-argument', 'APNG: all frames must have the same size and channel count')
  }
  const scale = opts.scale ?? defaultGifScale(width, height)
  // Each frame a still PNG; the final one carries the parameters and is also the default image.
  const stills = frames.map((f, k) =>
    encodePixelsPng(toScaledPixels(f, scale), k === frames.length - 1 ? meta : undefined),
  )
  const chunksOf = (png: Uint8Array) => [...pngChunks(png, 'APNG frame')]
  const idatOf = (png: Uint8Array) => chunksOf(png).filter((c) => c.type === 'IDAT')
  const last = chunksOf(stills.at(-1)!)
  const header = last.find((c) => c.type === 'IHDR')!
  const [w, h] = [width * scale, height * scale]
  const parts: Uint8Array[] = [SIGNATURE, chunk('IHDR', header.data)]
  parts.push(chunk('acTL', u32s(frames.length, opts.loop === false ? 1 : 0)))
  for (const c of last) if (c.type === 'tEXt') parts.push(chunk('tEXt', c.data))
  for (const c of last) if (c.type === 'IDAT') parts.push(chunk('IDAT', c.data))
  let sequence = 0
  stills.forEach((png, k) => {
    const held = k === stills.length - 1
    parts.push(frameControl(sequence++, w, h, held ? (opts.holdLastMs ?? 1500) : (opts.delayMs ?? 80)))
    for (const c of idatOf(png)) {
      const data = new Uint8Array(4 + c.data.length)
      data.set(u32s(sequence++))
      data.set(c.data, 4)
      parts.push(chunk('fdAT', data))
    }
  })
  parts.push(chunk('IEND', new Uint8Array(0)))
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0)
  return out
}
