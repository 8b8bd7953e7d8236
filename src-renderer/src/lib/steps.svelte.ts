/**
 * The images of a run's steps, as the page holds them: the engine sends the newest step's images at most
 * once a LIVE_UPDATE_MS and every step's record; any other step's images are fetched when a view
 * shows them (runs.steps), a few at a time, and kept here up to a byte budget, the least recently used
 * going first. `get` answers at once: the images, or null while they are on their way (a view reading it
 * in a $derived is redrawn when they come). A view of one image (the film strip's thumbnails) asks for that
 * image alone: a batch-th of the bytes, kept apart from the whole batch's.
 */
import type { StepPixels } from '../../../src-preload/contract'
import { MAX_STEPS_A_REQUEST } from '../../../src-shared/limits'
import { noiseFromX0 } from '../../../src-shared/noise'
import { api } from './api'
import { toasts } from './toasts.svelte'

/** One step's images, float32 [batch, channels, height, width] (one image: [1, channels, height, width]). */
export interface Pixels {
  sample: Float32Array
  predictedX0: Float32Array
  predictedNoise: Float32Array
}

/** The page keeps at most this many bytes of step images it fetched or was sent. */
export const STEP_CACHE_BYTES = 256 * 1024 * 1024

/** A step's images as they came (x_t and x0), and its predicted noise, which follows from them. */
export function pixelsOf(p: StepPixels, alphaBar: number): Pixels {
  const sample = new Float32Array(p.sample)
  const predictedX0 = new Float32Array(p.predictedX0)
  return { sample, predictedX0, predictedNoise: noiseFromX0(sample, predictedX0, alphaBar) }
}

/** A step's whole batch, or one image of it. */
const keyOf = (runId: string, index: number, image?: number) =>
  image === undefined ? `${runId}/${index}` : `${runId}/${index}/${image}`
const bytesOf = (p: Pixels) => p.sample.byteLength + p.predictedX0.byteLength + p.predictedNoise.byteLength

class Steps {
  /** Changes whenever images arrive: views that read `get` follow it. */
  version = $state(0)
  /**
   * A run is drawn live (run.svelte.ts, at most once a LIVE_UPDATE_MS): images fetched meanwhile (the film
   * strip's thumbnails of the steps just made) wait for its next drawing instead of drawing the page between.
   */
  live = false
  /** Images arrived while live that no view has been told of. */
  #unshown = false
  #cache = new Map<string, Pixels>()
  #bytes = 0
  /** Steps asked for and not yet requested, by run and image (a request asks for the batch or one image). */
  #wanted = new Map<string, { runId: string; image?: number; indices: Set<number> }>()
  /** Requested, or refused (a dropped timeline): not asked for again. */
  #asked = new Set<string>()
  #flushQueued = false

  /**
   * A step's images, or null while they are fetched (asked for here unless `fetch` is false); with `image`,
   * that image of the batch alone.
   */
  get(runId: string, index: number, fetch = true, image?: number): Pixels | null {
    void this.version
    const key = keyOf(runId, index, image)
    const hit = this.#cache.get(key)
    if (hit) {
      // Most recently used last.
      this.#cache.delete(key)
      this.#cache.set(key, hit)
      return hit
    }
    if (fetch) this.want(runId, [index], image)
    return null
  }

  /** Keep a step's images that came with its event (`notify`: views redraw now rather than at the next one). */
  put(runId: string, index: number, pixels: Pixels, notify = true, image?: number) {
    const key = keyOf(runId, index, image)
    const old = this.#cache.get(key)
    if (old) this.#bytes -= bytesOf(old)
    this.#cache.delete(key)
    this.#cache.set(key, pixels)
    this.#bytes += bytesOf(pixels)
    for (const [k, p] of this.#cache) {
      if (this.#bytes <= STEP_CACHE_BYTES || k === key) break
      this.#cache.delete(k)
      this.#bytes -= bytesOf(p)
    }
    if (notify) this.version++
  }

  /** Tell the views of the images that arrived quietly (and, with `changed`, of any put quietly). */
  show(changed = false) {
    if (!changed && !this.#unshown) return
    this.#unshown = false
    this.version++
  }

  /** Fetch these steps soon (those not held or asked for already), e.g. what playback is about to show. */
  want(runId: string, indices: number[], image?: number) {
    const group = `${runId}/${image ?? 'all'}`
    let wanted = this.#wanted.get(group)
    for (const i of indices) {
      const key = keyOf(runId, i, image)
      if (this.#cache.has(key) || this.#asked.has(key)) continue
      // Bookkeeping of requests to make, which no view reads (a plain Set).
      if (!wanted) this.#wanted.set(group, (wanted = { runId, image, indices: new Set() }))
      wanted.indices.add(i)
    }
    if (wanted?.indices.size && !this.#flushQueued) {
      this.#flushQueued = true
      // Outside the $derived that asked (state changes there are not allowed), with whatever else it asks.
      queueMicrotask(() => this.#request())
    }
  }

  /** A deleted run's images. */
  forget(runId: string) {
    const prefix = `${runId}/`
    for (const [k, p] of this.#cache)
      if (k.startsWith(prefix)) {
        this.#cache.delete(k)
        this.#bytes -= bytesOf(p)
      }
    for (const [group, w] of this.#wanted) if (w.runId === runId) this.#wanted.delete(group)
  }

  async #request() {
    this.#flushQueued = false
    const wanted = [...this.#wanted.values()]
    this.#wanted.clear()
    const requests = wanted.flatMap(({ runId, image, indices }) => {
      const all = [...indices]
      all.forEach((i) => this.#asked.add(keyOf(runId, i, image)))
      return Array.from({ length: Math.ceil(all.length / MAX_STEPS_A_REQUEST) }, (_, k) => ({
        runId,
        steps: all.slice(k * MAX_STEPS_A_REQUEST, (k + 1) * MAX_STEPS_A_REQUEST),
        ...(image === undefined ? {} : { image }),
      }))
    })
    await Promise.all(
      requests.map(async (req) => {
        const r = await api.invoke('runs.steps', req)
        if (!r.ok) {
          // Asked once: a timeline that is gone stays gone, and the toast says so once.
          toasts.error(r.error)
          return
        }
        for (const s of r.value.steps) {
          this.put(req.runId, s.index, pixelsOf(s, s.alphaBar), false, req.image)
          this.#asked.delete(keyOf(req.runId, s.index, req.image))
        }
        if (this.live) this.#unshown = true
        else this.version++
      }),
    )
  }
}

export const steps = new Steps()
