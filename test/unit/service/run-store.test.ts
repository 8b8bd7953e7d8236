/**
 * The runs, in memory and in the history folder: a recording run's frames past the memory budget move to
 * disk step by step, every stopped run (finished, cancelled, failed) moves there whole, and any step comes
 * back unchanged, alone or with the rest. With a history folder the runs outlive the session; the timelines
 * keep within the disk budget, the oldest dropped first with their final images kept. A run that cannot fit
 * in memory plus disk is refused up front.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, it, vi } from 'vitest'

import type * as Files from '../../../src-main/engine/files'
import { writeFileAtomic } from '../../../src-main/engine/files'
import { createHandlers, type Handlers, liveImagesMs } from '../../../src-main/service/handlers'
import { shrink, storableForkPoints } from '../../../src-main/service/history-files'
import { type HeldRun, RunStore, timelineBytes } from '../../../src-main/service/run-store'
import type { Events, RunSummary, SampleStartRequest } from '../../../src-preload/contract'
import { LIVE_UPDATE_MS, LIVE_UPDATE_SHARED_CPU_MS } from '../../../src-shared/limits'

// The real atomic write, watched (and made to fail once where a test says so).
vi.mock('../../../src-main/engine/files', async (importOriginal) => {
  const real = await importOriginal<typeof Files>()
  return { ...real, writeFileAtomic: vi.fn(real.writeFileAtomic) }
})

const temps: string[] = []
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'stepwise-history-test-'))
  temps.push(dir)
  return dir
}

/** Handlers with a frame budget (and a history folder), recording every frame sent and when each run ends. */
function session(frameBudgetBytes: number, historyDir?: string) {
  const frames = new Map<string, Events['frame'][]>()
  const ended = new Map<string, (event: string) => void>()
  let onFrame: (f: Events['frame']) => void = () => {}
  const log: string[] = []
  const handlers = createHandlers(
    (event, payload) => {
      if (event === 'frame') {
        const f = payload as Events['frame']
        frames.set(f.runId, [...(frames.get(f.runId) ?? []), f])
        onFrame(f)
      }
      if (event === 'done' || event === 'failed') ended.get((payload as { runId: string }).runId)?.(event)
    },
    { frameBudgetBytes, historyDir, log: (line) => log.push(line) },
  )
  /** Start a run; `end` resolves with 'done' or 'failed' once the run is on disk too. */
  const start = async (req: SampleStartRequest) => {
    const started = await handlers['sample.start'](req)
    // The run begins after the answer (setImmediate), so its end cannot be missed here.
    const end = new Promise<string>((resolve) => ended.set(started.runId, resolve)).then(async (e) => {
      await settled(handlers)
      return e
    })
    return { ...started, end }
  }
  /** Every step's images as runs.steps gives them equal the ones the frame events carried. */
  const expectWhole = async (runId: string, steps: number) => {
    const back = await handlers['runs.frames']({ runId })
    const sent = frames.get(runId)!
    expect(sent.map((f) => f.index)).toEqual([...Array(steps).keys()])
    expect(back.frames).toHaveLength(steps)
    expect(back.frames.map((f) => f.timestep)).toEqual(sent.map((f) => f.timestep))
    expect(back.frames.map((f) => f.stats)).toEqual(sent.map((f) => f.stats))
    const all = await handlers['runs.steps']({ runId, steps: [...Array(steps).keys()] })
    expect(all.steps.map((s) => s.index)).toEqual([...Array(steps).keys()])
    for (const f of sent) {
      if (!f.pixels) continue
      const s = all.steps[f.index]
      expect(new Float32Array(s.sample)).toEqual(new Float32Array(f.pixels.sample))
      expect(new Float32Array(s.predictedX0)).toEqual(new Float32Array(f.pixels.predictedX0))
      // With its alpha_bar, which gives its predicted noise.
      expect(s.alphaBar).toBe(f.alphaBar)
    }
    // One image of the batch alone (the film strip's ask): its part of the whole, from memory or disk alike.
    const n = back.shape.channels * back.shape.height * back.shape.width
    for (let k = 0; k < back.shape.batch; k++) {
      const one = await handlers['runs.steps']({ runId, steps: [...Array(steps).keys()], image: k })
      one.steps.forEach((s, i) => {
        expect(s.alphaBar).toBe(all.steps[i].alphaBar)
        for (const part of ['sample', 'predictedX0'] as const)
          expect(new Float32Array(s[part])).toEqual(new Float32Array(all.steps[i][part]).subarray(k * n, (k + 1) * n))
      })
    }
    // One pixel at every step (look closer's trajectory): the same floats, from memory or disk alike.
    const { channels: c, height: h, width: w } = back.shape
    for (const [k, x, y] of [
      [0, 0, 0],
      [back.shape.batch - 1, w - 1, h - 1],
      [back.shape.batch - 1, 13, 7],
    ]) {
      const series = await handlers['runs.pixel']({ runId, image: k, x, y })
      expect(series.channels).toBe(c)
      expect(series.alphaBars).toEqual(all.steps.map((s) => s.alphaBar))
      for (const part of ['sample', 'predictedX0'] as const)
        expect(series[part]).toEqual(
          all.steps.flatMap((s) =>
            Array.from({ length: c }, (_, ch) => new Float32Array(s[part])[k * n + ch * h * w + y * w + x]),
          ),
        )
    }
    // From a later step: the same floats from there on (a plot that has the earlier ones asks for the rest).
    const whole = await handlers['runs.pixel']({ runId, image: 0, x: 1, y: 2 })
    for (const from of [1, steps - 1, steps]) {
      const rest = await handlers['runs.pixel']({ runId, image: 0, x: 1, y: 2, from })
      expect(rest.alphaBars).toEqual(whole.alphaBars.slice(from))
      expect(rest.sample).toEqual(whole.sample.slice(from * c))
      expect(rest.predictedX0).toEqual(whole.predictedX0.slice(from * c))
    }
    await expect(handlers['runs.pixel']({ runId, image: 0, x: 1, y: 2, from: steps + 1 })).rejects.toThrow(
      `runs.pixel: run ${runId} has ${steps} steps on hand, not step ${steps + 1}`,
    )
    await expect(handlers['runs.pixel']({ runId, image: 0, x: w, y: 0 })).rejects.toThrow(
      `runs.pixel: run ${runId} has ${back.shape.batch} images of ${w}x${h}, not image 0 at (${w}, 0)`,
    )
    return back
  }
  return { handlers, frames, start, expectWhole, log, setOnFrame: (f: typeof onFrame) => (onFrame = f) }
}

