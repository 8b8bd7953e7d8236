/**
 * The files made from kept runs (timelines): PNGs named by seed with their parameters, the contact sheet,
 * the denoising GIF, comparisons of runs side by side (one shared scrubber: frames aligned by fraction of
 * each run) and class x seed grids. The CLI and the app's export both make their files here.
 */
import type { ExportRequest } from '../../../src-shared/exports'
import { DEFAULT_GIF_FRAMES, DEFAULT_SHEET_COLUMNS } from '../../../src-shared/limits'
import { NOISE_RANGE, noiseFromX0 } from '../../../src-shared/noise'
import {
  batchSeedName,
  compareLabels,
  type GenerationParameters,
  imageParameters,
  imageSeedName,
  imageSeedText,
  summarize,
} from '../../../src-shared/parameters'
import { EngineError } from '../errors'
import { imageOf, type PlanarImage } from '../tensor'
import type { Timeline } from '../timeline'
import { encodeApng } from './apng'
import { textWidth } from './font'
import { encodeGif, selectFrames } from './gif'
import type { Pixels } from './pixels'
import { encodePng } from './png'
import { contactSheet, encodeSheetPng } from './sheet'
import { tileBatch } from './tile'

export interface EncodedFile {
  name: string
  bytes: Uint8Array
}

/** Sheet cells are enlarged (nearest neighbour) to at least this many pixels wide. */
const SHEET_CELL_MIN_PX = 96
/** Grid cells at least this wide (and wide enough for their seed label). */
const GRID_CELL_MIN_PX = 64
/** A steps sheet's cells at least this wide (and wide enough for their timestep). */
const STEPS_CELL_MIN_PX = 64

const bad = (message: string) => new EngineError('bad-argument', message)

/** Frames evenly spread over a run: the frame at fraction j / (count - 1) of it, the final sample last. */
export function framesByFraction<T>(frames: T[], count: number): T[] {
  return Array.from({ length: count }, (_, j) => frames[Math.round((j * (frames.length - 1)) / Math.max(1, count - 1))])
}

/** 8-bit interleaved pixels back to planar floats (exactly: toByte(v / 127.5 - 1) = v). */
function planarOf(img: Pixels): PlanarImage {
  const { channels, height, width, pixels } = img
  const data = new Float32Array(pixels.length)
  for (let i = 0; i < height * width; i++)
    for (let c = 0; c < channels; c++) data[c * height * width + i] = pixels[i * channels + c] / 127.5 - 1
  return { channels, height, width, data }
}

/**
 * The names of the files a request makes from a run with these parameters and batch, known before the run
 * exists (the CLI refuses to overwrite before it samples).
 */
export function exportFileNames(req: Omit<ExportRequest, 'runId'>, p: GenerationParameters, batch: number): string[] {
  const what = req.gifOf ?? 'xt'
  const k = req.index ?? 0
  // Image k's seed(s) name its files; a whole batch's files are named by its first image's, a walk's by its ends.
  const seedOf = (i: number) => imageSeedName(p, i, batch)
  const all = batchSeedName(p, batch)
  switch (req.kind) {
    case 'png':
      return (req.index === undefined ? Array.from({ length: batch }, (_, i) => i) : [req.index]).map(
        (i) => `${seedOf(i)}.png`,
      )
    case 'sheet':
      return [`sheet-${all}.png`]
    case 'gif':
      return [req.index === undefined ? `denoising-${what}-${all}-batch.gif` : `denoising-${what}-${seedOf(k)}.gif`]
    case 'apng':
      // .png: a viewer without APNG shows the final sample (the default image), not noise.
      return [
        req.index === undefined ? `denoising-${what}-${all}-batch.apng.png` : `denoising-${what}-${seedOf(k)}.apng.png`,
      ]
    case 'walk-gif':
      return [`walk-${all}.gif`]
    case 'steps-sheet':
      return (req.index === undefined ? Array.from({ length: batch }, (_, i) => i) : [req.index]).map(
        (i) => `steps-${seedOf(i)}.png`,
      )
    case 'grid-sheet':
      return [`grid-${all}.png`]
    case 'compare-sheet':
      return [`compare-${seedOf(k)}.png`]
    case 'compare-gif':
      return [`compare-${what}-${seedOf(k)}.gif`]
  }
}

const finished = (run: Timeline, id: string): Float32Array => {
  if (!run.samples) throw bad(`export: run ${id} has not finished (cancelled or still sampling)`)
  return run.samples
}

/** The class of a run as sheets label it (the grid's default row labels too). */
const classText = (p: GenerationParameters) => (p.classLabel === undefined ? 'uncond.' : `class ${p.classLabel}`)

/** The scale asked for, or the least that makes an image `minPx` wide. */
const scaleOr = (req: ExportRequest, width: number, minPx: number) => req.scale ?? Math.max(1, Math.ceil(minPx / width))

/** The least scale that fits `labels` (in the 1x font) over cells of this width. */
const labelScale = (labels: string[], width: number) =>
  Math.max(1, ...labels.map((l) => Math.ceil((textWidth(l, 1) + 4) / width)))

