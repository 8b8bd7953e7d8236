/**
 * A pixel followed over a run's steps: look closer pins the pixel clicked, the engine reads it at every step
 * on hand (runs.pixel), and a plot shows its x_t, predicted x0 and the predicted noise they imply, with the
 * step shown marked. An image with more than one channel shows their mean, or the one channel chosen. A run
 * still sampling is read again as its steps come, one read at a time, for the steps that are new.
 */
import type { PixelSeries } from '../../../src-preload/contract'
import { noiseFromX0 } from '../../../src-shared/noise'
import { api } from './api'
import { toasts } from './toasts.svelte'

/** Which of the pixel's values the plot shows: the channels' mean, or channel k (0-based). */
export type PixelChannel = 'mean' | number

export interface PixelTrajectory {
  /** Per step, the channel chosen (or the mean over the channels). */
  sample: number[]
  predictedX0: number[]
  /** The predicted noise of each step, from its x_t, predicted x0 and alpha_bar (as the stage derives it). */
  predictedNoise: number[]
  steps: number
  channels: number
}

/**
 * The engine's step-major [steps, channels] series as one value a step: channel `channel`, or the channels'
 * mean (also for a channel the image does not have).
 */
export function trajectoryOf(series: PixelSeries, channel: PixelChannel = 'mean'): PixelTrajectory {
  const c = series.channels
  const steps = series.alphaBars.length
  const one = channel !== 'mean' && channel < c
  const values = (v: number[]) =>
    Array.from({ length: steps }, (_, i) => {
      if (one) return v[i * c + channel]
      let sum = 0
      for (let k = 0; k < c; k++) sum += v[i * c + k]
      return sum / c
    })
  const sample = values(series.sample)
  const predictedX0 = values(series.predictedX0)
  const predictedNoise = series.alphaBars.map(
    (alphaBar, i) => noiseFromX0(Float32Array.of(sample[i]), Float32Array.of(predictedX0[i]), alphaBar)[0],
  )
  return { sample, predictedX0, predictedNoise, steps, channels: c }
}

/**
 * The trajectory as tab-separated text with a header, a line a step (what a spreadsheet pastes): step
 * (from 1), timestep, alpha_bar, then x_t, the predicted x0 and the predicted noise as the plot shows them.
 */
export function trajectoryText(t: PixelTrajectory, timesteps: number[], alphaBars: number[]): string {
  const lines = ['step\tt\talpha_bar\tx_t\tpred_x0\tpred_eps']
  for (let i = 0; i < t.steps; i++)
    lines.push([i + 1, timesteps[i] ?? '', alphaBars[i], t.sample[i], t.predictedX0[i], t.predictedNoise[i]].join('\t'))
  return lines.join('\n') + '\n'
}

/** A series and the steps read after it. */
function appended(series: PixelSeries, more: PixelSeries): PixelSeries {
  return {
    channels: series.channels,
    sample: [...series.sample, ...more.sample],
    predictedX0: [...series.predictedX0, ...more.predictedX0],
    alphaBars: [...series.alphaBars, ...more.alphaBars],
  }
}

/** A channel's name in the plot: R, G and B for an image of three, else its number from 1. */
export function channelName(channel: PixelChannel, channels: number): string {
  if (channel === 'mean') return `mean of ${channels} channels`
  return channels === 3 ? 'RGB'[channel] : `channel ${channel + 1}`
}

export interface PinnedPixel {
  runId: string
  image: number
  x: number
  y: number
}

class PixelProbe {
  pinned = $state<PinnedPixel | null>(null)
  /** The engine's answer for the pinned pixel: every step the run had when it was read. */
  series = $state.raw<PixelSeries | null>(null)
  channel = $state<PixelChannel>('mean')
  trajectory = $derived(this.series ? trajectoryOf(this.series, this.channel) : null)
  /** Bumped by each pin and clear: an answer to an earlier one is dropped. */
  #asked = 0
  /** The pin whose read is in flight (0: none), and whether steps came meanwhile. */
  #reading = 0
  #stale = false

  /** Follow pixel (x, y) of `image`: its values at every step the run has so far. */
  async pin(p: PinnedPixel): Promise<void> {
    this.pinned = p
    this.series = null
    await this.#read(++this.#asked)
  }

  /** Read the pinned pixel again (its run has more steps): after the read in flight, if there is one. */
  async refresh(): Promise<void> {
    if (!this.pinned) return
    if (this.#reading === this.#asked) this.#stale = true
    else await this.#read(this.#asked)
  }

  async #read(asked: number): Promise<void> {
    this.#reading = asked
    try {
      do {
        this.#stale = false
        const p = this.pinned
        if (!p) return
        // Read again: the steps the series has not yet, appended to it.
        const have = this.series
        const from = have?.alphaBars.length ?? 0
        const r = await api.invoke('runs.pixel', from ? { ...p, from } : p)
        // Another pixel pinned meanwhile (or none): its answer is the one wanted.
        if (asked !== this.#asked) return
        if (!r.ok) {
          this.pinned = null
          this.series = null
          toasts.error(r.error)
          return
        }
        this.series = have ? appended(have, r.value) : r.value
      } while (this.#stale)
    } finally {
      if (this.#reading === asked) this.#reading = 0
    }
  }

  /** The pinned pixel, where it is one of this run's image: else none (another run or image is shown). */
  of(runId: string | null, image: number): PinnedPixel | null {
    const p = this.pinned
    return p && p.runId === runId && p.image === image ? p : null
  }

  /** The plotted values onto the clipboard as text (trajectoryText), with the run's timesteps. */
  async copy(timesteps: number[]): Promise<void> {
    const t = this.trajectory
    const p = this.pinned
    if (!t || !p || !this.series) return
    try {
      await navigator.clipboard.writeText(trajectoryText(t, timesteps, this.series.alphaBars))
      toasts.info(`Copied pixel (${p.x}, ${p.y}) at ${t.steps} steps to the clipboard`)
    } catch (e) {
      toasts.error(`Copy failed: ${(e as Error).message}`)
    }
  }

  clear(): void {
    this.#asked++
    this.pinned = null
    this.series = null
  }
}

export const probe = new PixelProbe()
