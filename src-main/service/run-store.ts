/**
 * Every run, in memory while it records and in the history folder once it has stopped (or sooner, past
 * the memory budget): one mechanism for a session's frames and for the history kept across restarts.
 *
 * The folder (the app's user data `history/`, the browser host's settings folder `history/`; without one,
 * a temporary folder removed at the end):
 *   index.json   every run, oldest first: parameters, shape, status, how it came to be; the disk budget
 *   <id>.steps   x_t then predicted x0 of each step, float32, appended as the run records: its timeline
 *   <id>.final   the final samples, float32
 *   <id>.json    each step's timestep, alpha_bar and diagnostics, and how a fork goes on from it
 *
 * A recording run's frames stay in memory up to the memory budget; past it the oldest runs' frames move to
 * their .steps file step by step, later steps appending. When a run stops (finished, cancelled or failed)
 * the rest of its frames move there too, its samples and step records are written, and memory keeps none
 * of its frames. The timelines together stay within the disk budget (the user's, HISTORY_DISK_BUDGET_BYTES
 * by default): past it the oldest stopped runs' .steps files go, and those runs keep their final images,
 * parameters and step records. Nothing else is dropped unless the user deletes it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { appendFile, readFile, statfs, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { PixelSeries, RunGroup, RunStatus, RunSummary, Shape, StepStats } from '../../src-preload/contract'
import { HISTORY_DISK_BUDGET_BYTES } from '../../src-shared/limits'
import { EngineError } from '../engine/errors'
import { imageSize } from '../engine/tensor'
import type { Timeline } from '../engine/timeline'
import {
  bytesOf,
  floatsOf,
  readIndex,
  readStepsAt,
  shrink,
  splitSteps,
  stepsBytes,
  type StepsFile,
  storableForkPoints,
  type StoredRun,
  writeIndex,
} from './history-files'

/** The history's folder in the app's user-data folder and the browser host's settings folder. */
export const HISTORY_DIR = 'history'

/** Frames kept in memory before the oldest runs' move to disk (x_t and predicted x0 a step, float32). */
export const FRAME_MEMORY_BUDGET_BYTES = 512 * 1024 * 1024

/** A run the engine holds: its timeline, each step's diagnostics, and the model it was made with. */
export interface HeldRun extends Timeline {
  modelKey: string
  /** Each step's diagnostics, one entry an image (a fork's first ones are its parent's). */
  stats: StepStats[][]
}

/** What the index keeps of a run. */
interface Entry {
  stored: StoredRun
  /**
   * This session's run: the timeline it records into; once part of it is on disk, `frames` holds only the
   * steps after `spilledFrames`. Absent for a run of an earlier session (everything is on disk).
   */
  run?: HeldRun
  /** Steps in the .steps file. */
  spilledFrames: number
  /** Steps the run will have when it finishes (for the room check); 0 once it has stopped. */
  expectedSteps: number
  /** The .json file of a run of an earlier session, once read. */
  steps?: StepsFile
}

/** One step's x_t and predicted x0 (and the alpha_bar that gives its predicted noise). */
export interface StoredStep {
  index: number
  alphaBar: number
  sample: Float32Array
  predictedX0: Float32Array
}

export interface RunStoreOptions {
  /** Frames kept in memory (FRAME_MEMORY_BUDGET_BYTES by default). */
  memoryBudgetBytes?: number
  /** The history folder; a temporary folder, removed by close(), when absent. */
  dir?: string
  /** Free bytes on the disk holding the folder (a parameter so tests can pretend a full disk). */
  freeDiskBytes?: (dir: string) => Promise<number>
  now?: () => number
  /** Told what went wrong with the folder (a damaged index set aside); the default says nothing. */
  log?: (line: string) => void
}

const MIB = 1024 * 1024
const mib = (bytes: number) => `${Math.ceil(bytes / MIB)} MiB`

/** Bytes of a whole timeline: x_t and predicted x0 each step, then the samples (float32). */
export const timelineBytes = (shape: Shape, steps: number): number =>
  4 * shape.batch * imageSize(shape) * (2 * steps + 1)

const stopped = (status: RunStatus) => status !== 'running'

