/** The parameters of one generation: embedded in every exported PNG, restorable from it. */
import type { SamplerConfig } from './samplers/config'
import type { ScheduleConfig } from './schedule'

export interface GenerationParameters {
  model: string
  sampler: SamplerConfig
  schedule: ScheduleConfig
  seed: number
  height: number
  width: number
  classLabel?: number
  guidance?: number
  /** A fork: the run it continues, from that run's step `step` (its seed, noise and first steps). */
  forkedFrom?: { step: number; parameters: GenerationParameters }
  /** Denoised from an image noised to this timestep (SDEdit), not from pure noise. */
  fromImageAt?: number
}

/** The readable one-line `parameters` text chunk. */
export function summarize(p: GenerationParameters): string {
  const parts = [
    `model: ${p.model}`,
    `sampler: ${p.sampler.sampler}`,
    `steps: ${p.sampler.steps}`,
    `schedule: ${p.schedule.schedule} (T=${p.schedule.trainSteps})`,
    `spacing: ${p.sampler.timestepSpacing}`,
    `prediction: ${p.sampler.predictionType}`,
  ]
  if (p.sampler.sampler === 'ddim') parts.push(`eta: ${p.sampler.eta}`)
  parts.push(`seed: ${p.seed}`, `size: ${p.width}x${p.height}`)
  if (p.classLabel !== undefined) parts.push(`class: ${p.classLabel}`)
  if (p.guidance !== undefined) parts.push(`guidance: ${p.guidance}`)
  if (p.forkedFrom)
    parts.push(
      `forked at step ${p.forkedFrom.step} from: ${p.forkedFrom.parameters.sampler.sampler} ${p.forkedFrom.parameters.sampler.steps} steps`,
    )
  if (p.fromImageAt !== undefined) parts.push(`from an image at t=${p.fromImageAt}`)
  return parts.join(', ')
}
