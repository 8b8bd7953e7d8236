/**
 * The denoising timeline of one image of the run: which image, which step is shown, playback, and
 * following the newest step while sampling until the user scrubs away from it.
 */
import { run } from './run.svelte'

/** Playback takes about this long end to end, whatever the step count... */
const PLAY_TOTAL_MS = 4000
/** ...within these frame delays. */
const PLAY_MIN_DELAY_MS = 16
const PLAY_MAX_DELAY_MS = 250

class Timeline {
  /** The image of the batch the timeline shows. */
  image = $state(0)
  /** The step shown when not following. */
  position = $state(0)
  /** Show the newest step as it arrives. */
  follow = $state(true)
  playing = $state(false)
  #timer: ReturnType<typeof setInterval> | undefined

  /** Index into run.frames of the step shown (-1 before any frame). */
  shown = $derived(this.follow ? run.frames.length - 1 : Math.min(this.position, run.frames.length - 1))
  frame = $derived(this.shown >= 0 ? run.frames[this.shown] : null)

  /** A new run: follow it from the start, same image when the batch still holds it. */
  reset(batch: number) {
    this.pause()
    this.follow = true
    this.position = 0
    if (this.image >= batch) this.image = 0
  }

  select(image: number) {
    this.image = image
  }

  /** The user moved the scrubber: stop following, unless they went back to the newest step. */
  scrub(index: number) {
    const last = run.frames.length - 1
    this.position = Math.max(0, Math.min(index, last))
    this.follow = run.running && this.position >= last
  }

  play() {
    const count = run.frames.length
    if (count < 2) return
    if (this.shown >= count - 1) this.position = 0
    else this.position = this.shown
    this.follow = false
    this.playing = true
    const delay = Math.min(PLAY_MAX_DELAY_MS, Math.max(PLAY_MIN_DELAY_MS, PLAY_TOTAL_MS / count))
    this.#timer = setInterval(() => {
      if (this.position >= run.frames.length - 1) this.pause()
      else this.position++
    }, delay)
  }

  pause() {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.playing = false
  }
}

export const timeline = new Timeline()