/** Wait until the store's writes are done (a budget of the same size changes nothing else). */
async function settled(handlers: Handlers) {
  const { diskBudgetBytes } = await handlers['runs.list']({})
  await handlers['runs.budget']({ diskBudgetBytes })
}

const opened: Handlers[] = []
afterAll(async () => {
  await Promise.all(opened.map((h) => h.dispose()))
  temps.forEach((dir) => rmSync(dir, { recursive: true, force: true }))
})
async function open(frameBudgetBytes: number, historyDir?: string) {
  const s = session(frameBudgetBytes, historyDir)
  opened.push(s.handlers)
  await s.handlers['model.load']({ providers: ['cpu'] })
  return s
}

/** One image of the default model is 1x28x28. */
const bytesOf = (batch: number, steps: number) => timelineBytes({ batch, channels: 1, height: 28, width: 28 }, steps)
const samplesBytes = (batch: number) => 4 * batch * 784
const pick = (r: RunSummary) => ({ steps: r.steps, status: r.status, timeline: r.timeline })

/** A run of two steps of one 2x2 image (x_t and x0 filled with the step's index), as the store holds it. */
const tinyShape = { batch: 1, channels: 1, height: 2, width: 2 }
const tinyRun = (): HeldRun => ({
  parameters: { seed: 1 } as HeldRun['parameters'],
  shape: tinyShape,
  modelKey: 'm',
  timesteps: [1, 0],
  alphaBars: [0.5, 0.9],
  frames: [0, 1].map((v) => ({ sample: new Float32Array(4).fill(v), predictedX0: new Float32Array(4).fill(v) })),
  forkPoints: [],
  stats: [[], []],
  samples: new Float32Array(4).fill(2),
  bytes: 2 * 8 * 4,
})

