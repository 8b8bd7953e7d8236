/**
 * A pixel followed over a run's steps: look closer pins the pixel clicked, the engine reads it at every step
 * on hand (runs.pixel), and a plot shows its x_t and predicted x0 with the step shown marked. The values of
 * an image with more than one channel are their mean (the plot says so).
 */
import type { PixelSeries } from '../../../src-preload/contract'
import { api } from './api'
import { toasts } from './toasts.svelte'

export interface PixelTrajectory {
  /** Per step, the mean over the channels. */
  sample: number[]
  predictedX0: number[]
  steps: number
  channels: number
}

/** The engine's step-major [steps, channels] series as one value a step each (the channels' mean). */
export function trajectoryOf(series: PixelSeries): PixelTrajectory {
  const c = series.channels
  const steps = series.alphaBars.length
  const mean = (v: number[]) =>
    Array.from({ length: steps }, (_, i) => {
      let sum = 0
      for (let k = 0; k < c; k++) sum += v[i * c + k]
      return sum / c
    })
  return { sample: mean(series.sample), predictedX0: mean(series.predictedX0), steps, channels: c }
}

export interface PinnedPixel {
  runId: string
  image: number
  x: number
  y: number
}

class PixelProbe {
  pinned = $state<PinnedPixel | null>(null)
  trajectory = $state<PixelTrajectory | null>(null)
  /** Bumped by each pin and clear: an answer to an earlier one is dropped. */
  #asked = 0

  /** Follow pixel (x, y) of `image`: its values at every step the run has so far. */
  async pin(p: PinnedPixel): Promise<void> {
    const asked = ++this.#asked
    this.pinned = p
    this.trajectory = null
    const r = await api.invoke('runs.pixel', p)
    // Another pixel pinned meanwhile (or none): its answer is the one wanted.
    if (asked !== this.#asked) return
    if (r.ok) this.trajectory = trajectoryOf(r.value)
    else {
      this.pinned = null
      toasts.error(r.error)
    }
  }

  /** The pinned pixel, where it is one of this run's image: else none (another run or image is shown). */
  of(runId: string | null, image: number): PinnedPixel | null {
    const p = this.pinned
    return p && p.runId === runId && p.image === image ? p : null
  }

  clear(): void {
    this.#asked++
    this.pinned = null
    this.trajectory = null
  }
}

export const probe = new PixelProbe()
