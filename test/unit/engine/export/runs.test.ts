/** Every export file of a kept run (src-main/engine/export/runs.ts): scale, labelled sheets, cancelled runs. */
import { describe, expect, it } from 'vitest'

import { EngineError } from '../../../../src-main/engine/errors'
import { decodeGifFrames } from '../../../../src-main/engine/export/gif'
import { toByte } from '../../../../src-main/engine/export/pixels'
import { pngChunks, readPngText } from '../../../../src-main/engine/export/png'
import { decodePng, readStepwiseParameters } from '../../../../src-main/engine/export/png'
import { encodeExport } from '../../../../src-main/engine/export/runs'
import type { Timeline } from '../../../../src-main/engine/timeline'
import { exportRequest } from '../../../../src-preload/contract'
import { DEFAULT_SAMPLER, DEFAULT_SCHEDULE } from '../../../../src-shared/parameters'

const shape = { batch: 2, channels: 1, height: 4, width: 4 }
const per = 16

/** A run of `steps` steps whose image k is filled with level k / 2 (x_t) and its final sample -0.5 + k. */
function timeline(steps: number, finished = true, classLabel?: number): Timeline {
  const frame = (i: number) => ({
    sample: new Float32Array(2 * per).map((_, j) => (j < per ? 0 : 0.5) - i / steps),
    predictedX0: new Float32Array(2 * per).fill(0),
  })
  return {
    parameters: {
      model: 'tiny',
      sampler: { ...DEFAULT_SAMPLER, steps },
      schedule: DEFAULT_SCHEDULE,
      seed: 40,
      height: 4,
      width: 4,
      ...(classLabel !== undefined && { classLabel }),
    },
    shape,
    timesteps: Array.from({ length: steps }, (_, i) => steps - 1 - i),
    forkPoints: [],
    alphaBars: Array.from({ length: steps }, (_, i) => (i + 1) / (steps + 1)),
    frames: Array.from({ length: steps }, (_, i) => frame(i)),
    ...(finished && { samples: new Float32Array(2 * per).map((_, j) => (j < per ? -0.5 : 0.5)) }),
    bytes: 0,
  }
}

const decode = (bytes: Uint8Array) => decodePng(bytes)

describe('export scale', () => {
  it('a PNG is 1x by default and scale x scale blocks when asked, its parameters kept', () => {
    const [plain] = encodeExport([timeline(3)], { runId: 'r', kind: 'png', index: 1 })
    const [big] = encodeExport([timeline(3)], { runId: 'r', kind: 'png', index: 1, scale: 8 })
    expect([decode(plain.bytes).width, decode(big.bytes).width, decode(big.bytes).height]).toEqual([4, 32, 32])
    const img = decode(big.bytes)
    // Nearest neighbour: every pixel of the block has the source's value (0.5 -> 191).
    expect(new Set(img.data)).toEqual(new Set([191]))
    expect(readStepwiseParameters(big.bytes, big.name)).toMatchObject({ seed: 41 })
    expect(big.name).toBe('seed-41.png')
  })

  it('a GIF takes the scale asked for, or its own default (long side at least 256 px)', () => {
    const [own] = encodeExport([timeline(3)], { runId: 'r', kind: 'gif', index: 0 })
    const [two] = encodeExport([timeline(3)], { runId: 'r', kind: 'gif', index: 0, scale: 2 })
    expect(decodeGifFrames(own.bytes)[0].width).toBe(256)
    expect(decodeGifFrames(two.bytes)[0].width).toBe(8)
  })

  it('the contract takes scales 1 to 16 only', () => {
    expect(exportRequest.safeParse({ runId: 'r', kind: 'png', scale: 16 }).success).toBe(true)
    for (const scale of [0, 17, 2.5])
      expect(exportRequest.safeParse({ runId: 'r', kind: 'png', scale }).success).toBe(false)
  })
})

describe('contact sheet of a batch', () => {
  /** Rows of the sheet holding any black (text) pixel. */
  const inkRows = (bytes: Uint8Array) => {
    const img = decode(bytes)
    const rows = new Set<number>()
    for (let y = 0; y < img.height; y++)
      for (let x = 0; x < img.width; x++) if (img.data[(y * img.width + x) * img.channels] === 0) rows.add(y)
    return rows
  }

  it('is labelled: a title line with the class, a caption with the seed above each cell', () => {
    const [conditional] = encodeExport([timeline(3, true, 7)], { runId: 'r', kind: 'sheet', scale: 30 })
    const [unlabelled] = encodeExport([timeline(3, true, 7)], { runId: 'r', kind: 'png', scale: 30 })
    const sheet = decode(conditional.bytes)
    // Two cells of 120 px side by side, plus two text lines (title, captions) above them.
    expect(sheet.width).toBeGreaterThanOrEqual(2 * 120)
    expect(sheet.height).toBeGreaterThan(decode(unlabelled.bytes).height + 2 * 7)
    expect(inkRows(conditional.bytes).size).toBeGreaterThanOrEqual(14) // two lines of 7 px glyphs
    const [uncond] = encodeExport([timeline(3)], { runId: 'r', kind: 'sheet', scale: 30 })
    // "class 7" and "uncond." differ: the title says which.
    expect(decode(uncond.bytes).data).not.toEqual(sheet.data)
  })

  it('never goes below the scale its captions need', () => {
    const [tiny] = encodeExport([timeline(3)], { runId: 'r', kind: 'sheet', scale: 1 })
    // "seed 41" is 7 glyphs of 6 px: a 4 px image needs scale 11 for it.
    expect(decode(tiny.bytes).width).toBeGreaterThanOrEqual(2 * 44)
  })
})

