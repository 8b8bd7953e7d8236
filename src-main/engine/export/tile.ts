/** A batch laid out as one planar image (for GIF frames of a whole batch). */
import { imageOf, type PlanarImage, type Shape } from '../tensor'

export function tileBatch(
  batch: Float32Array,
  shape: Shape,
  columns = Math.ceil(Math.sqrt(shape.batch)),
  gap = 1,
): PlanarImage {
  const rows = Math.ceil(shape.batch / columns)
  const width = columns * shape.width + (columns - 1) * gap
  const height = rows * shape.height + (rows - 1) * gap
  const data = new Float32Array(shape.channels * height * width).fill(-1)
  for (let k = 0; k < shape.batch; k++) {
    const img = imageOf(batch, shape, k)
    const x0 = (k % columns) * (shape.width + gap)
    const y0 = Math.floor(k / columns) * (shape.height + gap)
    for (let c = 0; c < shape.channels; c++)
      for (let y = 0; y < shape.height; y++)
        data.set(
          img.data.subarray((c * shape.height + y) * shape.width, (c * shape.height + y + 1) * shape.width),
          (c * height + y0 + y) * width + x0,
        )
  }
  return { channels: shape.channels, height, width, data }
}