export class RunStore {
  private readonly entries = new Map<string, Entry>()
  private readonly memoryBudgetBytes: number
  private readonly freeDiskBytes: (dir: string) => Promise<number>
  private readonly now: () => number
  private readonly temporary: boolean
  private dir: string | undefined
  private diskBudgetBytes = HISTORY_DISK_BUDGET_BYTES
  /** The number the next run gets: numbers are never given twice, a deleted run's included. */
  private nextNumber = 1
  /** Passes, writes and deletions run one after another: each reads and writes entries across awaits. */
  private queue: Promise<void> = Promise.resolve()
  private passQueued: Promise<void> | undefined

  constructor(options: RunStoreOptions = {}) {
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? FRAME_MEMORY_BUDGET_BYTES
    this.freeDiskBytes =
      options.freeDiskBytes ??
      (async (dir) => {
        const s = await statfs(dir)
        return s.bavail * s.bsize
      })
    this.now = options.now ?? Date.now
    this.temporary = options.dir === undefined
    this.dir = options.dir
    if (options.dir) this.load(options.dir, options.log ?? (() => {}))
  }

  /** Whether runs outlive this store (a history folder was given). */
  get persistent(): boolean {
    return !this.temporary
  }

  /**
   * Refuse a run of `steps` steps of `shape` images when it cannot fit: whatever is in memory now either
   * stays within the budget or moves to disk, and so do the steps the running runs will still record.
   */
  async checkRoom(shape: Shape, steps: number, what: string): Promise<void> {
    const totalBytes = timelineBytes(shape, steps)
    const held = this.memoryBytes()
    const coming = [...this.entries.values()].reduce((sum, e) => sum + bytesToCome(e), 0)
    const where = this.dir ?? tmpdir()
    const free = await this.freeDiskBytes(where)
    if (held + coming + totalBytes <= this.memoryBudgetBytes + free) return
    throw new EngineError(
      'bad-argument',
      `${what} would keep ${mib(totalBytes)} of frames; with ${mib(held + coming)} held or still coming from ` +
        `other runs, the ${mib(this.memoryBudgetBytes)} memory budget and the ${mib(free)} free on the disk of ` +
        `${where} cannot hold it. Delete runs, free disk space, or ask for fewer steps or images`,
    )
  }

  /** A new run, recording into `run`, that will have `steps` steps when it finishes. */
  add(
    runId: string,
    run: HeldRun,
    steps = run.frames.length,
    origin: { parent?: StoredRun['parent']; group?: RunGroup } = {},
  ): number {
    const stored: StoredRun = {
      runId,
      number: this.nextNumber++,
      createdAt: this.now(),
      parameters: run.parameters,
      shape: run.shape,
      modelKey: run.modelKey,
      status: 'running',
      steps: run.frames.length,
      bytes: run.bytes,
      timeline: false,
      timelineBytes: 0,
      ...(origin.parent && { parent: origin.parent }),
      ...(origin.group && { group: origin.group }),
    }
    this.entries.set(runId, { stored, run, spilledFrames: 0, expectedSteps: steps })
    void this.serially(() => this.writeIndex())
    return stored.number!
  }

  /** After a step is recorded: past the budget, start moving frames to disk (without waiting for it). */
  recorded(): void {
    if (this.memoryBytes() > this.memoryBudgetBytes) void this.keepWithinBudget()
  }

  /**
   * The run has stopped: it records nothing more. Its frames move to disk, its samples and step records
   * are written, the disk budget is kept; the promise settles when that is done.
   */
  ended(runId: string, status: Exclude<RunStatus, 'running'>): Promise<void> {
    const e = this.entries.get(runId)
    if (!e) return Promise.resolve()
    e.expectedSteps = 0
    e.stored.status = status
    return this.serially(async () => {
      if (!this.entries.has(runId) || !e.run) return
      try {
        await this.spill(runId, e)
        const run = e.run
        if (run.samples) await writeFile(this.file(runId, 'final'), bytesOf(run.samples))
        const steps: StepsFile = {
          timesteps: run.timesteps,
          alphaBars: run.alphaBars,
          stats: run.stats,
          forkPoints: storableForkPoints(run.forkPoints),
        }
        await writeFile(this.file(runId, 'json'), JSON.stringify(steps))
      } catch {
        // A full or failing disk: the frames stay in memory and the run in this session's list.
      }
      e.stored.bytes = e.run.bytes
      await this.keepDiskBudget()
      await this.writeIndex()
    })
  }