describe('the run store', () => {
  it('sends every step with its record, its images about once a display frame and always at the ends', async () => {
    const { start, frames } = await open(bytesOf(2, 40))
    const r = await start({ sampler: { sampler: 'ddim', steps: 40 }, seed: 1, batch: 2 })
    expect(await r.end).toBe('done')
    const sent = frames.get(r.runId)!
    expect(sent.map((f) => f.index)).toEqual([...Array(40).keys()])
    expect(sent.every((f) => f.stats.length === 2 && f.total === 40)).toBe(true)
    expect(sent[0].pixels).toBeDefined()
    expect(sent[39].pixels).toBeDefined()
    expect(new Float32Array(sent[39].pixels!.sample)).toHaveLength(2 * 784)
  })

  it('sends images twice a second where the model computes on the CPU, four times on a GPU', async () => {
    expect(liveImagesMs({ provider: 'cpu' })).toBe(LIVE_UPDATE_SHARED_CPU_MS)
    expect(liveImagesMs({ provider: 'webgpu', adapter: { name: 'SwiftShader', software: true } })).toBe(
      LIVE_UPDATE_SHARED_CPU_MS,
    )
    expect(liveImagesMs({ provider: 'webgpu', adapter: { name: 'NVIDIA H200', software: false } })).toBe(LIVE_UPDATE_MS)
    expect(liveImagesMs({ provider: 'cuda' })).toBe(LIVE_UPDATE_MS)
    expect(LIVE_UPDATE_SHARED_CPU_MS).toBeGreaterThan(LIVE_UPDATE_MS)

    // A run on the CPU long enough to send images between its ends: they go at most twice a second.
    const { start, setOnFrame } = await open(bytesOf(8, 120))
    const sentAt: { index: number; ms: number }[] = []
    setOnFrame((f) => f.pixels && sentAt.push({ index: f.index, ms: performance.now() }))
    const r = await start({ sampler: { sampler: 'ddpm', steps: 120 }, seed: 1, batch: 8 })
    expect(await r.end).toBe('done')
    const middle = sentAt.slice(0, -1)
    expect(sentAt.at(-1)!.index).toBe(119)
    expect(middle.length).toBeGreaterThan(1)
    for (let k = 1; k < middle.length; k++)
      expect(middle[k].ms - middle[k - 1].ms).toBeGreaterThanOrEqual(LIVE_UPDATE_SHARED_CPU_MS)
  })

  it('moves every stopped run to disk and gives any step back unchanged, alone or all together', async () => {
    const { handlers, start, expectWhole } = await open(4 * bytesOf(2, 8))
    const run = async (seed: number) => {
      const r = await start({ sampler: { sampler: 'ddim', steps: 8 }, seed, batch: 2 })
      expect(await r.end).toBe('done')
      return r
    }
    const a = await run(1),
      b = await run(2)
    const { runs, memoryBytes, budgetBytes, persistent } = await handlers['runs.list']({})
    expect(runs.map((r) => [r.runId, r.status, r.timeline, r.steps])).toEqual([
      [a.runId, 'done', true, 8],
      [b.runId, 'done', true, 8],
    ])
    expect(persistent).toBe(false)
    expect(budgetBytes).toBe(4 * bytesOf(2, 8))
    // Only the samples stay in memory.
    expect(memoryBytes).toBe(2 * samplesBytes(2))
    const back = await expectWhole(a.runId, 8)
    expect(back.timesteps).toEqual(a.timesteps)
    expect(back.timeline).toBe(true)
    expect(new Float32Array(back.samples!)).toHaveLength(2 * 784)
    // One step alone equals the same step read with the others.
    const one = await handlers['runs.steps']({ runId: a.runId, steps: [5] })
    const all = await handlers['runs.steps']({ runId: a.runId, steps: [0, 5, 7] })
    expect(new Float32Array(one.steps[0].predictedX0)).toEqual(new Float32Array(all.steps[1].predictedX0))
    await expect(handlers['runs.steps']({ runId: a.runId, steps: [8] })).rejects.toThrow(
      /has 8 steps on hand, not step 8/,
    )
    await expect(handlers['runs.steps']({ runId: a.runId, steps: [0], image: 2 })).rejects.toThrow(
      /has 2 images, not image 2/,
    )
    // Runs on disk still export and fork.
    const files = await handlers['export.encode']({ runId: a.runId, kind: 'gif', index: 1, gifFrames: 4 })
    expect(files.files[0].name).toBe('denoising-xt-seed-2.gif')
    const fork = await start({
      sampler: { sampler: 'ddim', steps: 8 },
      seed: 0,
      batch: 1,
      fork: { runId: a.runId, step: 3 },
    })
    expect(fork).toMatchObject({ startStep: 3, shape: { batch: 2 } })
    expect(await fork.end).toBe('done')
    expect((await handlers['runs.list']({})).runs[2].parent).toEqual({ runId: a.runId, step: 3 })

    // Deleted only when asked.
    expect(await handlers['runs.delete']({ runId: a.runId })).toEqual({ deleted: true })
    expect((await handlers['runs.list']({})).runs.map((r) => r.runId)).not.toContain(a.runId)
    await expect(handlers['runs.frames']({ runId: a.runId })).rejects.toThrow(/no run/)
    expect(await handlers['runs.delete']({ runId: a.runId })).toEqual({ deleted: false })
  })

  it('8 runs finishing together all come back whole', async () => {
    const { handlers, start, expectWhole } = await open(2 * bytesOf(1, 12))
    const started = await Promise.all(
      Array.from({ length: 8 }, (_, k) => start({ sampler: { sampler: 'ddim', steps: 12 }, seed: k, batch: 1 })),
    )
    expect(await Promise.all(started.map((r) => r.end))).toEqual(Array(8).fill('done'))
    const { runs, memoryBytes } = await handlers['runs.list']({})
    expect(runs.map(pick)).toEqual(Array(8).fill({ steps: 12, status: 'done', timeline: true }))
    expect(memoryBytes).toBe(8 * samplesBytes(1))
    for (const r of started) {
      const back = await expectWhole(r.runId, 12)
      expect(new Float32Array(back.samples!)).toHaveLength(784)
    }
  })

  it('a running run past the memory budget moves to disk step by step and reopens whole', async () => {
    // The budget holds 5 of the run's 30 steps (batch 2): the rest go to disk while it runs.
    const budget = bytesOf(2, 5)
    const { handlers, start, expectWhole, setOnFrame } = await open(budget)
    const seen: { memoryBytes: number; status: string }[] = []
    setOnFrame((f) => {
      if (f.index % 10 === 9)
        void handlers['runs.list']({}).then(({ runs, memoryBytes }) =>
          seen.push({ memoryBytes, status: runs[0].status }),
        )
    })
    const run = await start({ sampler: { sampler: 'ddim', steps: 30 }, seed: 4, batch: 2 })
    expect(await run.end).toBe('done')
    setOnFrame(() => {})
    expect(seen.length).toBeGreaterThanOrEqual(2)
    for (const s of seen) {
      expect(s.status).toBe('running')
      // Near the budget (steps go on while a write is under way); without moving it would be 6 budgets.
      expect(s.memoryBytes).toBeLessThanOrEqual(2 * budget)
    }
    const { runs } = await handlers['runs.list']({})
    expect(pick(runs[0])).toEqual({ steps: 30, status: 'done', timeline: true })
    const back = await expectWhole(run.runId, 30)
    expect(back.samples).not.toBeNull()
  })

  it('a cancelled run keeps the steps it made, on disk', async () => {
    const { handlers, start, expectWhole, setOnFrame } = await open(bytesOf(2, 10))
    let cancel = () => {}
    setOnFrame((f) => f.index === 5 && cancel())
    const cancelled = await start({ sampler: { sampler: 'ddim', steps: 10 }, seed: 5, batch: 2 })
    cancel = () => void handlers['sample.cancel']({ runId: cancelled.runId })
    expect(await cancelled.end).toBe('failed')
    setOnFrame(() => {})
    const [summary] = (await handlers['runs.list']({})).runs
    expect(summary.status).toBe('cancelled')
    expect(summary.steps).toBeGreaterThanOrEqual(6)
    expect((await handlers['runs.list']({})).memoryBytes).toBe(0)
    const back = await expectWhole(cancelled.runId, summary.steps)
    expect(back.samples).toBeNull()
  })
})

