/**
 * DPM-Solver++ 2M SDE: diffusers' DPMSolverMultistepScheduler with algorithm_type "sde-dpmsolver++"
 * (DPM-Solver++ paper, section 4.3 and its SDE-DPM-Solver++(2M), Lu et al. 2022): the same multistep
 * data-prediction updates as dpmpp-2m with e^-h on x_s, 2h for h in the other coefficients, and fresh
 * noise sigma_t sqrt(1 - e^-2h) z every step. The noise is each image's own generator's (seed + k), drawn
 * in step order, so a fork that skips the parent's draws continues the parent's noise.
 */
import { configOf, type SamplerConfig } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { dpmSolverMultistep } from './dpmpp-2m'
import type { Sampler, SamplerStart } from './sampler'

export const dpmpp2mSde = (settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler =>
  dpmSolverMultistep(configOf('dpmpp-2m-sde', settings), schedule, start, true)
