/**
 * The history folder's files (their layout: run-store.ts): the index of every run, read with what a crash
 * or a damaged file left repaired, and written whole or not at all; a timeline's .steps file, its steps
 * appended, read whole or a few at a time;
 * the thumbnail of a run's first image.
 */
import { mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'

import type { RunGroup, RunStatus, Shape, StepStats } from '../../src-preload/contract'
import { THUMBNAIL_SIDE } from '../../src-shared/limits'
import type { GenerationParameters } from '../../src-shared/parameters'
import { writeFileAtomic } from '../engine/files'
import type { ForkPoint } from '../engine/run'
import { imageSize } from '../engine/tensor'

/** A run as the index keeps it. */
export interface StoredRun {
  runId: string
  /** Its number in the history (#n), given once and never again, kept across sessions (absent before them). */
  number?: number
  /** When it started, ms since 1970. */
  createdAt: number
  parameters: GenerationParameters
  shape: Shape
  modelKey: string
  status: RunStatus
  /** Steps it has. */
  steps: number
  /** Bytes of the frames it computed itself (a fork shares its parent's first ones). */
  bytes: number
  /** Its .steps file is kept: false once dropped for the disk budget (or never written: no steps). */
  timeline: boolean
  /** The .steps file's bytes. */
  timelineBytes: number
  /** A fork's parent run and step. */
  parent?: { runId: string; step: number }
  group?: RunGroup
}

/** A run's .json file. */
export interface StepsFile {
  timesteps: number[]
  alphaBars: number[]
  stats: StepStats[][]
  /** How a fork goes on from each step; null when arrays were part of it (not stored: `storableForkPoints`). */
  forkPoints: ForkPoint[] | null
}

/**
 * A run's fork points as its .json file keeps them: all, where they are plain numbers; none (null) where any
 * holds arrays (a multistep sampler's history, a self-conditioned model's x0, APG momentum's running sum),
 * which JSON would turn into objects: the fork of such a run is refused after a restart, with a reason.
 */
export const storableForkPoints = (points: ForkPoint[]): ForkPoint[] | null =>
  points.every((f) => f.state === undefined && f.selfCondition === undefined && f.apgMomentum === undefined)
    ? points
    : null

export interface IndexFile {
  version: 1
  diskBudgetBytes: number
  /** The number the next run gets (absent in indexes written before runs had numbers). */
  nextNumber?: number
  runs: StoredRun[]
}

const indexPath = (dir: string) => join(dir, 'index.json')

/**
 * The index in `dir`, or undefined when there is none yet. A damaged one is moved aside (said through
 * `log`) and the history starts empty; a run that was recording when a session ended abruptly is failed
 * and its incomplete steps removed.
 */
export function readIndex(dir: string, now: number, log: (line: string) => void): IndexFile | undefined {
  mkdirSync(dir, { recursive: true })
  const path = indexPath(dir)
  let index: IndexFile
  try {
    index = JSON.parse(readFileSync(path, 'utf8')) as IndexFile
    if (index?.version !== 1 || !Array.isArray(index.runs)) throw new Error('not a Stepwise history index')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    const aside = join(dir, `index.corrupt-${now}.json`)
    renameSync(path, aside)
    log(`Stepwise: the history index ${path} could not be read (${(e as Error).message}); it was moved to ${aside}`)
    return undefined
  }
  for (const stored of index.runs) {
    if (stored.status === 'running') {
      stored.status = 'failed'
      stored.timeline = false
      rmSync(join(dir, `${stored.runId}.steps`), { force: true })
    }
  }
  return index
}

/** Replace the index whole (atomically). */
export const writeIndex = (dir: string, index: IndexFile): Promise<void> =>
  writeFileAtomic(indexPath(dir), JSON.stringify(index), { overwrite: true })

/** A file's bytes as float32 values (a view, no copy). */
export const floatsOf = (b: Buffer) => new Float32Array(b.buffer, b.byteOffset, Math.floor(b.byteLength / 4))

/** One step's x_t and predicted x0 (of the whole batch, or of the floats read). */
export interface StepFrames {
  sample: Float32Array
  predictedX0: Float32Array
}

/** Values as bytes (a view, no copy). */
export const bytesOf = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength)

/** Bytes of one step in a .steps file: x_t of the batch, then its predicted x0 (float32). */
const stepBytes = (shape: Shape) => 8 * shape.batch * imageSize(shape)

/** The bytes that steps add to a .steps file, appended in order. */
export const stepsBytes = (frames: StepFrames[]): Buffer =>
  Buffer.concat(frames.flatMap((f) => [f.sample, f.predictedX0]).map(bytesOf))

/**
 * Some steps of a .steps file, read alone: of each, the `length` floats from `first` on within its x_t
 * and within its predicted x0 (one image of the batch, or all of it).
 */
export async function readStepsAt(
  path: string,
  shape: Shape,
  indices: number[],
  first: number,
  length: number,
): Promise<Map<number, StepFrames>> {
  const read = new Map<number, StepFrames>()
  if (indices.length === 0) return read
  const size = stepBytes(shape)
  const handle = await open(path, 'r')
  try {
    const part = async (at: number) => {
      const buffer = Buffer.alloc(4 * length)
      await handle.read(buffer, 0, 4 * length, at + 4 * first)
      return floatsOf(buffer)
    }
    for (const i of indices) read.set(i, { sample: await part(i * size), predictedX0: await part(i * size + size / 2) })
  } finally {
    await handle.close()
  }
  return read
}

/** `count` steps of x_t then predicted x0, as views into `bytes`. */
export function splitSteps(bytes: Buffer, shape: Shape, count: number): StepFrames[] {
  const all = floatsOf(bytes)
  const n = shape.batch * imageSize(shape)
  return Array.from({ length: count }, (_, i) => ({
    sample: all.subarray(2 * i * n, (2 * i + 1) * n),
    predictedX0: all.subarray((2 * i + 1) * n, (2 * i + 2) * n),
  }))
}

/** The first image of a batch, every k-th pixel so that no side passes THUMBNAIL_SIDE. */
export function shrink(samples: Float32Array, shape: Shape): { values: Float32Array; shape: Shape } {
  const stride = Math.max(1, Math.ceil(Math.max(shape.height, shape.width) / THUMBNAIL_SIDE))
  const height = Math.ceil(shape.height / stride)
  const width = Math.ceil(shape.width / stride)
  const values = new Float32Array(shape.channels * height * width)
  for (let c = 0; c < shape.channels; c++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        values[(c * height + y) * width + x] = samples[(c * shape.height + y * stride) * shape.width + x * stride]
  return { values, shape: { batch: 1, channels: shape.channels, height, width } }
}
