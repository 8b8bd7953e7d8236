/**
 * Load a denoiser: open what the user pointed at with its source format (formats/: an .onnx, a diffusers
 * folder or weights file built into a graph), merge its metadata, start an inference session on the first
 * execution provider that works.
 */
import * as ort from 'onnxruntime-node'

import type { CheckpointWeights } from '../../../src-shared/model'
import { EngineError } from '../errors'
import { roundHalfEven } from '../samplers/common'
import type { Shape } from '../tensor'
import { modelHash } from './file-hash'
import { type ModelLayout, modelName, type ModelSource, type OpenedModel, openModel } from './formats'
import { mergeMetadata, type ResolvedMetadata } from './metadata'
import {
  type Adapter,
  defaultProviderOrder,
  type ProviderName,
  type ProviderNote,
  shortReason,
  skipReason,
  webgpuAdapter,
} from './providers'
import type { Signature } from './signature'

export interface ModelInfo {
  /** What the user pointed at, and the .onnx file run (for a built graph: its cache file, or ''). */
  path: string
  onnxPath: string
  layout: ModelLayout
  /** The source format, the files read, and where each fact of the network came from. */
  source: ModelSource
  name: string
  /** The weights file's model hash (file-hash.ts); undefined when the file could not be read again for it. */
  hash?: string
  /** A checkpoint's set of weights taken, and whether it holds the other (OpenedModel's). */
  weights?: OpenedModel['weights']
  signature: Signature
  metadata: ResolvedMetadata
  provider: ProviderName
  /** The device it runs on, where it can be told (WebGPU on Linux). */
  adapter?: Adapter
  /** Providers tried before the one that runs, and why each was skipped. */
  skippedProviders: ProviderNote[]
}

export interface Denoiser {
  info: ModelInfo
  /**
   * Model output for x_t at one timestep, for the whole batch (run in groups when the graph fixes the batch).
   * The timestep may be fractional (sigma-space samplers): timestepTensor gives it as the graph's input takes it.
   * A self-conditioned model (signature.selfCondition) also takes the x0 of its previous call (zeros: none).
   */
  predict(
    sample: Float32Array,
    shape: Shape,
    timestep: number,
    classLabels?: readonly number[],
    selfCondition?: Float32Array,
  ): Promise<Float32Array>
  release(): Promise<void>
}

export interface LoadOptions {
  providers?: ProviderName[]
  /** Where graphs built from weights are kept, so the second open is instant (the app's user-data folder). */
  cacheDir?: string
  /** A checkpoint with EMA and online weights (lucidrains): which to sample with; default the EMA's. */
  weights?: CheckpointWeights
}

/** `chosen`: the user named the providers (a software WebGPU adapter is then used; else the CPU wins). */
async function startSession(model: Uint8Array | string, file: string, order: ProviderName[], chosen: boolean) {
  const skipped: ProviderNote[] = []
  for (const provider of order) {
    const why = await skipReason(provider, chosen)
    if (why) {
      skipped.push({ provider, reason: why })
      continue
    }
    try {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        // Fatal only: a failed call's native log line repeats what its error says (EngineError names model and t).
        logSeverityLevel: 4,
      }
      const session = await (typeof model === 'string'
        ? ort.InferenceSession.create(model, options)
        : ort.InferenceSession.create(model, options))
      return { session, provider, skipped }
    } catch (e) {
      const msg = (e as Error).message.split('\n')[0]
      // A graph the runtime cannot run fails on the CPU too: then the graph, not the provider, is the problem.
      if (provider === 'cpu')
        throw new EngineError('unsupported-operator', `${file}: onnxruntime cannot run this graph: ${msg}`)
      skipped.push({ provider, reason: shortReason(msg) })
    }
  }
  throw new EngineError(
    'provider-failed',
    `${file}: no execution provider could start (${skipped.map((s) => `${s.provider}: ${s.reason}`).join('; ')})`,
  )
}

// The runtime's native log would print provider failures we already report as data.
ort.env.logLevel = 'fatal'

export async function loadModel(path: string, options: LoadOptions = {}): Promise<Denoiser> {
  const opened = await openModel(path, { cacheDir: options.cacheDir, weights: options.weights })
  const merged = mergeMetadata(opened.sources)
  const order = options.providers ?? defaultProviderOrder()
  const file = opened.source.files[0] ?? path
  // Hashed while the session starts (a large file takes a second or two a gigabyte, once: then remembered).
  const [{ session, provider, skipped }, hash] = await Promise.all([
    startSession(opened.onnx, file, order, options.providers !== undefined),
    // A file gone since it was read leaves the model without a hash, not unopened.
    opened.source.files[0] ? modelHash(opened.source.files[0]).catch(() => undefined) : undefined,
  ])
  const adapter = provider === 'webgpu' ? await webgpuAdapter() : undefined
  // A graph built from weights knows what its sides must be a multiple of; an ONNX file's metadata may say.
  const sizeMultiple = opened.signature.sizeMultiple ?? merged.values.size_multiple
  const signature = { ...opened.signature, ...(sizeMultiple && { sizeMultiple }) }
  const info: ModelInfo = {
    path,
    onnxPath: opened.onnxPath,
    layout: opened.layout,
    source: opened.source,
    name: modelName(opened, merged.values.name),
    ...(hash && { hash }),
    ...(opened.weights && { weights: opened.weights }),
    signature,
    metadata: merged,
    provider,
    ...(adapter && { adapter }),
    skippedProviders: skipped,
  }
  return {
    info,
    predict: (sample, shape, t, labels, selfCondition) =>
      predictInGroups(session, signature, file, { sample, selfCondition }, shape, t, labels),
    release: () => session.release(),
  }
}

