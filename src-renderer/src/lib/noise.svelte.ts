/**
 * Forward noising preview: an image (PNG or JPEG) as the loaded model sees it, noised to t under the
 * four schedules with one shared noise (noise.preview), and a slider over t. "Denoise from here" samples
 * from that image at that t (lib/actions denoiseFrom).
 */
import type { ModelCard, NoisePreview } from '../../../src-preload/contract'
import { api } from './api'
import { imageTooLarge } from './drop'
import { toasts } from './toasts.svelte'

/** Timesteps previewed: every NOISE_STEP (more apart for long schedules: the engine takes 256 at most)... */
export const NOISE_STEP = 10
const MAX_TIMESTEPS = 256

/** 0, 10, 20, ... and T - 1. */
export function previewTimesteps(trainSteps: number): number[] {
  const every = Math.max(NOISE_STEP, Math.ceil(trainSteps / (MAX_TIMESTEPS - 1)))
  const ts: number[] = []
  for (let t = 0; t < trainSteps - 1; t += every) ts.push(t)
  ts.push(trainSteps - 1)
  return ts
}

export const isImageFile = (f: File) => /^image\/(png|jpeg)$/.test(f.type) || /\.(png|jpe?g)$/i.test(f.name)

class Noise {
  preview = $state.raw<NoisePreview | null>(null)
  fileName = $state<string | null>(null)
  /** Index into the previewed timesteps. */
  index = $state(0)
  loading = $state(false)

  timesteps = $derived(this.preview?.rows[0]?.frames.map((f) => f.timestep) ?? [])
  timestep = $derived(this.timesteps[Math.min(this.index, this.timesteps.length - 1)] ?? null)
  shape = $derived(
    this.preview
      ? { batch: 1, channels: this.preview.channels, height: this.preview.height, width: this.preview.width }
      : null,
  )

  /** A model that sees images at another size: the preview no longer applies to it. */
  adoptCard(card: ModelCard) {
    const p = this.preview
    if (p && (p.channels !== card.channels || p.height !== card.height || p.width !== card.width)) {
      this.preview = null
      this.fileName = null
    }
  }

  async load(file: File, card: ModelCard, seed: number) {
    if (!isImageFile(file)) {
      toasts.error(`${file.name}: not a PNG or JPEG image`)
      return
    }
    const tooLarge = imageTooLarge(file)
    if (tooLarge) return toasts.error(tooLarge)
    this.loading = true
    try {
      const bytes = await file.arrayBuffer()
      const timesteps = previewTimesteps(card.training.schedule.trainSteps)
      const r = await api.invoke('noise.preview', { image: { name: file.name, bytes }, timesteps, seed })
      if (!r.ok) {
        toasts.error(r.error)
        return
      }
      const keepT = this.timestep
      this.preview = r.value
      this.fileName = file.name
      // Keep the slider where it was for a new image; start halfway for the first.
      const again = keepT === null ? -1 : timesteps.indexOf(keepT)
      this.index = again >= 0 ? again : Math.floor(timesteps.length / 2)
    } finally {
      this.loading = false
    }
  }
}

export const noise = new Noise()
