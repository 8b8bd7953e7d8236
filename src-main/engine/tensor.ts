/** Planar float images as the engine holds them: NCHW, values nominally in [-1, 1]. */
import type { Shape } from '../../src-shared/parameters'

export type { Shape }

/** One image of a batch: CHW planar float32, values nominally in [-1, 1]. */
export interface PlanarImage {
  channels: number
  height: number
  width: number
  data: Float32Array
}

export const imageSize = (s: Pick<Shape, 'channels' | 'height' | 'width'>): number => s.channels * s.height * s.width

/** Image k of a batch as a view (no copy). */
export function imageOf(batch: Float32Array, shape: Shape, k: number): PlanarImage {
  const n = imageSize(shape)
  return {
    channels: shape.channels,
    height: shape.height,
    width: shape.width,
    data: batch.subarray(k * n, (k + 1) * n),
  }
}
