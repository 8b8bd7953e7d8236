/** The numbers that bound a run and its exports: one home each, read by the engine, the CLI and the UI. */

/** Largest batch one run may ask for. */
export const MAX_BATCH = 64

/** Largest number of training timesteps a schedule may have. */
export const MAX_TRAIN_STEPS = 100_000

/**
 * Image sizes a graph with a dynamic height or width is asked for (one it fixes takes only its own):
 * multiples of this (a U-Net halves the image three times and joins the halves back) up to the side.
 */
export const DYNAMIC_SIZE_MULTIPLE = 8
export const MAX_IMAGE_SIDE = 2048

/**
 * Working memory of one model call per pixel of its batch, a coarse estimate for refusing sizes that
 * cannot fit in the machine's memory: a U-Net keeps about 16 float32 feature maps of 64 channels at full
 * resolution alive (16 x 64 x 4 bytes = 4 KiB a pixel).
 */
export const MODEL_BYTES_PER_PIXEL = 4096

/** Random seeds are drawn below this: they read well and match other tools' habits. */
export const RANDOM_SEED_RANGE = 2 ** 32
export const randomSeed = (): number => Math.floor(Math.random() * RANDOM_SEED_RANGE)

/** Frames of a denoising GIF when none are asked for (evenly spread, first and last always in). */
export const DEFAULT_GIF_FRAMES = 40
export const MAX_GIF_FRAMES = 1000

/** Runs one export may lay out side by side (a grid's rows, a comparison's columns). */
export const MAX_EXPORT_RUNS = 64

/** A comparison shows this many variants of one run side by side. */
export const MIN_VARIANTS = 2
export const MAX_VARIANTS = 4
