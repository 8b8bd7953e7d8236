/**
 * The files made from runs the engine holds: PNGs named by seed with their parameters, the contact
 * sheet, the denoising GIF, and comparisons of runs side by side (one shared scrubber: frames aligned by
 * fraction of each run).
 */
import type { ExportRequest } from '../../src-preload/contract'
import { EngineError } from '../engine/errors'
import { textWidth } from '../engine/export/font'
import { encodeGif, selectFrames } from '../engine/export/gif'
import type { Pixels } from '../engine/export/pixels'
import { encodePng } from '../engine/export/png'
import { contactSheet, encodeSheetPng } from '../engine/export/sheet'
import { tileBatch } from '../engine/export/tile'
import { type GenerationParameters, summarize } from '../engine/parameters'
import { imageOf, type PlanarImage, type Shape4 } from '../engine/tensor'

/** A run the engine holds: its parameters (image k has seed + k) and its timeline. */
export interface HeldRun {
  parameters: GenerationParameters
  shape: Shape4
  /** x_t entering each step and the predicted x0 of each step (a fork's begin with its parent's). */
  frames: { sample: Float32Array; predictedX0: Float32Array }[]
  samples?: Float32Array
  /** Bytes of the frames this run computed itself (a fork shares its parent's first frames). */
  bytes: number
  /** The model it was made with (forks must use the same). */
  modelKey: string
  /** Every step's timestep, and its alpha_bar (a fork's first ones are its parent's, on the parent's schedule). */
  timesteps: number[]
  alphaBars: number[]
}

export interface EncodedFile {
  name: string
  bytes: Uint8Array
}

const bad = (message: string) => new EngineError('bad-argument', message)

/** Frames evenly spread over a run: the frame at fraction j / (count - 1) of it, the final sample last. */
export function framesByFraction<T>(frames: T[], count: number): T[] {
  return Array.from({ length: count }, (_, j) => frames[Math.round((j * (frames.length - 1)) / Math.max(1, count - 1))])
}

/**
 * Labels for runs side by side: sampler and steps always, then only what differs between them (eta,
 * schedule, spacing, guidance), so labels stay short enough for small images.
 */
export function compareLabels(runs: GenerationParameters[]): string[] {
  const differs = (f: (p: GenerationParameters) => unknown) => runs.length === 1 || new Set(runs.map(f)).size > 1
  const ddimEtas = new Set(runs.filter((p) => p.sampler.sampler === 'ddim').map((p) => p.sampler.eta))
  return runs.map((p) => {
    const parts = [`${p.sampler.sampler} ${p.sampler.steps}`]
    // eta where it says something: a stochastic DDIM, or DDIM runs that differ in it.
    if (p.sampler.sampler === 'ddim' && (p.sampler.eta > 0 || ddimEtas.size > 1)) parts.push(`eta ${p.sampler.eta}`)
    if (differs((q) => q.schedule.schedule)) parts.push(p.schedule.schedule)
    if (differs((q) => q.sampler.timestepSpacing) && runs.length > 1) parts.push(p.sampler.timestepSpacing)
    if (differs((q) => q.guidance) && p.guidance !== undefined) parts.push(`g ${p.guidance}`)
    return parts.join(' ')
  })
}

/** 8-bit interleaved pixels back to planar floats (exactly: toByte(v / 127.5 - 1) = v). */
function planarOf(img: Pixels): PlanarImage {
  const { channels, height, width, pixels } = img
  const data = new Float32Array(pixels.length)
  for (let i = 0; i < height * width; i++)
    for (let c = 0; c < channels; c++) data[c * height * width + i] = pixels[i * channels + c] / 127.5 - 1
  return { channels, height, width, data }
}

const finished = (run: HeldRun, id: string): Float32Array => {
  if (!run.samples) throw bad(`export: run ${id} has not finished (cancelled or still sampling)`)
  return run.samples
}

