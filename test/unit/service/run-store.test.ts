/**
 * The session's runs: frames past the memory budget spill to disk (finished, running, cancelled alike,
 * step by step) and come back unchanged; a run that cannot fit in memory plus disk is refused up front.
 */
import { afterAll, describe, expect, it } from 'vitest'

import { createHandlers, type Handlers } from '../../../src-main/service/handlers'
import { RunStore, timelineBytes } from '../../../src-main/service/run-store'
import type { Events, RunFrames, RunSummary, SampleStartRequest } from '../../../src-preload/contract'

/** Handlers with a frame budget, recording every frame sent and when each run ends. */
function session(frameBudgetBytes: number) {
  const frames = new Map<string, Events['frame'][]>()
  const ended = new Map<string, (event: string) => void>()
  const endings = new Map<string, Promise<string>>()
  let onFrame: (f: Events['frame']) => void = () => {}
  const handlers = createHandlers(
    (event, payload) => {
      if (event === 'frame') {
        const f = payload as Events['frame']
        frames.set(f.runId, [...(frames.get(f.runId) ?? []), f])
        onFrame(f)
      }
      if (event === 'done' || event === 'failed') ended.get((payload as { runId: string }).runId)?.(event)
    },
    { frameBudgetBytes },
  )
  /** Start a run; `end` resolves with 'done' or 'failed'. */
  const start = async (req: SampleStartRequest) => {
    const started = await handlers['sample.start'](req)
    // The run begins after the answer (setImmediate), so its end cannot be missed here.
    endings.set(started.runId, new Promise<string>((resolve) => ended.set(started.runId, resolve)))
    return { ...started, end: endings.get(started.runId)! }
  }
  /** The reopened timeline equals every frame sent while the run ran. */
  const expectWhole = async (runId: string, steps: number) => {
    const back: RunFrames = await handlers['runs.frames']({ runId })
    const sent = frames.get(runId)!
    expect(sent).toHaveLength(steps)
    expect(back.frames).toHaveLength(steps)
    back.frames.forEach((f, i) => {
      expect(new Float32Array(f.sample)).toEqual(new Float32Array(sent[i].sample))
      expect(new Float32Array(f.predictedX0)).toEqual(new Float32Array(sent[i].predictedX0))
    })
    return back
  }
  return { handlers, frames, start, expectWhole, setOnFrame: (f: typeof onFrame) => (onFrame = f) }
}

const opened: Handlers[] = []
afterAll(() => Promise.all(opened.map((h) => h.dispose())))
async function open(frameBudgetBytes: number) {
  const s = session(frameBudgetBytes)
  opened.push(s.handlers)
  await s.handlers['model.load']({ providers: ['cpu'] })
  return s
}

/** One image of the default model is 1x28x28. */
const bytesOf = (batch: number, steps: number) => timelineBytes({ batch, channels: 1, height: 28, width: 28 }, steps)

