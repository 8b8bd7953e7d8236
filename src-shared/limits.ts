/** The numbers that bound a run and its exports: one home each, read by the engine, the CLI and the UI. */

/** Largest batch one run may ask for. */
export const MAX_BATCH = 64

/** Largest number of training timesteps a schedule may have. */
export const MAX_TRAIN_STEPS = 100_000

/** Random seeds are drawn below this: they read well and match other tools' habits. */
export const RANDOM_SEED_RANGE = 2 ** 32
export const randomSeed = (): number => Math.floor(Math.random() * RANDOM_SEED_RANGE)
/** A seed field holding this means "a random seed each run" (as in other diffusion UIs). */
export const RANDOM_SEED = -1

/** Frames of a denoising GIF when none are asked for (evenly spread, first and last always in). */
export const DEFAULT_GIF_FRAMES = 40
export const MAX_GIF_FRAMES = 1000

/** Exports enlarge each image pixel to at most this many pixels a side (nearest neighbour). */
export const MAX_EXPORT_SCALE = 16

/** Runs one export may lay out side by side (a grid's rows, a comparison's columns). */
export const MAX_EXPORT_RUNS = 64

/** A comparison shows this many variants of one run side by side. */
export const MIN_VARIANTS = 2
export const MAX_VARIANTS = 4