describe('the history folder', () => {
  it('keeps every run across sessions: listed, reopened, every step, exported, forked, thumbnails', async () => {
    const dir = tempDir()
    const first = await open(bytesOf(4, 50), dir)
    const a = await first.start({ sampler: { sampler: 'ddim', steps: 6 }, seed: 3, batch: 2, classLabel: 1 })
    expect(await a.end).toBe('done')
    const grid = { id: 'grid-1', kind: 'grid' as const }
    const b = await first.start({ sampler: { sampler: 'dpmpp-2m', steps: 5 }, seed: 9, batch: 1, group: grid })
    expect(await b.end).toBe('done')
    const before = await first.handlers['runs.list']({})
    const aSteps = await first.handlers['runs.steps']({ runId: a.runId, steps: [0, 3, 5] })
    const aFrames = await first.handlers['runs.frames']({ runId: a.runId })
    await first.handlers.dispose()
    expect(readdirSync(dir).sort()).toEqual(
      ['index.json', ...[a.runId, b.runId].flatMap((id) => [`${id}.final`, `${id}.json`, `${id}.steps`])].sort(),
    )

    const second = await open(bytesOf(4, 50), dir)
    const { runs, persistent, diskBytes } = await second.handlers['runs.list']({})
    expect(persistent).toBe(true)
    expect(runs).toEqual(before.runs)
    expect(runs[1].group).toEqual(grid)
    expect(runs[0].createdAt).toBeLessThanOrEqual(runs[1].createdAt)
    expect(diskBytes).toBe(8 * 784 * (2 * 6 + 1 * 5))
    expect(await second.handlers['runs.frames']({ runId: a.runId })).toEqual(aFrames)
    expect(await second.handlers['runs.steps']({ runId: a.runId, steps: [0, 3, 5] })).toEqual(aSteps)
    const png = await second.handlers['export.encode']({ runId: a.runId, kind: 'png', index: 1 })
    expect(png.files[0].name).toBe('seed-4.png')
    const { thumbnails } = await second.handlers['runs.thumbnails']({ runIds: [a.runId, b.runId, 'nope'] })
    expect(thumbnails.map((t) => [t.runId, t.shape])).toEqual([
      [a.runId, { batch: 1, channels: 1, height: 28, width: 28 }],
      [b.runId, { batch: 1, channels: 1, height: 28, width: 28 }],
    ])
    expect(new Float32Array(thumbnails[0].values)).toEqual(new Float32Array(aFrames.samples!).subarray(0, 784))
    // DDIM keeps no sampler state: its steps fork after a restart. DPM++ 2M's state was not kept.
    const fork = await second.start({
      sampler: { sampler: 'ddpm', steps: 6 },
      seed: 0,
      batch: 1,
      fork: { runId: a.runId, step: 2 },
    })
    expect(await fork.end).toBe('done')
    await expect(
      second.handlers['sample.start']({
        sampler: { sampler: 'ddim', steps: 5 },
        seed: 0,
        batch: 1,
        fork: { runId: b.runId, step: 2 },
      }),
    ).rejects.toThrow(/comes from an earlier session and its sampler's state at each step .* was not kept/)
  })

  it('keeps the timelines within the disk budget: the oldest go first, their final images stay', async () => {
    const dir = tempDir()
    const s = await open(bytesOf(4, 50), dir)
    const one = 8 * 784 * 10 // one run's steps: batch 1, 10 steps, x_t and x0
    await s.handlers['runs.budget']({ diskBudgetBytes: 2 * one })
    const ids: string[] = []
    for (let seed = 0; seed < 3; seed++) {
      const r = await s.start({ sampler: { sampler: 'ddim', steps: 10 }, seed, batch: 1 })
      expect(await r.end).toBe('done')
      ids.push(r.runId)
    }
    const list = await s.handlers['runs.list']({})
    expect(list.runs.map((r) => r.timeline)).toEqual([false, true, true])
    expect(list).toMatchObject({ diskBytes: 2 * one, diskBudgetBytes: 2 * one })
    expect(readdirSync(dir)).not.toContain(`${ids[0]}.steps`)
    const oldest = await s.handlers['runs.frames']({ runId: ids[0] })
    expect(oldest.timeline).toBe(false)
    expect(new Float32Array(oldest.samples!)).toHaveLength(784)
    await expect(s.handlers['runs.steps']({ runId: ids[0], steps: [0] })).rejects.toThrow(
      /timeline of run .* was dropped to keep the history within its disk budget; its final images and parameters are kept/,
    )
    expect((await s.handlers['export.encode']({ runId: ids[0], kind: 'png', index: 0 })).files).toHaveLength(1)
    // A smaller budget applies at once, and is kept with the history.
    expect((await s.handlers['runs.budget']({ diskBudgetBytes: one })).runs.map((r) => r.timeline)).toEqual([
      false,
      false,
      true,
    ])
    expect(JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).diskBudgetBytes).toBe(one)
  })

  it('sets a damaged index aside and starts empty; a run cut off by a crash is listed as failed', async () => {
    const damaged = tempDir()
    writeFileSync(join(damaged, 'index.json'), '{"version": 1, "runs": [')
    const s = await open(bytesOf(1, 10), damaged)
    expect((await s.handlers['runs.list']({})).runs).toEqual([])
    expect(s.log.join('\n')).toMatch(
      /the history index .*index.json could not be read .*; it was moved to .*index\.corrupt-\d+\.json/,
    )
    expect(readdirSync(damaged).some((f) => /^index\.corrupt-\d+\.json$/.test(f))).toBe(true)

    const crashed = tempDir()
    const stored = {
      runId: 'cut',
      createdAt: 1,
      parameters: {},
      shape: { batch: 1, channels: 1, height: 28, width: 28 },
      modelKey: 'm',
      status: 'running',
      steps: 3,
      bytes: 0,
      timeline: true,
      timelineBytes: 3 * 8 * 784,
    }
    writeFileSync(join(crashed, 'index.json'), JSON.stringify({ version: 1, diskBudgetBytes: 1e9, runs: [stored] }))
    writeFileSync(join(crashed, 'cut.steps'), Buffer.alloc(3 * 8 * 784))
    const store = new RunStore({ dir: crashed })
    expect(store.list().map(pick)).toEqual([{ steps: 3, status: 'failed', timeline: false }])
    expect(readdirSync(crashed)).not.toContain('cut.steps')
    await store.close()
  })

  it('numbers runs once and for good: across sessions, never a deleted one again, old indexes numbered in order', async () => {
    const dir = tempDir()
    const first = new RunStore({ dir })
    expect(['a', 'b', 'c'].map((id) => first.add(id, tinyRun()))).toEqual([1, 2, 3])
    for (const id of ['a', 'b', 'c']) await first.ended(id, 'done')
    await first.delete('c')
    await first.close()
    const second = new RunStore({ dir })
    expect(second.list().map((r) => [r.runId, r.number])).toEqual([
      ['a', 1],
      ['b', 2],
    ])
    expect(second.add('d', tinyRun())).toBe(4) // c's 3 is not given again
    await second.close()

    // An index written before runs had numbers: its runs are numbered oldest first.
    const old = tempDir()
    const stored = (runId: string) => ({
      runId,
      createdAt: 1,
      parameters: {},
      shape: tinyShape,
      modelKey: 'm',
      status: 'done',
      steps: 0,
      bytes: 0,
      timeline: false,
      timelineBytes: 0,
    })
    writeFileSync(
      join(old, 'index.json'),
      JSON.stringify({ version: 1, diskBudgetBytes: 1e9, runs: [stored('x'), stored('y')] }),
    )
    const third = new RunStore({ dir: old })
    expect(third.list().map((r) => r.number)).toEqual([1, 2])
    expect(third.add('z', tinyRun())).toBe(3)
    await third.close()
  })

  it('a run taken before its frames move to disk keeps them (a fork reads its parent after an await)', async () => {
    const store = new RunStore({ dir: tempDir() })
    store.add('p', tinyRun())
    const taken = (await store.get('p'))!
    await store.ended('p', 'done') // moves every frame to the .steps file
    expect(taken.frames.map((f) => f.sample[0])).toEqual([0, 1])
    expect((await store.get('p'))!.frames.map((f) => f.sample[0])).toEqual([0, 1])
  })

  it('replaces the index whole or not at all: a failed write leaves the last one, the next catches up', async () => {
    const dir = tempDir()
    const indexed = () => JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')).runs.map(pick)
    const write = vi.mocked(writeFileAtomic)
    write.mockClear()
    const store = new RunStore({ dir })
    store.add('a', tinyRun())
    await store.ended('a', 'done')
    expect(indexed()).toEqual([{ steps: 2, status: 'done', timeline: true }])

    store.add('b', tinyRun())
    await store.keepWithinBudget() // after the index listing b as running is written
    // A disk that fails the next write of the index: the one on disk stays whole and as it was.
    write.mockRejectedValueOnce(new Error('ENOSPC: no space left on device'))
    await store.ended('b', 'done')
    expect(indexed().map((r: { status: string }) => r.status)).toEqual(['done', 'running'])
    await store.setDiskBudget(1e9)
    expect(indexed()).toEqual([
      { steps: 2, status: 'done', timeline: true },
      { steps: 2, status: 'done', timeline: true },
    ])
    // Every write of the index went through the atomic write, and no temporary file is left beside it.
    expect(write.mock.calls.length).toBeGreaterThanOrEqual(4)
    expect(write.mock.calls.every(([path, , opts]) => path === join(dir, 'index.json') && opts?.overwrite)).toBe(true)
    expect(readdirSync(dir).sort()).toEqual([
      'a.final',
      'a.json',
      'a.steps',
      'b.final',
      'b.json',
      'b.steps',
      'index.json',
    ])
    await store.close()
    const again = new RunStore({ dir })
    expect(again.list().map((r) => r.runId)).toEqual(['a', 'b'])
    const [step] = await again.steps('b', [1])
    expect([...step.sample]).toEqual([1, 1, 1, 1])
    await again.close()
  })

  it('shrinks a thumbnail to at most 64 pixels a side, every k-th pixel of the first image', () => {
    const shape = { batch: 2, channels: 3, height: 130, width: 100 }
    const samples = Float32Array.from({ length: 2 * 3 * 130 * 100 }, (_, i) => i)
    const t = shrink(samples, shape)
    expect(t.shape).toEqual({ batch: 1, channels: 3, height: 44, width: 34 })
    // Channel 2, row 5, column 7 of the thumbnail is the image's row 15, column 21.
    expect(t.values[(2 * 44 + 5) * 34 + 7]).toBe((2 * 130 + 15) * 100 + 21)
    const small = { batch: 1, channels: 1, height: 28, width: 28 }
    expect(shrink(samples, small).values).toEqual(samples.subarray(0, 784))
  })
})