/**
 * The timestep as the graph's input takes it. Sigma-space samplers (Euler, Heun...) call the model at
 * fractional timesteps, as diffusers does: a float input gets the value itself (float32, or float16 rounded
 * to nearest even); an integer input gets it rounded half to even (numpy's and torch's round), which is
 * what an integer-timestep model was trained on nearest to.
 */
function timestepTensor(sig: Signature, t: number, batch: number): ort.Tensor {
  const shape = sig.timestep.shape.length === 0 ? [] : sig.timestep.shape.length === 2 ? [batch, 1] : [batch]
  const n = shape.length === 0 ? 1 : batch
  switch (sig.timestep.dtype) {
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(roundHalfEven(t))), shape)
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n).fill(roundHalfEven(t)), shape)
    case 'float16':
      return new ort.Tensor('float16', new Uint16Array(n).fill(toHalf(t)), shape)
    default:
      return new ort.Tensor('float32', new Float32Array(n).fill(t), shape)
  }
}

/** IEEE 754 half of a non-negative timestep, rounded to nearest even (integers exact up to 2048). */
export function toHalf(v: number): number {
  // Below 2^-14 the subnormals: units of 2^-24 (1024 of them is the smallest normal, the same bits).
  if (v < 2 ** -14) return roundHalfEven(v * 2 ** 24)
  let e = Math.floor(Math.log2(v))
  if (v / 2 ** e >= 2) e++
  if (v / 2 ** e < 1) e--
  if (e > 15) return 0x7c00
  // The significand in 1024ths; rounding up to 2048 carries into the exponent through the addition.
  return ((e + 15) << 10) + roundHalfEven((v / 2 ** e) * 1024) - 1024
}

async function predictInGroups(
  session: ort.InferenceSession,
  sig: Signature,
  file: string,
  images: { sample: Float32Array; selfCondition?: Float32Array },
  shape: Shape,
  t: number,
  labels?: readonly number[],
): Promise<Float32Array> {
  const per = shape.channels * shape.height * shape.width
  const group = sig.fixedBatch ?? shape.batch
  const out = new Float32Array(shape.batch * per)
  const dims = [group, shape.channels, shape.height, shape.width]
  for (let start = 0; start < shape.batch; start += group) {
    const n = Math.min(group, shape.batch - start)
    // Pad the last group to a fixed batch by repeating its final image; the padding is discarded.
    const groupOf = (all: Float32Array) => {
      const x = new Float32Array(group * per)
      x.set(all.subarray(start * per, (start + n) * per))
      for (let k = n; k < group; k++) x.copyWithin(k * per, (n - 1) * per, n * per)
      return x
    }
    const feeds: Record<string, ort.Tensor> = {
      [sig.image.name]: new ort.Tensor('float32', groupOf(images.sample), dims),
      [sig.timestep.name]: timestepTensor(sig, t, group),
    }
    if (sig.selfCondition) {
      const x0 = images.selfCondition ? groupOf(images.selfCondition) : new Float32Array(group * per)
      feeds[sig.selfCondition.name] = new ort.Tensor('float32', x0, dims)
    }
    if (sig.classLabels) {
      const ids = Array.from({ length: group }, (_, k) => BigInt(labels?.[start + Math.min(k, n - 1)] ?? 0))
      feeds[sig.classLabels.name] = new ort.Tensor('int64', BigInt64Array.from(ids), [group])
    }
    let result: ort.InferenceSession.OnnxValueMapType
    try {
      result = await session.run(feeds, [sig.output.name])
    } catch (e) {
      throw new EngineError(
        'runtime-error',
        `${file}: the model failed at t=${t}: ${(e as Error).message.split('\n')[0]}`,
      )
    }
    const y = result[sig.output.name] as ort.Tensor
    const [, oc, oh, ow] = y.dims
    if (oh !== shape.height || ow !== shape.width || (oc !== shape.channels && oc !== 2 * shape.channels)) {
      throw new EngineError(
        'not-a-denoiser',
        `${file}: output shape [${y.dims.join(',')}] does not match the image [${group},${shape.channels},${shape.height},${shape.width}]`,
      )
    }
    const data = y.data as Float32Array
    // Learned variance: keep the first C channels of each image.
    for (let k = 0; k < n; k++) out.set(data.subarray(k * oc * oh * ow, k * oc * oh * ow + per), (start + k) * per)
  }
  return out
}