  /** The run with all its frames (read back from disk; the copy read is not kept in memory). */
  async get(runId: string): Promise<HeldRun | undefined> {
    const e = this.entries.get(runId)
    if (!e) return undefined
    if (!e.run) return this.readPast(runId, e)
    // What is on disk and what is in memory, taken together now: a pass moving frames meanwhile appends
    // to the file and replaces `frames`, so this snapshot stays whole.
    const { spilledFrames, run } = e
    // A copy: a pass moving the frames to disk later replaces run.frames, which must not empty what the
    // caller holds (a fork reads its parent's frames after awaiting the room check).
    if (spilledFrames === 0) return { ...run, frames: [...run.frames] }
    const onDisk = splitSteps(await readFile(this.file(runId, 'steps')), run.shape, spilledFrames)
    return { ...run, frames: [...onDisk, ...run.frames] }
  }

  /** Some steps' x_t and predicted x0, read alone (from memory, or their place in the .steps file). */
  async steps(runId: string, indices: number[], image?: number): Promise<StoredStep[]> {
    const { shape, count } = this.onHand(runId, 'runs.steps')
    const bad = indices.find((i) => i >= count)
    if (bad !== undefined)
      throw new EngineError('bad-argument', `runs.steps: run ${runId} has ${count} steps on hand, not step ${bad}`)
    if (image !== undefined && image >= shape.batch)
      throw new EngineError('bad-argument', `runs.steps: run ${runId} has ${shape.batch} images, not image ${image}`)
    // The floats of the images asked for within a batch's x_t or predicted x0: all, or the one image.
    const n = imageSize(shape)
    const [first, length] = image === undefined ? [0, shape.batch * n] : [image * n, n]
    return this.readRange(runId, indices, first, length)
  }

  /**
   * One pixel of image `image` at every step on hand from step `from`: its channels' floats, step-major,
   * with each step's alpha_bar. Read a channel at a time (the frames are planar), a few bytes a step from
   * the .steps file.
   */
  async pixel(runId: string, image: number, x: number, y: number, from = 0): Promise<PixelSeries> {
    const { shape, count } = this.onHand(runId, 'runs.pixel')
    const { batch, channels: c, height: h, width: w } = shape
    if (image >= batch || x >= w || y >= h)
      throw new EngineError(
        'bad-argument',
        `runs.pixel: run ${runId} has ${batch} images of ${w}x${h}, not image ${image} at (${x}, ${y})`,
      )
    if (from > count)
      throw new EngineError('bad-argument', `runs.pixel: run ${runId} has ${count} steps on hand, not step ${from}`)
    const indices = Array.from({ length: count - from }, (_, i) => from + i)
    const series: PixelSeries = { channels: c, sample: [], predictedX0: [], alphaBars: [] }
    const at = image * imageSize(shape) + y * w + x
    const perChannel = await Promise.all(
      Array.from({ length: c }, (_, k) => this.readRange(runId, indices, at + k * h * w, 1)),
    )
    for (let j = 0; j < indices.length; j++) {
      series.alphaBars.push(perChannel[0][j].alphaBar)
      for (const steps of perChannel) {
        series.sample.push(steps[j].sample[0])
        series.predictedX0.push(steps[j].predictedX0[0])
      }
    }
    return series
  }

  /** A run's shape and how many steps it has on hand (in memory and on disk); refused when it has none to read. */
  private onHand(runId: string, what: string): { shape: Shape; count: number } {
    const e = this.entries.get(runId)
    if (!e) throw new EngineError('bad-argument', `${what}: no run ${runId} (deleted?)`)
    const { stored, spilledFrames, run } = e
    const inMemory = run?.frames.length ?? 0
    if (!stored.timeline && inMemory === 0 && stopped(stored.status) && stored.steps > 0)
      throw new EngineError(
        'bad-argument',
        `${what}: the timeline of run ${runId} was dropped to keep the history within its disk budget; ` +
          'its final images and parameters are kept',
      )
    return { shape: stored.shape, count: spilledFrames + inMemory }
  }

