/**
 * DPM-Solver++ 3M: diffusers' DPMSolverMultistepScheduler with solver_order 3 (the DPM-Solver paper's
 * third-order multistep update in data-prediction form; dpmpp-2m.ts), which diffusers recommends for
 * unconditional sampling. Its first two steps warm up at orders 1 and 2, and under 15 steps its last two
 * are orders 1 and 2 again (lower_order_final).
 */
import { configOf, type SamplerConfig } from '../../../src-shared/parameters'
import type { Schedule } from '../schedule'
import { dpmSolverMultistep } from './dpmpp-2m'
import type { Sampler, SamplerStart } from './sampler'

export const dpmpp3m = (settings: SamplerConfig, schedule: Schedule, start: SamplerStart = {}): Sampler =>
  dpmSolverMultistep(configOf('dpmpp-3m', settings), schedule, start)
