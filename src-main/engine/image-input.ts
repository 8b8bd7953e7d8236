/**
 * An image a user drops (PNG or JPEG) made into what a model takes: its channel count (gray <-> RGB,
 * alpha dropped), its size (centre-cropped to the model's aspect, then area-averaged), values in [-1, 1],
 * planar CHW. For forward-noising previews and for denoising from a noised image.
 */
import { decode as decodePng, hasPngSignature } from 'fast-png'
import jpeg from 'jpeg-js'

import { MAX_IMAGE_PIXELS } from '../../src-shared/limits'
import { EngineError } from './errors'
import { readPngSize } from './export/png'
import type { PlanarImage } from './tensor'

/** Decoded 8-bit pixels, interleaved, with 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels. */
interface Decoded {
  width: number
  height: number
  channels: number
  /** Values scaled to 0..1. */
  at(x: number, y: number, c: number): number
}

const isJpeg = (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff

/** Refused before decoding: a few hundred KiB of PNG can say 20000 x 20000 pixels, gigabytes once decoded. */
const tooLarge = (name: string, size: string) =>
  new EngineError(
    'bad-argument',
    `${name}: ${size} is more than Stepwise decodes (${(MAX_IMAGE_PIXELS / 1e6).toFixed(1)} megapixels, ` +
      `e.g. ${Math.sqrt(MAX_IMAGE_PIXELS)} x ${Math.sqrt(MAX_IMAGE_PIXELS)}); scale it down first`,
  )

function decodeImage(bytes: Uint8Array, name: string): Decoded {
  if (hasPngSignature(bytes)) {
    const { width, height } = readPngSize(bytes, name)
    if (width * height > MAX_IMAGE_PIXELS) throw tooLarge(name, `${width} x ${height} pixels`)
  }
  try {
    if (hasPngSignature(bytes)) {
      const png = decodePng(bytes)
      const max = 2 ** png.depth - 1
      if (png.palette) {
        const palette = png.palette
        return {
          width: png.width,
          height: png.height,
          channels: palette[0].length,
          at: (x, y, c) => palette[png.data[y * png.width + x]][c] / 255,
        }
      }
      return {
        width: png.width,
        height: png.height,
        channels: png.channels,
        at: (x, y, c) => png.data[(y * png.width + x) * png.channels + c] / max,
      }
    }
    if (isJpeg(bytes)) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 })
      return {
        width: img.width,
        height: img.height,
        channels: 3,
        at: (x, y, c) => img.data[(y * img.width + x) * 4 + c] / 255,
      }
    }
  } catch (e) {
    // jpeg-js checks the size in the frame header, before it decodes a pixel.
    if (e instanceof Error && e.message.startsWith('maxResolutionInMP')) throw tooLarge(name, 'the image')
    throw new EngineError(
      'bad-png',
      `${name}: the image cannot be decoded (${e instanceof Error ? e.message : String(e)})`,
    )
  }
  throw new EngineError('bad-png', `${name}: not a PNG or JPEG image`)
}

/** Luma (ITU-R BT.601) for colour to gray; gray copied to every channel for gray to colour. */
function channelValue(img: Decoded, x: number, y: number, c: number, want: number): number {
  const colour = img.channels >= 3
  if (want === 1)
    return colour ? 0.299 * img.at(x, y, 0) + 0.587 * img.at(x, y, 1) + 0.114 * img.at(x, y, 2) : img.at(x, y, 0)
  return colour ? img.at(x, y, Math.min(c, 2)) : img.at(x, y, 0)
}

/** The image as a model input of `channels` x `height` x `width`. */
export function imageForModel(
  bytes: Uint8Array,
  name: string,
  size: { channels: number; height: number; width: number },
): PlanarImage {
  const img = decodeImage(bytes, name)
  const { channels, height, width } = size
  if (channels !== 1 && channels !== 3)
    throw new EngineError(
      'bad-argument',
      `${name}: images can be given to 1- or 3-channel models only (this one has ${channels})`,
    )
  // The largest centred region with the model's aspect ratio.
  const scale = Math.min(img.width / width, img.height / height)
  const cropW = width * scale,
    cropH = height * scale
  const x0 = (img.width - cropW) / 2,
    y0 = (img.height - cropH) / 2
  const data = new Float32Array(channels * height * width)
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        // Average the source pixels whose centres fall in this target pixel (at least the nearest one).
        const sx0 = x0 + x * scale,
          sy0 = y0 + y * scale
        const xs = Math.floor(sx0),
          xe = Math.max(xs + 1, Math.ceil(sx0 + scale - 1e-9))
        const ys = Math.floor(sy0),
          ye = Math.max(ys + 1, Math.ceil(sy0 + scale - 1e-9))
        let sum = 0,
          n = 0
        for (let sy = ys; sy < Math.min(ye, img.height); sy++) {
          for (let sx = xs; sx < Math.min(xe, img.width); sx++) {
            sum += channelValue(img, sx, sy, c, channels)
            n++
          }
        }
        data[(c * height + y) * width + x] = 2 * (sum / n) - 1
      }
    }
  }
  return { channels, height, width, data }
}