  /** The floats `first` to `first + length` of some steps' x_t and predicted x0, from memory or disk. */
  private async readRange(runId: string, indices: number[], first: number, length: number): Promise<StoredStep[]> {
    const e = this.entries.get(runId)
    if (!e) throw new EngineError('bad-argument', `no run ${runId} (deleted?)`)
    // Taken together now: a pass moving frames to disk meanwhile appends to the file and replaces `frames`.
    const { spilledFrames, run, stored } = e
    const inMemory = run?.frames ?? []
    const alphaBars = run?.alphaBars ?? (await this.stepsFile(runId, e)).alphaBars
    const fromDisk = indices.filter((i) => i < spilledFrames)
    const read = await readStepsAt(this.file(runId, 'steps'), stored.shape, fromDisk, first, length)
    return indices.map((index) => {
      const f = read.get(index)
      if (f) return { index, alphaBar: alphaBars[index], ...f }
      const m = inMemory[index - spilledFrames]
      const pick = (x: Float32Array) => x.subarray(first, first + length)
      return { index, alphaBar: alphaBars[index], sample: pick(m.sample), predictedX0: pick(m.predictedX0) }
    })
  }

  /** The run's step records (timesteps, alpha_bars, diagnostics) without its frames. */
  async records(runId: string): Promise<Omit<StepsFile, 'forkPoints'> | undefined> {
    const e = this.entries.get(runId)
    if (!e) return undefined
    return e.run ?? this.stepsFile(runId, e)
  }

  /** The run's final samples, or undefined for one that did not finish. */
  async samples(runId: string): Promise<Float32Array | undefined> {
    const e = this.entries.get(runId)
    if (!e || e.stored.status !== 'done') return undefined
    if (e.run?.samples) return e.run.samples
    return floatsOf(await readFile(this.file(runId, 'final')))
  }

  /** The first final image, at most THUMBNAIL_SIDE pixels a side (nearest): [1, C, h, w]. */
  async thumbnail(runId: string): Promise<{ values: Float32Array; shape: Shape } | undefined> {
    const samples = await this.samples(runId).catch(() => undefined)
    const e = this.entries.get(runId)
    if (!samples || !e) return undefined
    return shrink(samples, e.stored.shape)
  }

  delete(runId: string): Promise<boolean> {
    return this.serially(async () => {
      const e = this.entries.get(runId)
      if (!e) return false
      this.entries.delete(runId)
      await Promise.all((['steps', 'final', 'json'] as const).map((k) => unlink(this.file(runId, k)).catch(() => {})))
      await this.writeIndex()
      return true
    })
  }

  /** Every run, oldest first. */
  list(): RunSummary[] {
    return [...this.entries.values()].map(({ stored, run, spilledFrames }) => ({
      runId: stored.runId,
      number: stored.number!,
      createdAt: stored.createdAt,
      parameters: stored.parameters,
      shape: stored.shape,
      steps: run ? spilledFrames + run.frames.length : stored.steps,
      status: stored.status,
      timeline: stored.timeline || (run !== undefined && run.frames.length > 0),
      bytes: run?.bytes ?? stored.bytes,
      ...(stored.parent && { parent: stored.parent }),
      ...(stored.group && { group: stored.group }),
    }))
  }

  /** Bytes of frames held in memory (a fork's frames shared with its parent count for both). */
  memoryBytes(): number {
    let total = 0
    for (const e of this.entries.values()) total += inMemoryBytes(e)
    return total
  }

  /** Bytes of the timelines on disk, and the budget they keep within. */
  disk(): { bytes: number; budgetBytes: number } {
    return { bytes: this.diskBytes(), budgetBytes: this.diskBudgetBytes }
  }