/** Which frames a GIF shows: `gifEvery`-th, or `gifFrames` (default DEFAULT_GIF_FRAMES) evenly spread. */
const gifPick = <T>(frames: T[], req: ExportRequest): T[] =>
  selectFrames(frames, {
    every: req.gifEvery,
    count: req.gifFrames ?? (req.gifEvery ? undefined : DEFAULT_GIF_FRAMES),
  })

/** The files one export request makes. `runs` are the request's run, then those of `with`. */
export function encodeExport(runs: Timeline[], req: ExportRequest): EncodedFile[] {
  const [run] = runs
  const { parameters: p, shape } = run
  // A cancelled run's steps still make a GIF, an APNG or a steps sheet; everything else needs the final samples.
  const ofSteps = req.kind === 'gif' || req.kind === 'apng' || req.kind === 'steps-sheet'
  if (ofSteps && !run.samples && run.frames.length === 0) throw bad(`export: run ${req.runId} has no steps yet`)
  const samples = ofSteps && !run.samples ? null : finished(run, req.runId)
  if (req.index !== undefined && req.index >= shape.batch) {
    throw bad(`export: index ${req.index} is outside the batch of ${shape.batch}`)
  }
  const names = exportFileNames(req, p, shape.batch)
  const paramsOf = (k: number): GenerationParameters => imageParameters(p, k, shape.batch)
  const meta = (q: GenerationParameters & { batch?: number }) => ({ parameters: summarize(q), stepwise: q })
  const viewOf = (f: Timeline['frames'][number]) => (req.gifOf === 'x0' ? f.predictedX0 : f.sample)
  const idOf = (i: number) => (i === 0 ? req.runId : req.with![i - 1])
  const indices = req.index === undefined ? Array.from({ length: shape.batch }, (_, k) => k) : [req.index]
  switch (req.kind) {
    case 'png':
      return indices.map((k, i) => ({
        name: names[i],
        bytes: encodePng(imageOf(samples!, shape, k), meta(paramsOf(k)), { scale: req.scale ?? 1 }),
      }))
    case 'sheet': {
      // Each cell captioned with its seed; the class (and sampler) on top.
      const images = indices.map((k) => imageOf(samples!, shape, k))
      const cellLabels = indices.map((k) => imageSeedText(p, k, shape.batch))
      const variation = p.variation ? `, ${p.variation.walk ? 'walk' : 'variation'} ${p.variation.strength}` : ''
      const title = `${classText(p)}, ${compareLabels([p])[0]}${variation}`
      const scale = Math.max(scaleOr(req, shape.width, SHEET_CELL_MIN_PX), labelScale(cellLabels, shape.width))
      const sheet = contactSheet(images, { scale, cellLabels, title, labelScale: 1 })
      return [{ name: names[0], bytes: encodeSheetPng(sheet, meta({ ...p, batch: shape.batch })) }]
    }
    case 'gif':
    case 'apng': {
      // The final sample closes the animation (held last); a cancelled run ends at its last step.
      const picked = gifPick([...run.frames.map(viewOf), ...(samples ? [samples] : [])], req)
      const image = (x: Float32Array): PlanarImage =>
        req.index === undefined ? tileBatch(x, shape) : imageOf(x, shape, req.index)
      const options = { delayMs: req.gifDelayMs, scale: req.scale }
      const k = req.index ?? 0
      const bytes =
        req.kind === 'gif'
          ? encodeGif(picked.map(image), options)
          : encodeApng(
              picked.map(image),
              options,
              meta(req.index === undefined ? { ...p, batch: shape.batch } : paramsOf(k)),
            )
      return [{ name: names[0], bytes }]
    }
    case 'steps-sheet': {
      // One image's denoising on one PNG, as papers show it: a column a step (its timestep above), rows x_t,
      // the predicted x0 and the predicted noise (over NOISE_RANGE, as the app shows it).
      const steps = selectFrames([...run.frames.keys()], {
        every: req.gifEvery,
        count: req.gifFrames ?? (req.gifEvery ? undefined : DEFAULT_SHEET_COLUMNS),
      })
      const [lo, hi] = NOISE_RANGE
      const columnLabels = steps.map((i) => `t=${+run.timesteps[i].toFixed(1)}`)
      const rowLabels = ['x_t', 'pred x0', 'pred eps']
      const scale = Math.max(scaleOr(req, shape.width, STEPS_CELL_MIN_PX), labelScale(columnLabels, shape.width))
      return indices.map((k, n) => {
        const xt = steps.map((i) => imageOf(run.frames[i].sample, shape, k))
        const x0 = steps.map((i) => imageOf(run.frames[i].predictedX0, shape, k))
        const eps = steps.map((i, j) => {
          const noise = noiseFromX0(xt[j].data, x0[j].data, run.alphaBars[i])
          return { ...xt[j], data: noise.map((v) => (2 * (v - lo)) / (hi - lo) - 1) }
        })
        const title = `${imageSeedText(p, k, shape.batch)}, ${classText(p)}, ${compareLabels([p])[0]}`
        const sheet = contactSheet([...xt, ...x0, ...eps], {
          columns: steps.length,
          rowLabels,
          columnLabels,
          title,
          scale,
          labelScale: 1,
        })
        return { name: names[n], bytes: encodeSheetPng(sheet, meta(paramsOf(k))) }
      })
    }
    case 'walk-gif': {
      // The walk's images one a frame, there and back, so that it loops without a jump.
      if (!p.variation?.walk) throw bad(`export: run ${req.runId} is no walk (a variation with walk on)`)
      const images = Array.from({ length: shape.batch }, (_, k) => imageOf(samples!, shape, k))
      const loop = [...images, ...images.slice(1, -1).reverse()]
      return [{ name: names[0], bytes: encodeGif(loop, { delayMs: req.gifDelayMs, scale: req.scale }) }]
    }
    case 'grid-sheet': {
      // Rows: the runs (a class each); columns: the images of each batch (seed + k or var + k), all the same size.
      runs.forEach((r, i) => {
        finished(r, idOf(i))
        if (
          r.shape.batch !== shape.batch ||
          r.shape.channels !== shape.channels ||
          r.shape.height !== shape.height ||
          r.shape.width !== shape.width
        ) {
          throw bad('export: a grid needs runs of the same batch and image size')
        }
      })
      const rowLabels = req.rowLabels ?? runs.map((r) => classText(r.parameters))
      const columnLabels = Array.from({ length: shape.batch }, (_, k) => imageSeedText(p, k, shape.batch))
      const images = runs.flatMap((r) => Array.from({ length: shape.batch }, (_, k) => imageOf(r.samples!, r.shape, k)))
      const scale = Math.max(Math.ceil(GRID_CELL_MIN_PX / shape.width), labelScale(columnLabels, shape.width))
      const sheet = contactSheet(images, { columns: shape.batch, rowLabels, columnLabels, scale, labelScale: 1 })
      const stepwise = { grid: runs.map((r) => r.parameters), rows: rowLabels }
      const v = p.variation
      const columns = !v
        ? `seeds from ${p.seed}`
        : v.walk
          ? `a walk from seed ${p.seed} to ${v.seed} (strength ${v.strength})`
          : `variations of seed ${p.seed} (strength ${v.strength}) from var ${v.seed}`
      const parameters = `grid: ${rowLabels.length} rows x ${shape.batch} ${columns}, ${compareLabels([p])[0]}`
      return [{ name: names[0], bytes: encodeSheetPng(sheet, { parameters, stepwise }) }]
    }
    case 'compare-sheet':
    case 'compare-gif': {
      if (runs.length < 2) throw bad('export: a comparison needs at least two runs (runId and with)')
      const k = req.index ?? 0
      runs.forEach((r, i) => {
        finished(r, idOf(i))
        if (k >= r.shape.batch) throw bad(`export: index ${k} is outside the batch of ${r.shape.batch}`)
        if (r.shape.channels !== shape.channels || r.shape.height !== shape.height || r.shape.width !== shape.width) {
          throw bad('export: the runs compared have images of different sizes')
        }
      })
      const labels = compareLabels(runs.map((r) => r.parameters))
      // Cells wide enough for their labels at the smallest text size, and at least SHEET_CELL_MIN_PX.
      const scale = Math.max(Math.ceil(SHEET_CELL_MIN_PX / shape.width), labelScale(labels, shape.width))
      const layout = { columns: runs.length, columnLabels: labels, scale, labelScale: 1 }
      if (req.kind === 'compare-sheet') {
        const sheet = contactSheet(
          runs.map((r) => imageOf(r.samples!, r.shape, k)),
          layout,
        )
        const stepwise = { compare: runs.map((r) => imageParameters(r.parameters, k, r.shape.batch)) }
        const q = imageParameters(p, k, shape.batch)
        const seeds = q.variation ? `seed: ${q.seed}, variation seed: ${q.variation.seed}` : `seed: ${q.seed}`
        const parameters = `compare: ${labels.join(' | ')}, ${seeds}`
        return [{ name: names[0], bytes: encodeSheetPng(sheet, { parameters, stepwise }) }]
      }
      // One shared scrubber: frame j shows every run at the same fraction of its own steps.
      const count = req.gifFrames ?? Math.min(DEFAULT_GIF_FRAMES, Math.max(...runs.map((r) => r.frames.length + 1)))
      const perRun = runs.map((r) => framesByFraction([...r.frames.map(viewOf), r.samples!], count))
      const frames = Array.from({ length: count }, (_, j) =>
        planarOf(
          contactSheet(
            perRun.map((fs, i) => imageOf(fs[j], runs[i].shape, k)),
            layout,
          ),
        ),
      )
      return [{ name: names[0], bytes: encodeGif(frames, { delayMs: req.gifDelayMs, scale: 1 }) }]
    }
  }
}
