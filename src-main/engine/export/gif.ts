/**
 * The denoising as an animated GIF: one frame a chosen step, the last held so the result can be seen.
 *
 * Encoder: gifenc (synchronous, no DOM, takes our own palette). Gray models get a fixed 256-level gray
 * palette, so every pixel keeps its exact 8-bit value; colour models share one palette quantized from
 * all frames, which keeps colours from flickering between frames.
 */

import { createRequire } from 'node:module'

import type * as Gifenc from 'gifenc'
import type { Palette } from 'gifenc'
import { decode, type DecodedFrame, decodeFrames } from 'modern-gif'

import { DEFAULT_GIF_DELAY_MS } from '../../../src-shared/limits'
import { EngineError } from '../errors'
import type { PlanarImage } from '../tensor'
import { type Pixels, toScaledPixels } from './pixels'

// gifenc ships CommonJS only, and Node's ESM loader sees just its default export while Vite's sees the
// named ones; require() gives the same module.exports everywhere.
const gifenc = createRequire(import.meta.url)('gifenc') as typeof Gifenc

export interface GifOptions {
  /** Milliseconds each frame shows; default 80. GIF counts in 10 ms units. */
  delayMs?: number
  /** Milliseconds the last frame shows before the loop restarts; default 1500. */
  holdLastMs?: number
  /** Play forever (default) or once. */
  loop?: boolean
  /** Integer nearest-neighbour enlargement; default: the least that makes the long side >= 256 px. */
  scale?: number
}

/** Small enough that a 28 px MNIST digit becomes a visible 280 px animation. */
const MIN_LONG_SIDE = 256

export const defaultGifScale = (width: number, height: number): number =>
  Math.max(1, Math.ceil(MIN_LONG_SIDE / Math.max(width, height)))

export function encodeGif(frames: PlanarImage[], opts: GifOptions = {}): Uint8Array {
  if (frames.length === 0) throw new EngineError('bad-argument', 'GIF: no frames to encode')
  const { width, height, channels } = frames[0]
  if (frames.some((f) => f.width !== width || f.height !== height || f.channels !== channels)) {
    throw new EngineError('bad-argument', 'GIF: all frames must have the same size and channel count')
  }
  const scale = opts.scale ?? defaultGifScale(width, height)
  const pixels = frames.map((f) => toScaledPixels(f, scale))
  const { palette, indexed } = channels === 1 ? grayIndexed(pixels) : quantizedIndexed(pixels)

  const gif = gifenc.GIFEncoder()
  indexed.forEach((index, k) => {
    const last = k === indexed.length - 1
    gif.writeFrame(index, pixels[k].width, pixels[k].height, {
      palette: k === 0 ? palette : undefined, // one global palette for all frames
      delay: last ? (opts.holdLastMs ?? 1500) : (opts.delayMs ?? DEFAULT_GIF_DELAY_MS),
      repeat: opts.loop === false ? -1 : 0,
    })
  })
  gif.finish()
  return gif.bytes()
}

interface Indexed {
  palette: Palette
  indexed: Uint8Array[]
}

/** With palette entry g = gray g, a gray pixel is its own index: exact, no quantizing. */
const grayIndexed = (frames: Pixels[]): Indexed => ({
  palette: Array.from({ length: 256 }, (_, g) => [g, g, g]),
  indexed: frames.map((f) => f.pixels),
})

/** One palette from all frames together, so colours do not flicker from frame to frame. */
function quantizedIndexed(frames: Pixels[]): Indexed {
  const rgba = frames.map(toRgba)
  const all = new Uint8Array(rgba.reduce((n, f) => n + f.length, 0))
  rgba.reduce((at, f) => (all.set(f, at), at + f.length), 0)
  const palette = gifenc.quantize(all, 256)
  return { palette, indexed: rgba.map((f) => gifenc.applyPalette(f, palette)) }
}

/** GIF has no partial alpha: RGBA frames are shown as if on black. */
function toRgba(f: Pixels): Uint8Array {
  const n = f.width * f.height
  const out = new Uint8Array(n * 4) // own buffer at offset 0, as gifenc requires
  for (let i = 0; i < n; i++) {
    const a = f.channels === 4 ? f.pixels[i * 4 + 3] / 255 : 1
    for (let c = 0; c < 3; c++) out[i * 4 + c] = Math.round(f.pixels[i * f.channels + c] * a)
    out[i * 4 + 3] = 255
  }
  return out
}

/**
 * Which steps to show: every k-th, or about `count` evenly spread; always the first (pure noise) and the
 * last (the result). With neither option, all frames.
 */
export function selectFrames<T>(frames: T[], opts: { every?: number; count?: number } = {}): T[] {
  const n = frames.length
  if (n <= 2) return frames.slice()
  let picks: number[]
  if (opts.count !== undefined) {
    const count = Math.min(n, Math.max(2, Math.floor(opts.count)))
    picks = Array.from({ length: count }, (_, i) => Math.round((i * (n - 1)) / (count - 1)))
  } else {
    const every = Math.max(1, Math.floor(opts.every ?? 1))
    picks = Array.from({ length: Math.ceil(n / every) }, (_, i) => i * every)
    if (picks[picks.length - 1] !== n - 1) picks.push(n - 1)
  }
  return picks.map((i) => frames[i])
}

/** What a GIF holds, read back with modern-gif's decoder: for tests and for checking an export. */
export function readGifInfo(bytes: Uint8Array): {
  width: number
  height: number
  frameCount: number
  delaysMs: number[]
  /** 0 = forever; undefined = plays once. */
  loopCount: number | undefined
} {
  const gif = decode(ownBuffer(bytes))
  return {
    width: gif.width,
    height: gif.height,
    frameCount: gif.frames.length,
    delaysMs: gif.frames.map((f) => f.delay),
    loopCount: gif.looped ? (gif.loopCount ?? 0) : undefined,
  }
}

/** Every frame as RGBA, for tests and previews. */
export const decodeGifFrames = (bytes: Uint8Array): DecodedFrame[] => decodeFrames(ownBuffer(bytes))

/** modern-gif reads `view.buffer` from its start, so hand it a copy that starts there (Node Buffers rarely do). */
const ownBuffer = (bytes: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(bytes)