  /** A new disk budget for the timelines (kept in the index): past it, the oldest timelines go now. */
  setDiskBudget(bytes: number): Promise<void> {
    this.diskBudgetBytes = bytes
    return this.serially(async () => {
      await this.keepDiskBudget()
      await this.writeIndex()
    })
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

  /** Wait for the writes under way; a temporary folder is removed. */
  async close(): Promise<void> {
    await this.queue
    if (this.temporary && this.dir) rmSync(this.dir, { recursive: true, force: true })
    if (this.temporary) this.dir = undefined
    this.entries.clear()
  }

  private load(dir: string, log: (line: string) => void): void {
    const index = readIndex(dir, this.now(), log)
    if (!index) return
    if (Number.isFinite(index.diskBudgetBytes) && index.diskBudgetBytes >= 0)
      this.diskBudgetBytes = index.diskBudgetBytes
    // Runs kept before runs had numbers are numbered oldest first, after those that have one.
    const given = index.runs.map((r) => r.number ?? 0)
    this.nextNumber = Math.max(index.nextNumber ?? 1, ...given.map((n) => n + 1))
    for (const stored of index.runs) {
      stored.number ??= this.nextNumber++
      this.entries.set(stored.runId, { stored, spilledFrames: stored.timeline ? stored.steps : 0, expectedSteps: 0 })
    }
  }

  private async readPast(runId: string, e: Entry): Promise<HeldRun> {
    const steps = await this.stepsFile(runId, e)
    const { stored } = e
    const frames = stored.timeline
      ? splitSteps(await readFile(this.file(runId, 'steps')), stored.shape, stored.steps)
      : []
    return {
      parameters: stored.parameters,
      shape: stored.shape,
      modelKey: stored.modelKey,
      timesteps: steps.timesteps,
      alphaBars: steps.alphaBars,
      stats: steps.stats,
      forkPoints: steps.forkPoints ?? [],
      frames,
      samples: await this.samples(runId),
      bytes: stored.bytes,
    }
  }

  private async stepsFile(runId: string, e: Entry): Promise<StepsFile> {
    if (e.steps) return e.steps
    try {
      e.steps = JSON.parse(await readFile(this.file(runId, 'json'), 'utf8')) as StepsFile
    } catch {
      e.steps = { timesteps: [], alphaBars: [], stats: [], forkPoints: null }
    }
    return e.steps
  }

  private diskBytes(): number {
    let total = 0
    for (const e of this.entries.values()) total += e.stored.timelineBytes
    return total
  }

  /** Drop the oldest stopped runs' timelines until the rest fit the disk budget. */
  private async keepDiskBudget(): Promise<void> {
    let total = this.diskBytes()
    for (const [id, e] of this.entries) {
      if (total <= this.diskBudgetBytes) return
      if (!stopped(e.stored.status) || e.stored.timelineBytes === 0) continue
      await unlink(this.file(id, 'steps')).catch(() => {})
      total -= e.stored.timelineBytes
      e.stored.timeline = false
      e.stored.timelineBytes = 0
      e.spilledFrames = 0
    }
  }

  private async spillOldest(): Promise<void> {
    let total = this.memoryBytes()
    for (const [id, e] of this.entries) {
      if (total <= this.memoryBudgetBytes) return
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

  /** Append the run's frames in memory to its .steps file. */
  private async spill(id: string, e: Entry): Promise<void> {
    const run = e.run
    if (!run) return
    // The run goes on recording into the same array while the file is written: count what is written now.
    const count = run.frames.length
    if (count === 0) return
    const bytes = stepsBytes(run.frames.slice(0, count))
    await appendFile(this.file(id, 'steps'), bytes)
    // Steps recorded during the write stay in memory, after the ones now on disk.
    e.spilledFrames += count
    run.frames = run.frames.slice(count)
    e.stored.timeline = true
    e.stored.timelineBytes += bytes.byteLength
    e.stored.steps = e.spilledFrames + run.frames.length
  }

  private async writeIndex(): Promise<void> {
    if (this.temporary) return
    const runs = [...this.entries.values()].map((e) => e.stored)
    const index = { version: 1 as const, diskBudgetBytes: this.diskBudgetBytes, nextNumber: this.nextNumber, runs }
    await writeIndex(this.folder(), index).catch(() => {})
  }

  private serially<T>(task: () => Promise<T>): Promise<T> {
    const result = this.queue.then(task)
    this.queue = result.then(
      () => undefined,
      () => undefined,
    )
    return result
  }

  private folder(): string {
    return (this.dir ??= mkdtempSync(join(tmpdir(), 'stepwise-frames-')))
  }

  private file(id: string, kind: 'steps' | 'final' | 'json'): string {
    return join(this.folder(), `${id}.${kind}`)
  }
}

function bytesToCome(e: Entry): number {
  // The steps still to come, and the samples at the end.
  if (!e.run) return 0
  const toCome = e.expectedSteps - e.spilledFrames - e.run.frames.length
  return toCome > 0 ? timelineBytes(e.run.shape, toCome) : 0
}

function inMemoryBytes(e: Entry): number {
  if (!e.run) return 0
  const n = e.run.shape.batch * imageSize(e.run.shape)
  return 4 * n * (2 * e.run.frames.length + (e.run.samples ? 1 : 0))
}
