/** From the engine's planar floats to the 8-bit interleaved pixels every image format wants. */

import type { PlanarImage } from '../tensor'

/** 8-bit interleaved pixels, HWC: 1 channel gray, 3 RGB, 4 RGBA. */
export interface Pixels {
  width: number
  height: number
  channels: number
  pixels: Uint8Array
}

/** [-1, 1] -> 0..255, the inverse of the usual `x / 127.5 - 1` training transform; NaN shows as black. */
export const toByte = (v: number): number => {
  const b = Math.round(((v + 1) / 2) * 255)
  return b > 0 ? (b < 255 ? b : 255) : 0 // NaN fails both comparisons and lands on 0
}

/** CHW planar floats -> HWC interleaved bytes. */
export function toPixels(img: PlanarImage): Uint8Array {
  const { channels, width, height, data } = img
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new RangeError(`images have 1, 3 or 4 channels, got ${channels}`)
  }
  const plane = width * height
  const out = new Uint8Array(plane * channels)
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < plane; i++) out[i * channels + c] = toByte(data[c * plane + i])
  }
  return out
}

/** Each pixel becomes a factor x factor block: tiny model outputs (28 px) stay crisp when enlarged. */
export function upscaleNearest(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: number,
  factor: number,
): Uint8Array {
  if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`scale must be a positive integer, got ${factor}`)
  if (factor === 1) return pixels
  const outWidth = width * factor
  const out = new Uint8Array(outWidth * height * factor * channels)
  const rowBytes = outWidth * channels
  for (let y = 0; y < height; y++) {
    const row = out.subarray(y * factor * rowBytes, (y * factor + 1) * rowBytes)
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * channels
      for (let k = 0; k < factor; k++) row.set(pixels.subarray(src, src + channels), (x * factor + k) * channels)
    }
    for (let k = 1; k < factor; k++)
      out.copyWithin((y * factor + k) * rowBytes, y * factor * rowBytes, (y * factor + 1) * rowBytes)
  }
  return out
}

/** Planar image -> interleaved bytes, enlarged by an integer factor. */
export const toScaledPixels = (img: PlanarImage, scale = 1): Pixels => ({
  width: img.width * scale,
  height: img.height * scale,
  channels: img.channels,
  pixels: upscaleNearest(toPixels(img), img.width, img.height, img.channels, scale),
})
