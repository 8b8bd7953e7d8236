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
}

/** The readable one-line `parameters` text chunk. */
export function summarize(p: GenerationParameters): string {
  const parts = [
    `model: ${p.model}`, `sampler: ${p.sampler.sampler}`, `steps: ${p.sampler.steps}`,
    `schedule: ${p.schedule.schedule} (T=${p.schedule.trainSteps})`, `spacing: ${p.sampler.timestepSpacing}`,
    `prediction: ${p.sampler.predictionType}`,
  ]
  if (p.sampler.sampler === 'ddim') parts.push(`eta: ${p.sampler.eta}`)
  parts.push(`seed: ${p.seed}`, `size: ${p.width}x${p.height}`)
  if (p.classLabel !== undefined) parts.push(`class: ${p.classLabel}`)
  if (p.guidance !== undefined) parts.push(`guidance: ${p.guidance}`)
  return parts.join(', ')
}