describe('the run store', () => {
  it('spills older runs past the budget and gives their timelines back unchanged', async () => {
    // A budget of one run and a half: every older run spills, the newest stays.
    const { handlers, frames, start, expectWhole } = await open(1.5 * bytesOf(2, 8))
    const run = async (seed: number) => {
      const r = await start({ sampler: { sampler: 'ddim', steps: 8 }, seed, batch: 2 })
      expect(await r.end).toBe('done')
      return r
    }
    const a = await run(1),
      b = await run(2),
      c = await run(3)
    const { runs, memoryBytes, budgetBytes } = await handlers['runs.list']({})
    expect(runs.map((r: RunSummary) => [r.runId, r.spilled, r.finished, r.steps])).toEqual([
      [a.runId, true, true, 8],
      [b.runId, true, true, 8],
      [c.runId, false, true, 8],
    ])
    expect(budgetBytes).toBe(1.5 * bytesOf(2, 8))
    expect(memoryBytes).toBe(runs[2].bytes)
    const back = await expectWhole(a.runId, 8)
    expect(back.timesteps).toEqual(a.timesteps)
    back.frames.forEach((f, i) => {
      const sent = frames.get(a.runId)![i]
      // The noise is recomputed from x_t and x0: equal to what was sent up to float32 rounding.
      const noise = new Float32Array(f.predictedNoise),
        sentNoise = new Float32Array(sent.predictedNoise)
      noise.forEach((v, j) => expect(v).toBeCloseTo(sentNoise[j], 2))
      expect(f.stats[0].noiseRms).toBeCloseTo(sent.stats[0].noiseRms, 3)
    })
    // Spilled runs still export and fork.
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

    // Deleted only when asked.
    expect(await handlers['runs.delete']({ runId: a.runId })).toEqual({ deleted: true })
    expect((await handlers['runs.list']({})).runs.map((r: RunSummary) => r.runId)).not.toContain(a.runId)
    await expect(handlers['runs.frames']({ runId: a.runId })).rejects.toThrow(/no run/)
    expect(await handlers['runs.delete']({ runId: a.runId })).toEqual({ deleted: false })
  })

  it('8 runs finishing together all come back whole, within the budget', async () => {
    const budget = 2 * bytesOf(1, 12)
    const { handlers, start, expectWhole } = await open(budget)
    const started = await Promise.all(
      Array.from({ length: 8 }, (_, k) => start({ sampler: { sampler: 'ddim', steps: 12 }, seed: k, batch: 1 })),
    )
    expect(await Promise.all(started.map((r) => r.end))).toEqual(Array(8).fill('done'))
    const { runs, memoryBytes } = await handlers['runs.list']({})
    expect(runs.map((r: RunSummary) => [r.steps, r.finished])).toEqual(Array(8).fill([12, true]))
    expect(memoryBytes).toBeLessThanOrEqual(budget)
    for (const r of started) {
      const back = await expectWhole(r.runId, 12)
      expect(new Float32Array(back.samples!)).toHaveLength(784)
    }
  })

  it('a running run past the budget spills step by step and reopens whole', async () => {
    // The budget holds 5 of the run's 30 steps (batch 2): the rest go to disk while it runs.
    const budget = bytesOf(2, 5)
    const { handlers, start, expectWhole, setOnFrame } = await open(budget)
    const seen: { steps: number; spilled: boolean; finished: boolean; memoryBytes: number }[] = []
    setOnFrame((f) => {
      if (f.index % 10 === 9)
        void handlers['runs.list']({}).then(({ runs, memoryBytes }) => seen.push({ ...pick(runs[0]), memoryBytes }))
    })
    const run = await start({ sampler: { sampler: 'ddim', steps: 30 }, seed: 4, batch: 2 })
    expect(await run.end).toBe('done')
    setOnFrame(() => {})
    expect(seen.length).toBeGreaterThanOrEqual(2)
    for (const s of seen) {
      expect(s).toMatchObject({ spilled: true, finished: false })
      // Near the budget (steps go on while a write is under way); without spilling it would be 6 budgets.
      expect(s.memoryBytes).toBeLessThanOrEqual(2 * budget)
    }
    const { runs, memoryBytes } = await handlers['runs.list']({})
    expect(pick(runs[0])).toEqual({ steps: 30, spilled: true, finished: true })
    expect(memoryBytes).toBeLessThanOrEqual(budget)
    const back = await expectWhole(run.runId, 30)
    expect(back.samples).not.toBeNull()
  })

  it('a cancelled run spills too, and reopens with the steps it made', async () => {
    const budget = 1.5 * bytesOf(2, 10)
    const { handlers, start, expectWhole, setOnFrame } = await open(budget)
    let cancel = () => {}
    setOnFrame((f) => f.index === 5 && cancel())
    const cancelled = await start({ sampler: { sampler: 'ddim', steps: 10 }, seed: 5, batch: 2 })
    cancel = () => void handlers['sample.cancel']({ runId: cancelled.runId })
    expect(await cancelled.end).toBe('failed')
    setOnFrame(() => {})
    const steps = (await handlers['runs.list']({})).runs[0].steps
    expect(steps).toBeGreaterThanOrEqual(6)
    // A later run takes the memory: the cancelled one, older, goes to disk.
    const next = await start({ sampler: { sampler: 'ddim', steps: 10 }, seed: 6, batch: 2 })
    expect(await next.end).toBe('done')
    const { runs, memoryBytes } = await handlers['runs.list']({})
    expect(runs.map(pick)).toEqual([
      { steps, spilled: true, finished: false },
      { steps: 10, spilled: false, finished: true },
    ])
    expect(memoryBytes).toBeLessThanOrEqual(budget)
    const back = await expectWhole(cancelled.runId, steps)
    expect(back.samples).toBeNull()
  })
})

describe('room for a run', () => {
  const shape = { batch: 4, channels: 3, height: 64, width: 64 }
  it('is refused up front, with the numbers, when memory plus free disk cannot hold it', async () => {
    const MiB = 1024 * 1024
    // 100 steps of 4 images 3x64x64: 4 x 12288 x 4 bytes x 201 = 37.7 MiB.
    expect(timelineBytes(shape, 100)).toBe(4 * 12288 * 4 * 201)
    const store = new RunStore(16 * MiB, async () => 10 * MiB)
    await expect(store.checkRoom(shape, 100, 'a run of 100 steps')).rejects.toMatchObject({
      code: 'bad-argument',
      message: expect.stringMatching(
        /^a run of 100 steps would keep 38 MiB of frames; with 0 MiB held or still coming from other runs, the 16 MiB memory budget and the 10 MiB free on the disk of .* cannot hold it/,
      ),
    })
    await expect(store.checkRoom(shape, 40, 'a run of 40 steps')).resolves.toBeUndefined()
    // A run still recording counts with what it will record.
    store.add('running', { ...emptyTimeline(shape), modelKey: 'm' }, 40)
    await expect(store.checkRoom(shape, 40, 'a second run')).rejects.toThrow(/with 16 MiB held or still coming/)
    store.dispose()
  })

  it('asks the disk for its free space', async () => {
    const store = new RunStore()
    await expect(
      store.checkRoom({ ...shape, batch: 64, height: 2048, width: 2048 }, 100_000, 'a huge run'),
    ).rejects.toThrow(/a huge run would keep \d+ MiB of frames; .* MiB free on the disk of /)
    await expect(store.checkRoom(shape, 10, 'a small run')).resolves.toBeUndefined()
  })
})

const pick = (r: RunSummary) => ({ steps: r.steps, spilled: r.spilled, finished: r.finished })

function emptyTimeline(shape: RunSummary['shape']) {
  const parameters = {} as RunSummary['parameters']
  return { parameters, shape, timesteps: [], alphaBars: [], frames: [], forkPoints: [], bytes: 0 }
}
