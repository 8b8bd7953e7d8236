/**
 * The denoising timeline of one image of the run: which image, which step is shown, playback (speed,
 * once / loop / ping-pong), and following the newest step while sampling until the user scrubs away.
 */
import { run } from './run.svelte'
import { type Pixels, steps } from './steps.svelte'

/** Playback takes about this long end to end at 1x, whatever the step count... */
const PLAY_TOTAL_MS = 4000
/** ...within these frame delays. */
const PLAY_MIN_DELAY_MS = 16
const PLAY_MAX_DELAY_MS = 250
/** One display frame: faster than this, playback skips steps instead of ticking faster. */
const FRAME_MS = 16

export const PLAY_SPEEDS = [0.25, 0.5, 1, 2, 4] as const
export const PLAY_MODES = ['once', 'loop', 'pingpong'] as const
export type PlayMode = (typeof PLAY_MODES)[number]

class Timeline {
  /** The image of the batch the timeline shows. */
  image = $state(0)
  /** The step shown when not following. */
  position = $state(0)
  /** Show the newest step as it arrives. */
  follow = $state(true)
  playing = $state(false)
  speed = $state<number>(1)
  mode = $state<PlayMode>('once')
  #direction = 1
  #timer: ReturnType<typeof setInterval> | undefined

  #lastShown: { runId: string; index: number; pixels: Pixels } | null = null

  /**
   * Index into run.frames of the step shown (-1 before any frame). Following a run that samples, it is the
   * newest step whose images have come (a display frame behind at most), so following fetches nothing.
   */
  shown = $derived(
    this.follow
      ? run.running && run.latest
        ? run.latest.index
        : run.frames.length - 1
      : Math.min(this.position, run.frames.length - 1),
  )
  frame = $derived(this.shown >= 0 ? run.frames[this.shown] : null)
  /**
   * The images of the step shown: held, or fetched; while they are on their way, the step shown before
   * stays (no blank flash when scrubbing).
   */
  #drawn = $derived.by((): { index: number; pixels: Pixels } | null => {
    const runId = run.runId
    if (!runId || this.shown < 0 || !run.timeline) return null
    const p = run.latest?.index === this.shown ? run.latest.pixels : steps.get(runId, this.shown)
    if (p) this.#lastShown = { runId, index: this.shown, pixels: p }
    return this.#lastShown?.runId === runId ? this.#lastShown : null
  })
  pixels = $derived(this.#drawn?.pixels ?? null)
  /** The step whose images `pixels` holds: the step shown once they have come (-1: none). */
  pixelsStep = $derived(this.#drawn?.index ?? -1)
  /** The last step of a finished run is shown: its final sample is what the image became. */
  atEnd = $derived(run.samples !== null && this.shown === run.frames.length - 1)

  /** A new run: follow it from the start, same image when the batch still holds it. */
  reset(batch: number) {
    this.pause()
    this.follow = true
    this.position = 0
    if (this.image >= batch) this.image = 0
  }

  select(image: number) {
    const batch = run.shape?.batch ?? 0
    if (batch > 0) this.image = Math.min(batch - 1, Math.max(0, image))
  }

  /**
   * The user went to a step (the scrubber, the film strip, a plot, a key): playback stops, and the view stops
   * following the run unless they went back to the newest step.
   */
  scrub(index: number) {
    this.pause()
    const last = run.frames.length - 1
    this.position = Math.max(0, Math.min(index, last))
    this.follow = run.running && this.position >= last
  }

  play() {
    const count = run.frames.length
    if (count < 2) return
    this.pause()
    // Once from the end starts again; a loop or ping-pong goes on from where it is.
    if (this.mode === 'once' && this.shown >= count - 1) this.position = 0
    else this.position = Math.max(0, this.shown)
    this.follow = false
    this.playing = true
    this.#direction = 1
    const stepMs = Math.min(PLAY_MAX_DELAY_MS, Math.max(PLAY_MIN_DELAY_MS, PLAY_TOTAL_MS / count)) / this.speed
    const tick = Math.max(FRAME_MS, stepMs)
    const stride = Math.max(1, Math.round(tick / stepMs))
    // The steps playback will show, fetched ahead of it.
    if (run.runId && run.timeline)
      steps.want(
        run.runId,
        Array.from({ length: Math.ceil(count / stride) }, (_, k) => Math.min(count - 1, k * stride)),
      )
    this.#timer = setInterval(() => this.#advance(stride), tick)
  }

  #advance(stride: number) {
    const last = run.frames.length - 1
    const next = this.position + this.#direction * stride
    if (next <= last && next >= 0) {
      this.position = next
      return
    }
    if (this.mode === 'once') {
      this.position = last
      this.pause()
    } else if (this.mode === 'loop') this.position = 0
    else {
      // Ping-pong: bounce off either end (3, then 2 after the last step 3).
      this.#direction = -this.#direction
      this.position = Math.max(0, Math.min(last, next > last ? 2 * last - next : -next))
    }
  }

  pause() {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.playing = false
  }

  toggle() {
    if (this.playing) this.pause()
    else this.play()
  }

  /** A new speed or mode takes effect at once while playing. */
  setSpeed(speed: number) {
    this.speed = speed
    if (this.playing) this.play()
  }

  setMode(mode: PlayMode) {
    this.mode = mode
    if (this.playing) this.play()
  }
}

export const timeline = new Timeline()
