/**
 * A run's timeline as it is kept for reopening, exporting and forking: x_t entering each step (variance-
 * preserving) and that step's predicted x0, each step's timestep and alpha_bar, what a fork needs to go on
 * from each step, and the final samples. The predicted noise is not stored: it follows from x_t and x0
 * (src-shared/noise.ts).
 */
import type { GenerationParameters, Shape } from '../../src-shared/parameters'
import { EngineError } from './errors'
import type { RunPlan } from './plan'
import type { ForkPoint, RunStart, StepFrame } from './run'

export interface Timeline {
  parameters: GenerationParameters
  shape: Shape
  /** Every step's timestep and its alpha_bar (a fork's first ones are its parent's, on the parent's schedule). */
  timesteps: number[]
  alphaBars: number[]
  /** x_t entering each step and the predicted x0 of each step; a fork's begin with its parent's (shared). */
  frames: { sample: Float32Array; predictedX0: Float32Array }[]
  /** How a fork goes on from each step (its noise draws so far, the sampler's state); shared like the frames. */
  forkPoints: ForkPoint[]
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
    forkPoints: parent ? parent.forkPoints.slice(0, inherited) : [],
    bytes: 0,
  }
}

/** Keep one step (copies: the loop's arrays are its own; a state's arrays are never changed again). */
export function recordStep(timeline: Timeline, f: StepFrame): void {
  timeline.frames.push({ sample: f.sample.slice(), predictedX0: f.predictedX0.slice() })
  timeline.alphaBars.push(f.alphaBar)
  const previous = timeline.forkPoints.at(-1)?.state
  timeline.forkPoints.push(f.fork)
  timeline.bytes +=
    8 * f.sample.length +
    newStateBytes(f.fork.state, previous) +
    (f.fork.selfCondition?.byteLength ?? 0) +
    (f.fork.apgMomentum?.byteLength ?? 0)
}

/** Bytes of the Float32Arrays in a state that the previous step's state did not hold already. */
function newStateBytes(state: object | undefined, previous: object | undefined): number {
  const arrays = (o: unknown, out: Set<Float32Array>): Set<Float32Array> => {
    if (o instanceof Float32Array) out.add(o)
    else if (o && typeof o === 'object') for (const v of Object.values(o)) arrays(v, out)
    return out
  }
  const before = arrays(previous, new Set())
  return [...arrays(state, new Set())].reduce((n, a) => n + (before.has(a) ? 0 : a.byteLength), 0)
}

/** Where a fork of this run from step `step` starts: that step's x_t, its parent's noise and sampler state. */
export function forkStart(timeline: Timeline, step: number): RunStart {
  if (!Number.isInteger(step) || step < 0 || step >= timeline.frames.length) {
    throw new EngineError(
      'bad-argument',
      `fork: step ${step} is outside the ${timeline.frames.length} steps that run has`,
    )
  }
  return { ...timeline.forkPoints[step], sample: timeline.frames[step].sample }
}

export function finishTimeline(timeline: Timeline, samples: Float32Array): void {
  timeline.samples = samples.slice()
  timeline.bytes += 4 * samples.length
}
