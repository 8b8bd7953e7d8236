/** The session's runs: frames past the memory budget spill to disk and come back unchanged. */
import { afterAll, describe, expect, it } from 'vitest'

import { createHandlers } from '../../../src-main/service/handlers'
import type { Events, RunFrames, RunSummary, SampleStarted } from '../../../src-preload/contract'

const frames = new Map<string, Events['frame'][]>()
const done = new Map<string, () => void>()
// A budget of one small run: every older run spills.
const handlers = createHandlers(
  (event, payload) => {
    if (event === 'frame') {
      const f = payload as Events['frame']
      frames.set(f.runId, [...(frames.get(f.runId) ?? []), f])
    }
    if (event === 'done' || event === 'failed') done.get((payload as { runId: string }).runId)?.()
  },
  { frameBudgetBytes: 100_000 },
)

afterAll(() => handlers.dispose())

async function run(seed: number): Promise<SampleStarted> {
  const started = await handlers['sample.start']({ sampler: { sampler: 'ddim', steps: 8 }, seed, batch: 2 })
  await new Promise<void>((resolve) => done.set(started.runId, resolve))
  return started
}

describe('the run store', () => {
  it('spills older runs past the budget and gives their timelines back unchanged', async () => {
    await handlers['model.load']({ providers: ['cpu'] })
    const a = await run(1),
      b = await run(2),
      c = await run(3)
    const { runs, memoryBytes, budgetBytes } = await handlers['runs.list']({})
    expect(runs.map((r: RunSummary) => [r.runId, r.spilled, r.finished, r.steps])).toEqual([
      [a.runId, true, true, 8],
      [b.runId, true, true, 8],
      [c.runId, false, true, 8],
    ])
    expect(budgetBytes).toBe(100_000)
    expect(memoryBytes).toBe(runs[2].bytes)
    const back: RunFrames = await handlers['runs.frames']({ runId: a.runId })
    expect(back.timesteps).toEqual(a.timesteps)
    back.frames.forEach((f, i) => {
      const sent = frames.get(a.runId)![i]
      expect(new Float32Array(f.sample)).toEqual(new Float32Array(sent.sample))
      expect(new Float32Array(f.predictedX0)).toEqual(new Float32Array(sent.predictedX0))
      // The noise is recomputed from x_t and x0: equal to what was sent up to float32 rounding.
      const noise = new Float32Array(f.predictedNoise),
        sentNoise = new Float32Array(sent.predictedNoise)
      noise.forEach((v, j) => expect(v).toBeCloseTo(sentNoise[j], 2))
      expect(f.stats[0].noiseRms).toBeCloseTo(sent.stats[0].noiseRms, 3)
    })
    // Spilled runs still export and fork.
    const files = await handlers['export.encode']({ runId: a.runId, kind: 'gif', index: 1, gifFrames: 4 })
    expect(files.files[0].name).toBe('denoising-xt-seed-2.gif')
    const fork = await handlers['sample.start']({
      sampler: { sampler: 'ddim', steps: 8 },
      seed: 0,
      batch: 1,
      fork: { runId: a.runId, step: 3 },
    })
    expect(fork).toMatchObject({ startStep: 3, shape: { batch: 2 } })
  })

  it('deletes a run only when asked', async () => {
    const { runs } = await handlers['runs.list']({})
    const spilled = runs.find((r: RunSummary) => r.spilled)!
    expect(await handlers['runs.delete']({ runId: spilled.runId })).toEqual({ deleted: true })
    expect((await handlers['runs.list']({})).runs.map((r: RunSummary) => r.runId)).not.toContain(spilled.runId)
    await expect(handlers['runs.frames']({ runId: spilled.runId })).rejects.toThrow(/no run/)
    expect(await handlers['runs.delete']({ runId: spilled.runId })).toEqual({ deleted: false })
  })
})
