/**
 * A run's timeline as it is kept for reopening, exporting and forking: x_t entering each step and that
 * step's predicted x0, each step's timestep and alpha_bar, and the final samples. The predicted noise is
 * not stored: it follows from x_t and x0 (noiseOf).
 */
import type { GenerationParameters, Shape } from '../../src-shared/parameters'
import type { RunPlan } from './plan'
import type { StepFrame } from './run'
import { predictionOf } from './samplers/common'

export interface Timeline {
  parameters: GenerationParameters
  shape: Shape
  /** Every step's timestep and its alpha_bar (a fork's first ones are its parent's, on the parent's schedule). */
  timesteps: number[]
  alphaBars: number[]
  /** x_t entering each step and the predicted x0 of each step; a fork's begin with its parent's (shared). */
  frames: { sample: Float32Array; predictedX0: Float32Array }[]
  /** The final samples, once the run has finished. */
  samples?: Float32Array
  /** Bytes of the frames this run computed itself (a fork shares its parent's first frames). */
  bytes: number
}

/** The timeline a planned run fills: empty, or a fork's parent's steps before the fork. */
export function startTimeline(plan: RunPlan, parent?: Timeline): Timeline {
  const inherited = parent ? plan.startStep : 0
  return {
    parameters: plan.parameters,
    shape: plan.shape,
    timesteps: plan.timesteps,
    alphaBars: parent ? parent.alphaBars.slice(0, inherited) : [],
    frames: parent ? parent.frames.slice(0, inherited) : [],
    bytes: 0,
  }
}

/** Keep one step (copies: the loop's arrays are its own). */
export function recordStep(timeline: Timeline, f: StepFrame): void {
  timeline.frames.push({ sample: f.sample.slice(), predictedX0: f.predictedX0.slice() })
  timeline.alphaBars.push(f.alphaBar)
  timeline.bytes += 8 * f.sample.length
}

export function finishTimeline(timeline: Timeline, samples: Float32Array): void {
  timeline.samples = samples.slice()
  timeline.bytes += 4 * samples.length
}

/** The noise the model predicted at a kept step: x_t = sqrt(ab) x0 + sqrt(1 - ab) eps, solved for eps. */
export const noiseOf = (frame: Timeline['frames'][number], alphaBar: number): Float32Array =>
  predictionOf('sample', frame.predictedX0, frame.sample, alphaBar).predictedNoise
