/** The numbers that bound a run and its exports: one home each, read by the engine, the CLI and the UI. */

/** Largest batch one run may ask for. */
export const MAX_BATCH = 64

/** Largest number of training timesteps a schedule may have. */
export const MAX_TRAIN_STEPS = 100_000

/** The largest height or width a graph with a dynamic size is asked for. */
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
/** A seed field holding this means "a random seed each run" (as in other diffusion UIs). */
export const RANDOM_SEED = -1

/** Frames of a denoising GIF when none are asked for (evenly spread, first and last always in). */
export const DEFAULT_GIF_FRAMES = 40
export const MAX_GIF_FRAMES = 1000
/** The app's delay between a GIF's frames until the user sets one (milliseconds; the GIF encoder's own: 80). */
export const DEFAULT_GIF_DELAY_MS = 80
/** Steps (columns) of a steps sheet when none are asked for, and the most the app offers. */
export const DEFAULT_SHEET_COLUMNS = 10
export const MAX_SHEET_COLUMNS = 100

/** Exports enlarge each image pixel to at most this many pixels a side (nearest neighbour). */
export const MAX_EXPORT_SCALE = 16

/** Runs one export may lay out side by side (a grid's rows, a comparison's columns). */
export const MAX_EXPORT_RUNS = 64

/** A comparison shows this many variants of one run side by side. */
export const MIN_VARIANTS = 2
export const MAX_VARIANTS = 4

/**
 * A sampling run reaches the page's eyes at most this often: the engine sends the newest step's images
 * (and always the first and the last step's) at most this often, every step's record and diagnostics as
 * they come, and the page draws the run at most this often. Each drawing repaints and composites the
 * window, and on a machine whose cores the model fills every CPU second the page spends is taken from the
 * model: measured in `npm run bench` (test/bench/app-speed.ts), drawing at the display's 60 Hz cost the
 * page about 30 ms of CPU a step on two cores, a tenth of a second about half of it; and on DDPM 200 x 4,
 * Chromium's CPU went from 5.4 s at a tenth of a second to 3.6 s at a quarter (the model's: 11 s). Any
 * other step's images are fetched when a view shows them (runs.steps), so every step stays viewable;
 * scrubbing and playback draw at the display's rate.
 */
export const LIVE_UPDATE_MS = 250

/**
 * How often the engine sends a run's newest images where the model computes on the processor the page
 * draws with (the CPU provider, a software WebGPU adapter): twice a second, not four times (as A1111's live
 * preview, which shows one a second). Where the model fills those cores, each CPU second the page spends
 * drawing is taken from it. Measured on DDPM 400 x 4 on two cores, three rounds of two runs, interleaved:
 * Chromium's CPU 1.11-1.56 s a run (mean 1.31) at four images a second, 0.55-1.02 s (mean 0.81) at two,
 * 38% less; a GPU's model leaves the processor to the page, and its runs are drawn at LIVE_UPDATE_MS.
 */
export const LIVE_UPDATE_SHARED_CPU_MS = 500

/**
 * The longest a run's event waits to go to the app's window or a browser host's page, gathered with others
 * (src-main/service/event-batch.ts; a batch goes sooner with a step's images, so a run whose images come
 * more often is drawn as often). A message a step cost Chromium about a millisecond of CPU each across its
 * processes: a 1000-step run sent 2001 messages at first, 525 gathered every 50 ms (1.4 s less of
 * Chromium's CPU), and about 90 gathered with the images (on DDPM 1000 x 4, Chromium's CPU went from
 * 3.2-3.8 s to 2.5-3.1 s).
 */
export const EVENT_BATCH_MS = LIVE_UPDATE_SHARED_CPU_MS

/**
 * The history's timelines (every step's x_t and predicted x0) together stay within this many bytes on disk
 * unless the user sets another budget; past it the oldest runs' timelines go, their final images kept.
 */
export const HISTORY_DISK_BUDGET_BYTES = 2 * 1024 ** 3

/** A history thumbnail is the first final image at most this many pixels a side (every k-th pixel). */
export const THUMBNAIL_SIDE = 64

/** Thumbnails one runs.thumbnails request may ask for (a screenful of the history). */
export const MAX_THUMBNAILS_A_REQUEST = 100

/** "Generate N batches" makes at most this many (they wait in the queue). */
export const MAX_BATCHES = 100

/** A run that took longer than this says so with a system notification when it ends (when turned on). */
export const LONG_RUN_MS = 10_000

/** Steps one runs.steps request may ask for (a film strip's worth). */
export const MAX_STEPS_A_REQUEST = 64

/** Largest message one WebSocket of the browser host takes (a request with a dropped image is the largest). */
export const MAX_MESSAGE_BYTES = 256 * 1024 * 1024

/**
 * How long the browser host keeps a page's runs going after its last socket closed. A reload takes well
 * under a second and the page's reconnection attempts come at 0.25, 0.75, 1.75, 3.75 and 8.75 s: half a
 * minute covers those and a restarted SSH tunnel, and a closed tab still stops costing the GPU soon.
 */
export const DISCONNECT_GRACE_MS = 30_000

/** The largest model file dropped into the browser host: any U-Net worth sampling on a laptop. */
export const MAX_UPLOAD_BYTES = 2 * 1024 ** 3

/**
 * All of one browser host's uploads together (`serve --upload-quota-gib` changes it): two of the largest
 * files, or a diffusers folder and its variants, before the temp folder fills the disk.
 */
export const DEFAULT_UPLOAD_QUOTA_BYTES = 4 * 1024 ** 3

/**
 * Largest image decoded for a noise preview or an init image: 4096 x 4096, more than a 12-megapixel
 * photo. Models see a few hundred pixels a side, and the size is checked in the file's header first.
 */
export const MAX_IMAGE_PIXELS = 4096 * 4096

/**
 * Largest image file a page sends over the socket (a PNG to restore parameters from, an image to noise):
 * any 8-bit RGB image within MAX_IMAGE_PIXELS fits even uncompressed (48 MiB), and a quarter of
 * MAX_MESSAGE_BYTES leaves room for what else the message holds. Larger files are refused in the page.
 */
export const MAX_IMAGE_BYTES = 64 * 1024 * 1024
