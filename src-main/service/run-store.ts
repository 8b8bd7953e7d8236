/**
 * The runs of a session, kept for the timeline, exports, forks and the history panel. Frames live in
 * memory up to a budget; past it, the oldest runs' frames (finished, running, cancelled or failed alike)
 * move step by step to a file in a temporary folder, later steps appending, and come back from it when
 * asked for. A run that could not fit in memory plus free disk is refused before it starts. Nothing is
 * dropped unless the user deletes it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { appendFile, readFile, statfs, unlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { RunSummary, Shape } from '../../src-preload/contract'
import { EngineError } from '../engine/errors'
import { imageSize } from '../engine/tensor'
import type { Timeline } from '../engine/timeline'

/** Frames kept in memory before the oldest runs' move to disk (x_t and predicted x0 a step, float32). */
export const FRAME_MEMORY_BUDGET_BYTES = 512 * 1024 * 1024

/** A run the engine holds: its timeline, and the model it was made with (forks must use the same). */
export interface HeldRun extends Timeline {
  modelKey: string
}

interface Entry {
  /**
   * The timeline the run records into. Once part of it is on disk, `frames` holds only the steps after
   * `spilledFrames` and `samples` is gone when `samplesSpilled`.
   */
  run: HeldRun
  /** The file holding the first `spilledFrames` steps (x_t then x0 each), then the samples once spilled. */
  file?: string
  spilledFrames: number
  samplesSpilled: boolean
  /** Steps the run will have when it finishes (for the room check); 0 once it has stopped. */
  expectedSteps: number
}

const MIB = 1024 * 1024
const mib = (bytes: number) => `${Math.ceil(bytes / MIB)} MiB`
const bytesOf = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength)

/** Bytes of a whole timeline: x_t and predicted x0 each step, then the samples (float32). */
export const timelineBytes = (shape: Shape, steps: number): number =>
  4 * shape.batch * imageSize(shape) * (2 * steps + 1)

export class RunStore {
  private readonly entries = new Map<string, Entry>()
  private dir: string | undefined
  /** Budget passes and deletions run one after another: each reads and writes entries across awaits. */
  private queue: Promise<void> = Promise.resolve()
  private passQueued: Promise<void> | undefined

  constructor(
    private readonly budgetBytes = FRAME_MEMORY_BUDGET_BYTES,
    /** Free bytes on the disk holding the spill folder (a parameter so tests can pretend a full disk). */
    private readonly freeDiskBytes: (dir: string) => Promise<number> = async (dir) => {
      const s = await statfs(dir)
      return s.bavail * s.bsize
    },
  ) {}

  /**
   * Refuse a run of `steps` steps of `shape` images when it cannot fit: whatever is in memory now either
   * stays within the budget or moves to disk, and so do the steps the running runs will still record.
   */
  async checkRoom(shape: Shape, steps: number, what: string): Promise<void> {
    const totalBytes = timelineBytes(shape, steps)
    const held = this.memoryBytes()
    const coming = [...this.entries.values()].reduce((sum, e) => sum + bytesToCome(e), 0)
    const free = await this.freeDiskBytes(this.dir ?? tmpdir())
    if (held + coming + totalBytes <= this.budgetBytes + free) return
    throw new EngineError(
      'bad-argument',
      `${what} would keep ${mib(totalBytes)} of frames; with ${mib(held + coming)} held or still coming from ` +
        `other runs, the ${mib(this.budgetBytes)} memory budget and the ${mib(free)} free on the disk of ` +
        `${this.dir ?? tmpdir()} cannot hold it. Delete runs, free disk space, or ask for fewer steps or images`,
    )
  }

  /** A new run, recording into `run`, that will have `steps` steps when it finishes. */
  add(runId: string, run: HeldRun, steps = run.frames.length): void {
    this.entries.set(runId, { run, spilledFrames: 0, samplesSpilled: false, expectedSteps: steps })
  }

  /** After a step is recorded: past the budget, start moving frames to disk (without waiting for it). */
  recorded(): void {
    if (this.memoryBytes() > this.budgetBytes) void this.keepWithinBudget()
  }

  /** The run has stopped (finished, cancelled or failed): it records nothing more. Then keep the budget. */
  ended(runId: string): Promise<void> {
    const e = this.entries.get(runId)
    if (e) e.expectedSteps = 0
    return this.keepWithinBudget()
  }

