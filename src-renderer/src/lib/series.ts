/**
 * The diagnostics of one image over a run's steps, kept as series that grow: each display frame appends
 * the steps that came (a run of a thousand steps costs a thousand appends, not a thousand rebuilds), and
 * each series keeps its smallest and largest finite value as it goes. Rebuilt only when the run or the
 * image changes.
 */
import type { JudgedStep, StepStats } from '../../../src-shared/diagnostics'
import type { Frame } from './run.svelte'

export const SERIES = [
  'clippedFraction',
  'farOutFraction',
  'noiseRms',
  'sampleMean',
  'sampleStd',
  'x0Mean',
  'x0Std',
] as const
export type SeriesName = (typeof SERIES)[number]

export class StepSeries {
  readonly values = {} as Record<SeriesName, number[]>
  readonly lo = {} as Record<SeriesName, number>
  readonly hi = {} as Record<SeriesName, number>
  /** Each step as the warning rule reads it. */
  judged: JudgedStep[] = []
  /** The stats of each step (undefined where a step has none for this image). */
  at: (StepStats | undefined)[] = []
  /** Rebuilt on the last sync (the run or the image changed): views redraw whole rather than append. */
  rebuilt = true
  #first: Frame | undefined
  #image = -1

  constructor() {
    this.#reset()
  }

  /** Bring the series up to `frames` for image `image`; answers how many steps they hold. */
  sync(frames: Frame[], image: number): number {
    const same = frames.length >= this.at.length && frames[0] === this.#first && image === this.#image
    this.rebuilt = !same
    if (!same) {
      this.#reset()
      this.#first = frames[0]
      this.#image = image
    }
    for (let i = this.at.length; i < frames.length; i++) {
      const s = frames[i].stats[image]
      this.at.push(s)
      if (!s) continue
      this.judged.push({ alphaBar: frames[i].alphaBar, stats: s })
      for (const name of SERIES) {
        const v = s[name]
        this.values[name].push(v)
        if (Number.isFinite(v)) {
          if (v < this.lo[name]) this.lo[name] = v
          if (v > this.hi[name]) this.hi[name] = v
        }
      }
    }
    return this.at.length
  }

  /** The smallest and largest finite values of these series, widened to hold `include`. */
  extent(names: SeriesName[], include: number[] = []): [number, number] {
    let lo = Math.min(...include, ...names.map((n) => this.lo[n]))
    let hi = Math.max(...include, ...names.map((n) => this.hi[n]))
    if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1]
    if (lo === hi) [lo, hi] = [lo - 1, hi + 1]
    return [lo, hi]
  }

  #reset() {
    for (const name of SERIES) {
      this.values[name] = []
      this.lo[name] = Infinity
      this.hi[name] = -Infinity
    }
    this.judged = []
    this.at = []
    this.#first = undefined
  }
}

/**
 * A plot range that changes seldom as values arrive: [lo, hi] widened outwards to the next multiple of a
 * round step (a fifth of the span's power of ten), so a series that creeps past its extreme only redraws
 * when it passes a round value.
 */
export function roundRange([lo, hi]: [number, number]): [number, number] {
  const span = hi - lo
  if (!(span > 0) || !Number.isFinite(span)) return [lo, hi]
  const step = 10 ** Math.floor(Math.log10(span)) / 5
  return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step]
}
