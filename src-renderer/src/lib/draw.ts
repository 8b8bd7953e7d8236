/**
 * Float tensors to pixels. One image of a [batch, channels, height, width] float32 array becomes an
 * ImageData the size of the image (CSS scales the canvas up, pixelated).
 * 1 channel -> gray, 3 -> RGB, 4 -> RGBA; other counts show their first channel as gray.
 */
import type { Shape } from '../../../src-preload/contract'
import { NOISE_RANGE } from '../../../src-shared/noise'

export { NOISE_RANGE }

/** x_t and predicted x0 live in [-1, 1]. */
export const SAMPLE_RANGE: [number, number] = [-1, 1]

export function imageDataOf(values: Float32Array, shape: Shape, index: number, [lo, hi]: [number, number]): ImageData {
  const { channels: c, height: h, width: w } = shape
  const plane = h * w
  const base = index * c * plane
  const out = new ImageData(w, h)
  const px = out.data
  const scale = 255 / (hi - lo)
  // A NaN passes neither test and lands in the clamped array as 0 (black).
  const byte = (v: number) => (v <= lo ? 0 : v >= hi ? 255 : (v - lo) * scale)
  for (let i = 0; i < plane; i++) {
    const o = 4 * i
    if (c === 3 || c === 4) {
      px[o] = byte(values[base + i])
      px[o + 1] = byte(values[base + plane + i])
      px[o + 2] = byte(values[base + 2 * plane + i])
      px[o + 3] = c === 4 ? byte(values[base + 3 * plane + i]) : 255
    } else {
      px[o] = px[o + 1] = px[o + 2] = byte(values[base + i])
      px[o + 3] = 255
    }
  }
  return out
}

/**
 * Pixel (x, y) of image `index` as the model made it: one float a channel, unclamped (a value beyond the
 * drawn range shows as black or white; this says by how much). null outside the image or the array.
 */
export function pixelValues(values: Float32Array, shape: Shape, index: number, x: number, y: number): number[] | null {
  const { channels: c, height: h, width: w } = shape
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x >= w || y >= h) return null
  const plane = h * w
  const at = index * c * plane + y * w + x
  if (index < 0 || at + (c - 1) * plane >= values.length) return null
  return Array.from({ length: c }, (_, k) => values[at + k * plane])
}

/** A pixel's values as the look-closer view reads them out: "(x, y) v" or "(x, y) r, g, b". */
export const pixelText = (x: number, y: number, v: number[]): string =>
  `(${x}, ${y}) ${v.map((n) => (Number.isFinite(n) ? n.toFixed(3) : String(n))).join(', ')}`
