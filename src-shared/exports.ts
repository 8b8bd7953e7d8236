/** What can be exported from a run the engine holds, and how it is asked for. */
import type { GifView } from './names'

export const EXPORT_KINDS = [
  'png',
  'sheet',
  'gif',
  'apng',
  'walk-gif',
  'steps-sheet',
  'compare-sheet',
  'compare-gif',
  'grid-sheet',
] as const
export type ExportKind = (typeof EXPORT_KINDS)[number]

export interface ExportRequest {
  runId: string
  /**
   * png: the image `index`, or every image of the batch (one file each); sheet: the batch on one PNG;
   * gif: the denoising of image `index`, or of the whole batch tiled; apng: the same as an animated PNG
   * (exact pixels, the parameters inside, the final sample shown where APNG is not); walk-gif: a walk's final
   * images one a frame, there and back (a loop); steps-sheet: image `index` (or each image, a file each) at
   * `gifFrames` steps (default 10) or every `gifEvery`-th, a column a step, rows x_t, predicted x0 and
   * predicted noise; compare-sheet / compare-gif: the
   * runs `runId` and `with` side by side (image `index` of each, default 0); grid-sheet: one row a run
   * (e.g. one a class), one column an image of its batch (a seed).
   */
  kind: ExportKind
  index?: number
  with?: string[]
  /** grid-sheet: a label a row (e.g. the class names); default each run's class. */
  rowLabels?: string[]
  /** Which view a GIF or APNG animates; default x_t. */
  gifOf?: GifView
  /** At most this many frames, evenly picked (first and last always in); default DEFAULT_GIF_FRAMES. */
  gifFrames?: number
  /** Or every k-th step (the last always in). */
  gifEvery?: number
  gifDelayMs?: number
  /**
   * png, sheet, gif: each image pixel becomes a scale x scale block (nearest neighbour, 1..MAX_EXPORT_SCALE).
   * Default: png 1; sheets and gif their own (cells at least 96 px, a steps sheet's 64, a GIF's long side at
   * least 256 px). A sheet never goes below what its labels need.
   */
  scale?: number
}