/** The files one export request makes. `runs` are the request's run, then those of `with`. */
export function encodeExport(runs: HeldRun[], req: ExportRequest): EncodedFile[] {
  const [run] = runs
  const { parameters: p, shape } = run
  const samples = finished(run, req.runId)
  if (req.index !== undefined && req.index >= shape.batch)
    throw bad(`export: index ${req.index} is outside the batch of ${shape.batch}`)
  const paramsOf = (k: number): GenerationParameters => ({ ...p, seed: p.seed + k })
  const meta = (q: GenerationParameters & { batch?: number }) => ({ parameters: summarize(q), stepwise: q })
  const indices = req.index === undefined ? Array.from({ length: shape.batch }, (_, k) => k) : [req.index]
  const what = req.gifOf === 'x0' ? 'x0' : 'xt'
  const viewOf = (f: HeldRun['frames'][number]) => (req.gifOf === 'x0' ? f.predictedX0 : f.sample)
  switch (req.kind) {
    case 'png':
      return indices.map((k) => ({
        name: `seed-${p.seed + k}.png`,
        bytes: encodePng(imageOf(samples, shape, k), meta(paramsOf(k))),
      }))
    case 'sheet': {
      const images = indices.map((k) => imageOf(samples, shape, k))
      const sheet = contactSheet(images, { scale: Math.max(1, Math.ceil(96 / shape.width)) })
      return [{ name: `sheet-seed-${p.seed}.png`, bytes: encodeSheetPng(sheet, meta({ ...p, batch: shape.batch })) }]
    }
    case 'gif': {
      // The final sample closes the animation (held by encodeGif).
      const picked = selectFrames([...run.frames.map(viewOf), samples], { count: req.gifFrames })
      const image = (x: Float32Array): PlanarImage =>
        req.index === undefined ? tileBatch(x, shape) : imageOf(x, shape, req.index)
      const name =
        req.index === undefined
          ? `denoising-${what}-seed-${p.seed}-batch.gif`
          : `denoising-${what}-seed-${p.seed + req.index}.gif`
      return [{ name, bytes: encodeGif(picked.map(image), { delayMs: req.gifDelayMs }) }]
    }
    case 'grid-sheet': {
      // Rows: the runs (a class each); columns: the images of each batch (seed + k), all the same size.
      runs.forEach((r, i) => {
        finished(r, i === 0 ? req.runId : req.with![i - 1])
        if (
          r.shape.batch !== shape.batch ||
          r.shape.channels !== shape.channels ||
          r.shape.height !== shape.height ||
          r.shape.width !== shape.width
        ) {
          throw bad('export: a grid needs runs of the same batch and image size')
        }
      })
      const rowLabels =
        req.rowLabels ??
        runs.map((r) => (r.parameters.classLabel === undefined ? 'uncond.' : `class ${r.parameters.classLabel}`))
      const columnLabels = Array.from({ length: shape.batch }, (_, k) => `seed ${p.seed + k}`)
      const images = runs.flatMap((r) => Array.from({ length: shape.batch }, (_, k) => imageOf(r.samples!, r.shape, k)))
      const scale = Math.max(
        1,
        Math.ceil(64 / shape.width),
        Math.ceil((textWidth(columnLabels.at(-1)!, 1) + 4) / shape.width),
      )
      const sheet = contactSheet(images, { columns: shape.batch, rowLabels, columnLabels, scale, labelScale: 1 })
      const stepwise = { grid: runs.map((r) => r.parameters), rows: rowLabels }
      return [
        {
          name: `grid-seed-${p.seed}.png`,
          bytes: encodeSheetPng(sheet, {
            parameters: `grid: ${rowLabels.length} rows x ${shape.batch} seeds from ${p.seed}, ${compareLabels([p])[0]}`,
            stepwise,
          }),
        },
      ]
    }
    case 'compare-sheet':
    case 'compare-gif': {
      if (runs.length < 2) throw bad('export: a comparison needs at least two runs (runId and with)')
      const k = req.index ?? 0
      runs.forEach((r, i) => {
        finished(r, i === 0 ? req.runId : req.with![i - 1])
        if (k >= r.shape.batch) throw bad(`export: index ${k} is outside the batch of ${r.shape.batch}`)
        if (r.shape.channels !== shape.channels || r.shape.height !== shape.height || r.shape.width !== shape.width) {
          throw bad('export: the runs compared have images of different sizes')
        }
      })
      const labels = compareLabels(runs.map((r) => r.parameters))
      // Cells wide enough for their labels at the smallest text size, and at least 96 px.
      const labelScale = 1
      const scale = Math.max(
        1,
        Math.ceil(96 / shape.width),
        ...labels.map((l) => Math.ceil((textWidth(l, labelScale) + 4) / shape.width)),
      )
      if (req.kind === 'compare-sheet') {
        const sheet = contactSheet(
          runs.map((r) => imageOf(r.samples!, r.shape, k)),
          { columns: runs.length, columnLabels: labels, scale, labelScale },
        )
        const stepwise = { compare: runs.map((r) => ({ ...r.parameters, seed: r.parameters.seed + k })) }
        return [
          {
            name: `compare-seed-${p.seed + k}.png`,
            bytes: encodeSheetPng(sheet, {
              parameters: `compare: ${labels.join(' | ')}, seed: ${p.seed + k}`,
              stepwise,
            }),
          },
        ]
      }
      // One shared scrubber: frame j shows every run at the same fraction of its own steps.
      const count = req.gifFrames ?? Math.min(60, Math.max(...runs.map((r) => r.frames.length + 1)))
      const perRun = runs.map((r) => framesByFraction([...r.frames.map(viewOf), r.samples!], count))
      const frames = Array.from({ length: count }, (_, j) => {
        const sheet = contactSheet(
          perRun.map((fs, i) => imageOf(fs[j], runs[i].shape, k)),
          { columns: runs.length, columnLabels: labels, scale, labelScale },
        )
        return planarOf(sheet)
      })
      return [
        {
          name: `compare-${what}-seed-${p.seed + k}.gif`,
          bytes: encodeGif(frames, { delayMs: req.gifDelayMs, scale: 1 }),
        },
      ]
    }
  }
}
