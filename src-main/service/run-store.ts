/**
 * The runs of a session, kept for the timeline, exports, forks and the history panel. Frames live in
 * memory up to a budget; past it, the oldest finished runs' frames spill to a file in a temporary folder
 * and come back from it when asked for. Nothing is dropped unless the user deletes it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { RunSummary } from '../../src-preload/contract'
import { imageSize } from '../engine/tensor'
import type { Timeline } from '../engine/timeline'

/** Frames of finished runs kept in memory before the oldest spill to disk (x_t and predicted x0 a step, float32). */
export const FRAME_MEMORY_BUDGET_BYTES = 512 * 1024 * 1024

/** A run the engine holds: its timeline, and the model it was made with (forks must use the same). */
export interface HeldRun extends Timeline {
  modelKey: string
}

interface Entry {
  run: HeldRun
  /** The file holding samples then each frame's x_t and x0, once spilled (run.frames is then empty). */
  spillFile?: string
  spilledFrames?: number
}

export class RunStore {
  private readonly entries = new Map<string, Entry>()
  private dir: string | undefined

  constructor(private readonly budgetBytes = FRAME_MEMORY_BUDGET_BYTES) {}

  add(runId: string, run: HeldRun): void {
    this.entries.set(runId, { run })
  }

  /** The run with all its frames (read back from disk when spilled; the copy read is not kept in memory). */
  async get(runId: string): Promise<HeldRun | undefined> {
    const e = this.entries.get(runId)
    if (!e) return undefined
    if (!e.spillFile) return e.run
    const bytes = await readFile(e.spillFile)
    const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    const n = e.run.shape.batch * imageSize(e.run.shape)
    const frames = Array.from({ length: e.spilledFrames! }, (_, i) => ({
      sample: all.subarray(n * (1 + 2 * i), n * (2 + 2 * i)),
      predictedX0: all.subarray(n * (2 + 2 * i), n * (3 + 2 * i)),
    }))
    return { ...e.run, samples: all.subarray(0, n), frames }
  }

  async delete(runId: string): Promise<boolean> {
    const e = this.entries.get(runId)
    if (!e) return false
    this.entries.delete(runId)
    if (e.spillFile) await unlink(e.spillFile).catch(() => {})
    return true
  }

  list(): RunSummary[] {
    return [...this.entries].map(([runId, e]) => ({
      runId,
      parameters: e.run.parameters,
      shape: e.run.shape,
      steps: e.spillFile ? e.spilledFrames! : e.run.frames.length,
      finished: e.run.samples !== undefined,
      spilled: e.spillFile !== undefined,
      bytes: e.run.bytes,
    }))
  }

  /** Bytes of frames held in memory. */
  memoryBytes(): number {
    let total = 0
    for (const e of this.entries.values()) if (!e.spillFile) total += e.run.bytes
    return total
  }

  /** Spill the oldest finished runs until the frames in memory fit the budget (the newest run always stays). */
  async keepWithinBudget(): Promise<void> {
    let total = this.memoryBytes()
    const ids = [...this.entries.keys()]
    for (const id of ids.slice(0, -1)) {
      if (total <= this.budgetBytes) break
      const e = this.entries.get(id)
      if (!e || e.spillFile || !e.run.samples) continue
      const file = join(this.spillDir(), `${id}.f32`)
      const parts = [e.run.samples, ...e.run.frames.flatMap((f) => [f.sample, f.predictedX0])]
      await writeFile(file, Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))))
      e.spillFile = file
      e.spilledFrames = e.run.frames.length
      e.run = { ...e.run, frames: [], samples: e.run.samples }
      total -= e.run.bytes
    }
  }

  /** Remove every spilled file. */
  dispose(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
    this.dir = undefined
    this.entries.clear()
  }

  private spillDir(): string {
    return (this.dir ??= mkdtempSync(join(tmpdir(), 'stepwise-frames-')))
  }
}
