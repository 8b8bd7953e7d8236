/** The small part of gifenc (mattdesl/gifenc, untyped JavaScript) that gif.ts uses. */
declare module 'gifenc' {
  export type Palette = number[][]
  export interface FrameOptions {
    palette?: Palette
    /** Milliseconds; GIF stores centiseconds, so this is rounded to 10 ms. */
    delay?: number
    /** 0 forever, -1 play once, n > 0 repeat n times. Read from the first frame only. */
    repeat?: number
    transparent?: boolean
    transparentIndex?: number
    dispose?: number
  }
  export interface GifStream {
    writeFrame(index: Uint8Array, width: number, height: number, opts?: FrameOptions): void
    finish(): void
    bytes(): Uint8Array
  }
  export function GIFEncoder(opts?: { auto?: boolean; initialCapacity?: number }): GifStream
  /** Expects RGBA bytes whose buffer starts at offset 0 (it reads `rgba.buffer` as Uint32 pixels). */
  export function quantize(
    rgba: Uint8Array,
    maxColors: number,
    opts?: { format?: 'rgb565' | 'rgb444' | 'rgba4444' },
  ): Palette
  export function applyPalette(
    rgba: Uint8Array,
    palette: Palette,
    format?: 'rgb565' | 'rgb444' | 'rgba4444',
  ): Uint8Array
}
