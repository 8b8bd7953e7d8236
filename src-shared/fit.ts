/**
 * Timesteps fitted to a model (src-main/engine/fit-timesteps.ts): what a fit reports as it goes and what it
 * ends with, as the CLI prints them and the app's contract carries them.
 */
import type { SamplerConfig } from './parameters'

/** What the search reports: evaluations so far and the best distance yet, with its timesteps. */
export interface FitProgress {
  evaluations: number
  distance: number
  timesteps: number[]
}

/**
 * What a fit reports: the reference run's model calls, then the start's distance and each better schedule the
 * search finds.
 */
export type FitEvent = { phase: 'reference'; calls: number; totalCalls: number } | ({ phase: 'search' } & FitProgress)

export interface FitResult {
  /** The sampler with the fitted timesteps, as a run takes it. */
  sampler: SamplerConfig
  /** The fitted timesteps (the sampler's `timesteps` option), and their distance on the probe. */
  timesteps: number[]
  distance: number
  /** Probe samples left out of the distance: the farthest, one in TRIM_ONE_IN. */
  leftOut: number
  /**
   * Where the search started: the timesteps given (a refit), else the sampler's own (from its spacing, or
   * its Karras & co. sigmas).
   */
  start: number[]
  /** Their distance, with the sigmas at them as the search's runs take them. */
  startDistance: number
  evaluations: number
  /** Model calls of the probe batch the fit made, the reference's included. */
  modelCalls: number
  /** Stopped before the search ended (the best timesteps found by then). */
  stopped: boolean
}

/** Probe samples a fit measures on unless asked otherwise: enough that one sample's stroke does not decide it. */
export const FIT_BATCH = 32
/** The most probe samples a fit in the app may ask for (the CLI's --batch has no such bound). */
export const MAX_FIT_BATCH = 256
