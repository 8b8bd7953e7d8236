/**
 * The sampler options of the table (APP_OPTIONS) as the sidebar's controls hold them: the values a user set,
 * what each control shows for the sampler picked, and the settings a request sends.
 */
import {
  APP_OPTIONS,
  optionDefault,
  optionProblem,
  SAMPLER_OPTIONS,
  type SamplerName,
  type SamplerOptionName,
  type SamplerOptionValues,
  samplerReads,
} from '../../../src-shared/names'
import type { SamplerConfig, SamplerSettings } from '../../../src-shared/parameters'

/** The sampler options the table's controls set (APP_OPTIONS): only those a user changed. */
export type AppOptions = Partial<Pick<SamplerOptionValues, (typeof APP_OPTIONS)[number]>>

/**
 * A value this sampler takes for the option. The options stay set across a change of sampler, and a value
 * of another's (DPM-Solver's midpoint solver type for UniPC, order 3 for DPM++ 2M) gives way to its default.
 */
const takes = (sampler: SamplerName, option: SamplerOptionName, value: unknown) =>
  samplerReads(sampler, option) && optionProblem(sampler, option, value) === undefined

/** What a control shows for an option: the value set, else diffusers' default for this sampler. */
export function optionValue(options: AppOptions, sampler: SamplerName, option: SamplerOptionName) {
  const set = (options as Partial<SamplerOptionValues>)[option]
  return set !== undefined && takes(sampler, option, set) ? set : optionDefault(sampler, option)
}

/** The table's options a settings object holds (a PNG's, last session's), for the controls. */
export const appOptionsOf = (s: SamplerSettings): AppOptions =>
  Object.fromEntries(APP_OPTIONS.filter((o) => s[o] !== undefined).map((o) => [o, s[o]]))

/**
 * The table's options a model's default run sets away from its sampler's diffusers defaults (DPM++ 2M
 * Karras: the sigmas), for the controls: the others follow the sampler a user picks.
 */
export const ownOptionsOf = (d: SamplerConfig): AppOptions => {
  const own = APP_OPTIONS.filter((o) => samplerReads(d.sampler, o) && d[o] !== optionDefault(d.sampler, o))
  return Object.fromEntries(own.map((o) => [o, d[o]]))
}

/** Sampler settings without the options this sampler ignores or cannot take, so a request says only what it means. */
export function settingsFor(s: SamplerSettings & { sampler: SamplerName }): SamplerSettings {
  return Object.fromEntries(
    Object.entries(s).filter(
      ([option, value]) =>
        !Object.hasOwn(SAMPLER_OPTIONS, option) || takes(s.sampler, option as SamplerOptionName, value),
    ),
  ) as SamplerSettings
}