describe('steps sheet', () => {
  /** How many pixels of the sheet hold each gray level. */
  const levels = (bytes: Uint8Array) => {
    const counts = new Map<number, number>()
    for (const v of decode(bytes).data) counts.set(v, (counts.get(v) ?? 0) + 1)
    return counts
  }

  it("lays out image k's x_t, predicted x0 and predicted noise, a column a step, a cell each", () => {
    const run = timeline(3)
    const [file] = encodeExport([run], { runId: 'r', kind: 'steps-sheet', index: 1 })
    expect(file.name).toBe('steps-seed-41.png')
    expect(readStepwiseParameters(file.bytes, file.name)).toMatchObject({ seed: 41 })
    // Cells of 4 px enlarged to 64: each of the 9 holds one level, 64 x 64 pixels of it.
    const cell = 64 * 64
    const counts = levels(file.bytes)
    const want = new Map<number, number>()
    const add = (v: number) => want.set(toByte(v), (want.get(toByte(v)) ?? 0) + cell)
    for (let i = 0; i < 3; i++) {
      const xt = 0.5 - i / 3
      add(xt)
      add(0) // predicted x0
      // Its noise, (x_t - sqrt(ab) x0) / sqrt(1 - ab), shown over -3..3.
      add(xt / Math.sqrt(1 - run.alphaBars[i]) / 3)
    }
    for (const [v, n] of want) expect(counts.get(v)).toBe(n)
  })

  it('takes 10 steps by default (first and last in), gifFrames or every gifEvery-th; a file an image', () => {
    // x_t of step i 0.6 + 0.35 i / 20 (levels 204-249, one a step), x0 0.4 (179), alpha_bar 0.5: its noise
    // 0.15-0.31 (147-168). So the x_t levels present are the columns.
    const run = timeline(20)
    run.alphaBars = Array(20).fill(0.5)
    run.frames = run.frames.map((_, i) => ({
      sample: new Float32Array(2 * per).fill(0.6 + (0.35 * i) / 20),
      predictedX0: new Float32Array(2 * per).fill(0.4),
    }))
    const columns = (req: object) => {
      const [file] = encodeExport([run], { runId: 'r', kind: 'steps-sheet', index: 0, ...req })
      return [...levels(file.bytes).keys()].filter((v) => v >= 200 && v < 255).length
    }
    expect(columns({})).toBe(10)
    expect(columns({ gifFrames: 4 })).toBe(4)
    expect(columns({ gifEvery: 8 })).toBe(4) // 0, 8, 16, and the last, 19
    expect(columns({ gifFrames: 50 })).toBe(20)
    const all = encodeExport([timeline(3)], { runId: 'r', kind: 'steps-sheet' })
    expect(all.map((f) => f.name)).toEqual(['steps-seed-40.png', 'steps-seed-41.png'])
  })

  it("a cancelled run's steps make one; a run without steps has none", () => {
    expect(encodeExport([timeline(5, false)], { runId: 'r', kind: 'steps-sheet', index: 0 })).toHaveLength(1)
    expect(() => encodeExport([timeline(0, false)], { runId: 'r', kind: 'steps-sheet' })).toThrow(/no steps/)
  })
})

describe('a cancelled run', () => {
  it('exports a GIF of the steps it made, ending at its last step', () => {
    const cancelled = timeline(5, false)
    const [gif] = encodeExport([cancelled], { runId: 'r', kind: 'gif', index: 0, scale: 1, gifFrames: 5 })
    const frames = decodeGifFrames(gif.bytes)
    expect(frames).toHaveLength(5)
    const finishedGif = decodeGifFrames(
      encodeExport([timeline(5)], { runId: 'r', kind: 'gif', index: 0, scale: 1, gifFrames: 6 })[0].bytes,
    )
    // The same steps; only the finished run has its final sample last.
    expect(frames[4].data).toEqual(finishedGif[4].data)
    expect(frames[4].data).not.toEqual(finishedGif[5].data)
  })

  it('exports an APNG of the same frames as its GIF, exact, with its parameters and a .apng.png name', () => {
    const cancelled = timeline(5, false)
    const req = { runId: 'r', index: 0, scale: 1, gifFrames: 5 } as const
    const [gif] = encodeExport([cancelled], { ...req, kind: 'gif' })
    const [apng] = encodeExport([cancelled], { ...req, kind: 'apng' })
    expect(apng.name).toBe(`denoising-xt-seed-${cancelled.parameters.seed}.apng.png`)
    const chunks = [...pngChunks(apng.bytes, apng.name)]
    expect(chunks.filter((c) => c.type === 'fcTL')).toHaveLength(5)
    // The still image is the last frame, as the GIF's last (gray: the GIF's palette keeps it exact).
    const still = decode(apng.bytes)
    const last = decodeGifFrames(gif.bytes)[4]
    expect([...still.data]).toEqual([...last.data].filter((_, i) => i % 4 === 0))
    expect(JSON.parse(readPngText(apng.bytes, apng.name).stepwise)).toMatchObject({ seed: cancelled.parameters.seed })
  })

  it('has no PNG or sheet (no final samples), and a run without steps has no GIF', () => {
    expect(() => encodeExport([timeline(5, false)], { runId: 'r', kind: 'png' })).toThrow(/has not finished/)
    expect(() => encodeExport([timeline(5, false)], { runId: 'r', kind: 'sheet' })).toThrow(EngineError)
    expect(() => encodeExport([timeline(0, false)], { runId: 'r', kind: 'gif' })).toThrow(/no steps/)
  })
})
