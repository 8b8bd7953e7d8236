/** The class x seed grid (lib/grid.svelte.ts): one batch a class, the same seeds in every row. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { card, classCard, fail, floats, frameEvent, loadRenderer, ok, type Renderer, started } from './fake-api'

let r: Renderer
let stopListening: () => void

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
  stopListening = r.grid.listen()
})
afterEach(() => {
  stopListening()
  vi.useRealTimers()
})

const threeClasses = (nullClassId: number | null = 3) =>
  card({ classes: { names: ['cat', 'dog', 'a label longer than forty characters, cut'], nullClassId } })

/** sample.start answering run `row<classLabel>`, 4 steps. */
function answerStarts(refuse: number[] = []) {
  r.api.answer('sample.start', (req) =>
    refuse.includes(req.classLabel!)
      ? fail(`class ${req.classLabel} refused`)
      : ok(
          started(`row${req.classLabel}`, { steps: 4, shape: { batch: req.batch, channels: 1, height: 2, width: 2 } }),
        ),
  )
}

async function startGrid(c = threeClasses()) {
  r.parameters.adoptCard(c)
  Object.assign(r.parameters, { seed: 100, seedLocked: false, guidance: 4, batch: 9 })
  answerStarts()
  await r.grid.start(c, r.parameters)
}

describe('start', () => {
  it("samples one batch a class from the sidebar's seed (not redrawn), guided where a null class exists", async () => {
    r.grid.seeds = 3
    await startGrid()
    const requests = r.api.requests('sample.start')
    expect(requests.map((q) => [q.classLabel, q.batch, q.seed, q.guidance])).toEqual([
      [0, 3, 100, 4],
      [1, 3, 100, 4],
      [2, 3, 100, 4],
    ])
    expect(r.parameters.seed).toBe(100)
    expect(r.grid.noise?.seed).toBe(100)
    expect(r.grid.rows).toMatchObject([
      { classLabel: 0, name: 'cat', runId: 'row0', step: 0, total: 4, status: 'running', images: null },
      { classLabel: 1, name: 'dog', runId: 'row1' },
      { classLabel: 2, runId: 'row2' },
    ])
    expect(r.grid.running).toBe(true)
    // One group: the history shows the grid as one entry.
    expect(new Set(requests.map((q) => q.group?.id)).size).toBe(1)
    expect(r.history.entries.map((e) => [e.kind, e.runs.length])).toEqual([['grid', 3]])
  })

  it('sends no guidance for a model without a null class', async () => {
    await startGrid(threeClasses(null))
    r.api.requests('sample.start').forEach((q) => expect(q).not.toHaveProperty('guidance'))
  })

  it('keeps the seed count within 1..16 (emptied: 4)', async () => {
    for (const [asked, used] of [
      [40, 16],
      [0, 1],
      [2.4, 2],
      [NaN, 4],
    ]) {
      r.grid.rows = []
      r.grid.seeds = asked
      await startGrid()
      expect(r.grid.seeds).toBe(used)
      expect(r.api.requests('sample.start').at(-1)?.batch).toBe(used)
      r.api.calls.length = 0
    }
  })

  it('does nothing for an unconditional model, or while the grid runs', async () => {
    answerStarts()
    await r.grid.start(card(), r.parameters)
    expect(r.api.requests('sample.start')).toEqual([])
    await startGrid(classCard(10))
    await r.grid.start(classCard(10), r.parameters)
    expect(r.api.requests('sample.start')).toHaveLength(10)
  })

  it('a class the engine refuses is a toast and no row', async () => {
    r.parameters.adoptCard(threeClasses())
    answerStarts([1])
    await r.grid.start(threeClasses(), r.parameters)
    expect(r.grid.rows.map((x) => x.name)).toEqual(['cat', 'a label longer than forty characters, cut'])
    expect(r.toasts.items).toMatchObject([{ kind: 'error', message: 'class 1 refused' }])
  })
})

describe('following the rows', () => {
  beforeEach(() => startGrid())

  it('shows the newest predicted x0 of each row, then its samples; progress over all rows', () => {
    expect(r.grid.progress).toBe(0)
    r.api.emit('frame', frameEvent('row0', 0))
    r.api.emit('frame', frameEvent('row0', 1))
    r.api.emit('frame', frameEvent('row0', 2, 4, false)) // a step without its images: row 0 keeps step 1's
    r.api.emit('frame', frameEvent('row2', 0))
    expect(r.grid.rows.map((x) => x.step)).toEqual([0, 0, 0]) // applied at the next drawing
    r.grid.flush()
    expect(r.grid.rows.map((x) => x.step)).toEqual([3, 0, 1])
    expect(r.grid.rows[0].images?.[0]).toBe(1.5)
    expect(r.grid.progress).toBe(4 / 12)

    r.api.emit('done', { runId: 'row0', samples: floats(9), elapsedMs: 1 })
    expect(r.grid.rows[0]).toMatchObject({ status: 'done', step: 4 })
    expect(r.grid.rows[0].images?.[0]).toBe(9)
    expect(r.grid.progress).toBe(5 / 12)

    expect(r.grid.ready).toBe(false)
    r.api.emit('done', { runId: 'row1', samples: floats(9), elapsedMs: 1 })
    r.api.emit('done', { runId: 'row2', samples: floats(9), elapsedMs: 1 })
    expect(r.grid).toMatchObject({ ready: true, running: false, progress: 1 })
  })

  it('a failed row is marked and toasted, a cancelled one only marked', () => {
    r.api.emit('failed', { runId: 'row0', error: { code: 'runtime-error', message: 'boom' } })
    r.api.emit('failed', { runId: 'row1', error: { code: 'cancelled', message: 'cancelled' } })
    r.api.emit('failed', { runId: 'unrelated', error: { code: 'runtime-error', message: 'not ours' } })
    expect(r.grid.rows.map((x) => x.status)).toEqual(['failed', 'failed', 'running'])
    expect(r.toasts.items.map((t) => t.message)).toEqual(['boom'])
  })

  it('cancel stops the rows still running', async () => {
    r.api.emit('done', { runId: 'row1', samples: floats(9), elapsedMs: 1 })
    r.api.answer('sample.cancel', ok({ cancelled: true }))
    await r.grid.cancel()
    expect(r.api.requests('sample.cancel')).toEqual([{ runId: 'row0' }, { runId: 'row2' }])
  })

  it('saves one labelled sheet once every row is done', async () => {
    r.api.answer('export.save', ok({ paths: ['/out/grid.png'] }))
    await r.grid.save()
    expect(r.api.requests('export.save')).toEqual([])
    for (const id of ['row0', 'row1', 'row2']) r.api.emit('done', { runId: id, samples: floats(9), elapsedMs: 1 })
    await r.grid.save()
    expect(r.api.requests('export.save')).toEqual([
      {
        runId: 'row0',
        with: ['row1', 'row2'],
        kind: 'grid-sheet',
        rowLabels: ['cat', 'dog', 'a label longer than forty characters, cu'], // the contract's 40 at most
      },
    ])
    expect(r.toasts.items).toMatchObject([{ kind: 'info', message: 'Saved /out/grid.png' }])
    expect(r.grid.exporting).toBe(false)
  })
})