  /** The run with all its frames (read back from disk when spilled; the copy read is not kept in memory). */
  async get(runId: string): Promise<HeldRun | undefined> {
    const e = this.entries.get(runId)
    if (!e) return undefined
    // What is on disk and what is in memory, taken together now: a pass moving frames meanwhile appends
    // to the file and replaces `frames`, so this snapshot stays whole.
    const { file, spilledFrames, samplesSpilled, run } = e
    if (!file) return run
    const bytes = await readFile(file)
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, Math.floor(bytes.byteLength / 4))
    const n = run.shape.batch * imageSize(run.shape)
    const onDisk = Array.from({ length: spilledFrames }, (_, i) => ({
      sample: all.subarray(2 * i * n, (2 * i + 1) * n),
      predictedX0: all.subarray((2 * i + 1) * n, (2 * i + 2) * n),
    }))
    const samples = samplesSpilled ? all.subarray(2 * spilledFrames * n, (2 * spilledFrames + 1) * n) : run.samples
    return { ...run, frames: [...onDisk, ...run.frames], samples }
  }

  delete(runId: string): Promise<boolean> {
    return this.serially(async () => {
      const e = this.entries.get(runId)
      if (!e) return false
      this.entries.delete(runId)
      if (e.file) await unlink(e.file).catch(() => {})
      return true
    })
  }

  list(): RunSummary[] {
    return [...this.entries].map(([runId, e]) => ({
      runId,
      parameters: e.run.parameters,
      shape: e.run.shape,
      steps: e.spilledFrames + e.run.frames.length,
      finished: e.samplesSpilled || e.run.samples !== undefined,
      spilled: e.file !== undefined,
      bytes: e.run.bytes,
    }))
  }

  /** Bytes of frames and samples held in memory (a fork's frames shared with its parent count for both). */
  memoryBytes(): number {
    let total = 0
    for (const e of this.entries.values()) total += inMemoryBytes(e)
    return total
  }

  /**
   * Move the oldest runs' frames to disk until memory fits the budget. One pass at a time; a call while
   * one waits to start shares it.
   */
  keepWithinBudget(): Promise<void> {
    this.passQueued ??= this.serially(async () => {
      this.passQueued = undefined
      await this.spillOldest()
    })
    return this.passQueued
  }

  /** Remove every spilled file. */
  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
    this.dir = undefined
    this.entries.clear()
  }

  private async spillOldest(): Promise<void> {
    let total = this.memoryBytes()
    for (const [id, e] of this.entries) {
      if (total <= this.budgetBytes) return
      const before = inMemoryBytes(e)
      if (before === 0) continue
      try {
        await this.spill(id, e)
      } catch {
        // A full or failing disk: the frames stay in memory (never dropped) and the next pass tries again.
        return
      }
      total -= before - inMemoryBytes(e)
    }
  }

  /** Append the run's frames in memory (and its samples, once it has them) to its file. */
  private async spill(id: string, e: Entry): Promise<void> {
    // The run goes on recording into the same array while the file is written: count what is written now.
    const count = e.run.frames.length
    const samples = e.run.samples
    const parts = e.run.frames.slice(0, count).flatMap((f) => [f.sample, f.predictedX0])
    if (samples) parts.push(samples)
    const file = (e.file ??= join(this.spillDir(), `${id}.f32`))
    await appendFile(file, Buffer.concat(parts.map(bytesOf)))
    // Steps recorded during the write stay in memory, after the ones now on disk.
    e.spilledFrames += count
    e.run.frames = e.run.frames.slice(count)
    if (samples) {
      e.samplesSpilled = true
      e.run.samples = undefined
    }
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task)
    this.queue = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }

  private spillDir(): string {
    return (this.dir ??= mkdtempSync(join(tmpdir(), 'stepwise-frames-')))
  }
}

function bytesToCome(e: Entry): number {
  // The steps still to come, and the samples at the end.
  const toCome = e.expectedSteps - e.spilledFrames - e.run.frames.length
  return toCome > 0 ? timelineBytes(e.run.shape, toCome) : 0
}

function inMemoryBytes(e: Entry): number {
  const n = e.run.shape.batch * imageSize(e.run.shape)
  return 4 * n * (2 * e.run.frames.length + (e.run.samples ? 1 : 0))
}