describe('room for a run', () => {
  const shape = { batch: 4, channels: 3, height: 64, width: 64 }
  it('is refused up front, with the numbers, when memory plus free disk cannot hold it', async () => {
    const MiB = 1024 * 1024
    // 100 steps of 4 images 3x64x64: 4 x 12288 x 4 bytes x 201 = 37.7 MiB.
    expect(timelineBytes(shape, 100)).toBe(4 * 12288 * 4 * 201)
    const store = new RunStore({ memoryBudgetBytes: 16 * MiB, freeDiskBytes: async () => 10 * MiB })
    await expect(store.checkRoom(shape, 100, 'a run of 100 steps')).rejects.toMatchObject({
      code: 'bad-argument',
      message: expect.stringMatching(
        /^a run of 100 steps would keep 38 MiB of frames; with 0 MiB held or still coming from other runs, the 16 MiB memory budget and the 10 MiB free on the disk of .* cannot hold it/,
      ),
    })
    await expect(store.checkRoom(shape, 40, 'a run of 40 steps')).resolves.toBeUndefined()
    // A run still recording counts with what it will record.
    store.add('running', { ...emptyTimeline(shape), modelKey: 'm', stats: [] }, 40)
    await expect(store.checkRoom(shape, 40, 'a second run')).rejects.toThrow(/with 16 MiB held or still coming/)
    await store.close()
  })

  it('asks the disk for its free space', async () => {
    const store = new RunStore()
    await expect(
      store.checkRoom({ ...shape, batch: 64, height: 2048, width: 2048 }, 100_000, 'a huge run'),
    ).rejects.toThrow(/a huge run would keep \d+ MiB of frames; .* MiB free on the disk of /)
    await expect(store.checkRoom(shape, 10, 'a small run')).resolves.toBeUndefined()
  })
})

function emptyTimeline(shape: RunSummary['shape']) {
  const parameters = {} as RunSummary['parameters']
  return { parameters, shape, timesteps: [], alphaBars: [], frames: [], forkPoints: [], bytes: 0 }
}

describe('storableForkPoints', () => {
  it('keeps fork points of plain numbers, and none where any holds arrays JSON would turn into objects', () => {
    const plain = [
      { timestep: 999, skipDraws: 0 },
      { timestep: 899, sigma: 2.5, skipDraws: 1 },
    ]
    expect(JSON.parse(JSON.stringify(storableForkPoints(plain)))).toEqual(plain)
    const x = new Float32Array(4)
    expect(JSON.parse(JSON.stringify(x))).not.toBeInstanceOf(Float32Array)
    for (const holding of [{ selfCondition: x }, { apgMomentum: x }, { state: { kind: 'lms', derivatives: [x] } }])
      expect(storableForkPoints([plain[0], { ...plain[1], ...holding } as (typeof plain)[1]])).toBeNull()
  })
})
