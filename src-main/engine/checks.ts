/**
 * A request checked against the model where the two meet (the planner calls this before anything runs):
 * image sizes the graph can take and the machine can hold, seeds that stay exact, a steps offset inside
 * the schedule. Each refusal says what was asked and what the model allows.
 */
import { totalmem } from 'node:os'

import { MAX_IMAGE_SIDE, MODEL_BYTES_PER_PIXEL } from '../../src-shared/limits'
import type { Apg, SamplerConfig, Shape, Variation } from '../../src-shared/parameters'
import { EngineError } from './errors'

/** What the checks need to know of the model. */
export interface CheckedModel {
  name: string
  /** The height and width the graph fixes (undefined where a dimension is dynamic), and what dynamic ones are multiples of. */
  graph: { height?: number; width?: number; sizeMultiple?: number }
  /** The size it was trained at (from the graph, its metadata, or assumed). */
  trainedSize: { height: number; width: number }
  trainSteps: number
}

export interface CheckedRequest {
  shape: Shape
  seed: number
  variation?: Variation
  sampler: Pick<SamplerConfig, 'stepsOffset'>
  /** Guidance runs the batch twice in one model call. */
  guided: boolean
  guidanceRescale?: number
  apg?: Apg
}

const bad = (message: string) => new EngineError('bad-argument', message)

const GIB = 1024 ** 3
const gib = (bytes: number) => `${(bytes / GIB).toFixed(bytes < 10 * GIB ? 1 : 0)} GiB`

export function checkRequest(model: CheckedModel, req: CheckedRequest, memoryBytes = totalmem()): void {
  checkSide(model, 'height', req.shape.height)
  checkSide(model, 'width', req.shape.width)
  checkModelCallMemory(req, memoryBytes)
  // Image k draws from seed + k, or with a variation from variation seed + k (seed-noise.ts).
  const v = req.variation
  // A walk moves every image toward the variation seed itself.
  checkSeedRange(v ? 'variation seed' : 'seed', v ? v.seed : req.seed, v?.walk ? 1 : req.shape.batch)
  if (v && !(v.strength > 0 && v.strength <= 1))
    throw bad(`variation strength ${v.strength}: how far toward the variation seed's noise, above 0 and up to 1`)
  const phi = req.guidanceRescale ?? 0
  if (!(phi >= 0 && phi <= 1)) throw bad(`guidance rescale ${phi}: it mixes the rescaled output in, from 0 to 1`)
  const apg = req.apg
  if (apg && !(apg.eta >= 0 && apg.eta <= 1))
    throw bad(`APG eta ${apg.eta}: the share of the update along the conditional output kept, from 0 to 1`)
  if (apg && !(apg.normThreshold >= 0 && Number.isFinite(apg.normThreshold)))
    throw bad(`APG norm threshold ${apg.normThreshold}: the update's largest norm, 0 (none) or more`)
  if (apg?.momentum !== undefined && !(apg.momentum > -1 && apg.momentum < 1))
    throw bad(`APG momentum ${apg.momentum}: the running sum's weight, between -1 and 1 (0: none; the paper's -0.5)`)
  const offset = req.sampler.stepsOffset ?? 0
  if (!Number.isInteger(offset) || offset < 0 || offset >= model.trainSteps) {
    throw bad(
      `steps offset ${offset}: ${model.name} has ${model.trainSteps} training timesteps, so it must be in [0, ${model.trainSteps - 1}]`,
    )
  }
}

/** Image k uses seed + k: the last must stay an exact integer. */
function checkSeedRange(what: string, seed: number, batch: number) {
  // Subtracting keeps the comparison exact: past 2^53, seed + batch - 1 rounds.
  if (seed > Number.MAX_SAFE_INTEGER - (batch - 1)) {
    const top = Number.MAX_SAFE_INTEGER
    throw bad(
      `${what} ${seed} with batch ${batch}: image k uses ${what} + k, and the last is past ${top}, ` +
        `the largest exact integer; use a ${what} up to ${top - batch + 1}`,
    )
  }
}

/**
 * A dimension the graph fixes takes only that size. A dynamic one takes any size from 1 to MAX_IMAGE_SIDE
 * (the memory check bounds the whole call) that its U-Net can halve and join back: a multiple of 2^k for a
 * graph built from weights, which says k; an ONNX file does not, so a size it cannot take fails at its first
 * model call, naming the model and t.
 */
function checkSide(model: CheckedModel, side: 'height' | 'width', value: number) {
  const fixed = model.graph[side]
  if (fixed !== undefined) {
    if (value !== fixed) {
      const { height, width } = model.graph
      const size =
        height === width
          ? `${height}x${width} images`
          : `images of height ${height ?? 'any'} and width ${width ?? 'any'}`
      throw bad(`${side} ${value}: ${model.name}'s graph takes ${size} only`)
    }
    return
  }
  if (!Number.isInteger(value) || value < 1 || value > MAX_IMAGE_SIDE) {
    throw bad(`${side} ${value}: ${model.name} takes sizes from 1 to ${MAX_IMAGE_SIDE}`)
  }
  const multiple = model.graph.sizeMultiple ?? 1
  if (value % multiple !== 0) {
    const halvings = Math.log2(multiple)
    const below = Math.floor(value / multiple) * multiple
    throw bad(
      `${side} ${value}: ${model.name} halves its images ${halvings} time${halvings === 1 ? '' : 's'}, so it takes ` +
        `multiples of ${multiple} (${below > 0 ? `${below} or ` : ''}${below + multiple})`,
    )
  }
}

/** One model call holds about MODEL_BYTES_PER_PIXEL for each pixel of its batch (twice the batch when guided). */
function checkModelCallMemory(req: CheckedRequest, memoryBytes: number) {
  const { batch, height, width } = req.shape
  const images = batch * (req.guided ? 2 : 1)
  const needs = images * height * width * MODEL_BYTES_PER_PIXEL
  if (needs > memoryBytes) {
    throw bad(
      `${batch} image(s) of ${width}x${height}${req.guided ? ' with guidance (twice the batch a call)' : ''}: ` +
        `one model call would need about ${gib(needs)} of memory (${MODEL_BYTES_PER_PIXEL / 1024} KiB a pixel) ` +
        `and this machine has ${gib(memoryBytes)}; ask for fewer or smaller images`,
    )
  }
}
