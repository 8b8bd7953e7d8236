/**
 * A 5x7 bitmap font for contact-sheet labels, so the engine needs no canvas or font files.
 * Each glyph is 7 rows, top first, as 2 hex digits a row; bit 4 is the leftmost column.
 * Lowercase letters draw as capitals; anything else missing draws as '?'.
 */

const GLYPHS: Record<string, string> = {
  '0': '0e11131519110e',
  '1': '040c040404040e',
  '2': '0e11010204081f',
  '3': '1f02040201110e',
  '4': '02060a121f0202',
  '5': '1f101e0101110e',
  '6': '0608101e11110e',
  '7': '1f010204080808',
  '8': '0e11110e11110e',
  '9': '0e11110f01020c',
  A: '0e11111f111111',
  B: '1e11111e11111e',
  C: '0e11101010110e',
  D: '1c12111111121c',
  E: '1f10101e10101f',
  F: '1f10101e101010',
  G: '0e11101711110f',
  H: '1111111f111111',
  I: '0e04040404040e',
  J: '0702020202120c',
  K: '11121418141211',
  L: '1010101010101f',
  M: '111b1515111111',
  N: '11111915131111',
  O: '0e11111111110e',
  P: '1e11111e101010',
  Q: '0e11111115120d',
  R: '1e11111e141211',
  S: '0f10100e01011e',
  T: '1f040404040404',
  U: '1111111111110e',
  V: '11111111110a04',
  W: '1111111515150a',
  X: '11110a040a1111',
  Y: '1111110a040404',
  Z: '1f01020408101f',
  ' ': '00000000000000',
  '.': '00000000000c0c',
  ',': '000000000c0408',
  ':': '000c0c000c0c00',
  '-': '0000001f000000',
  '+': '0004041f040400',
  '=': '00001f001f0000',
  '/': '00010204081000',
  '(': '02040808080402',
  ')': '08040202020408',
  _: '0000000000001f',
  '%': '18190204081303',
  '#': '0a0a1f0a1f0a0a',
  '?': '0e110102040004',
  '!': '04040404040004',
  "'": '04040800000000',
  '*': '0004150e150400',
}

export const GLYPH_WIDTH = 5
export const GLYPH_HEIGHT = 7
/** One blank column between letters. */
export const ADVANCE = GLYPH_WIDTH + 1

const rowsOf = (ch: string): number[] => {
  const hex = GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS['?']
  return Array.from({ length: GLYPH_HEIGHT }, (_, r) => parseInt(hex.slice(2 * r, 2 * r + 2), 16))
}

export const textWidth = (text: string, scale: number): number =>
  text.length === 0 ? 0 : (text.length * ADVANCE - 1) * scale

/**
 * Draws `text` into interleaved pixels with its top-left at (x, y), each font pixel a scale x scale
 * block of `color` (all colour channels; alpha, if any, made opaque). Clipped at maxX and the image edges.
 */
export function drawText(
  target: { width: number; height: number; channels: number; pixels: Uint8Array },
  text: string,
  x: number,
  y: number,
  opts: { scale: number; color: number; maxX?: number },
): void {
  const { width, height, channels, pixels } = target
  const right = Math.min(opts.maxX ?? width, width)
  const colorChannels = channels === 4 ? 3 : channels
  ;[...text].forEach((ch, i) => {
    rowsOf(ch).forEach((bits, r) => {
      for (let c = 0; c < GLYPH_WIDTH; c++) {
        if (!(bits & (0x10 >> c))) continue
        for (let dy = 0; dy < opts.scale; dy++) {
          for (let dx = 0; dx < opts.scale; dx++) {
            const px = x + (i * ADVANCE + c) * opts.scale + dx
            const py = y + r * opts.scale + dy
            if (px < 0 || py < 0 || px >= right || py >= height) continue
            const at = (py * width + px) * channels
            pixels.fill(opts.color, at, at + colorChannels)
            if (channels === 4) pixels[at + 3] = 255
          }
        }
      }
    })
  })
}
