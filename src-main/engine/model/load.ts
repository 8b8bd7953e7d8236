/**
 * Load a denoiser: resolve the path (.onnx, .onnx + sidecar .json, diffusers folder), read its graph and
 * metadata, start an inference session on the first execution provider that works.
 */
import { readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'

import * as ort from 'onnxruntime-node'

import { EngineError } from '../errors'
import { roundHalfEven } from '../samplers/common'
import type { Shape } from '../tensor'
import {
  mergeMetadata,
  type Metadata,
  metadataFromOnnxProps,
  type MetadataSource,
  type ResolvedMetadata,
  validateMetadata,
} from './metadata'
import { type DecodedModel, ModelProto } from './onnx-proto'
import { defaultProviderOrder, type ProviderName, type ProviderNote, shortReason, unavailableReason } from './providers'
import { findSignature, type Signature, tensorSigOf } from './signature'

export interface ModelInfo {
  /** What the user pointed at, and the .onnx file actually loaded. */
  path: string
  onnxPath: string
  layout: 'onnx' | 'onnx+sidecar' | 'diffusers-folder'
  name: string
  signature: Signature
  metadata: ResolvedMetadata
  provider: ProviderName
  /** Providers tried before the one that runs, and why each was skipped. */
  skippedProviders: ProviderNote[]
}

export interface Denoiser {
  info: ModelInfo
  /**
   * Model output for x_t at one timestep, for the whole batch (run in groups when the graph fixes the batch).
   * The timestep may be fractional (sigma-space samplers): timestepTensor gives it as the graph's input takes it.
   */
  predict(sample: Float32Array, shape: Shape, timestep: number, classLabels?: readonly number[]): Promise<Float32Array>
  release(): Promise<void>
}

export interface LoadOptions {
  providers?: ProviderName[]
}

async function exists(p: string) {
  return stat(p).then(
    (s) => s,
    () => undefined,
  )
}

async function readJson(path: string, shown: string): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch (e) {
    throw new EngineError('bad-metadata', `${shown}: not valid JSON (${(e as Error).message})`)
  }
}

function validated(raw: Record<string, unknown>, shown: string): Metadata {
  try {
    return validateMetadata(raw, shown)
  } catch (e) {
    throw new EngineError('bad-metadata', (e as Error).message)
  }
}

/** Where the .onnx lives and which JSON sources stand beside it. */
async function resolveLayout(path: string) {
  const s = await exists(path)
  if (!s) throw new EngineError('file-not-found', `${path}: no such file or folder`)
  const sources: [MetadataSource, Metadata][] = []
  if (s.isDirectory()) {
    const onnxPath = join(path, 'unet', 'model.onnx')
    if (!(await exists(join(path, 'model_index.json'))) || !(await exists(onnxPath))) {
      throw new EngineError(
        'file-not-found',
        `${path}: not a diffusers-style folder (needs model_index.json and unet/model.onnx)`,
      )
    }
    const sched = join(path, 'scheduler', 'scheduler_config.json')
    if (await exists(sched)) sources.push(['scheduler-config', validated(await readJson(sched, sched), sched)])
    const unetConfig = join(path, 'unet', 'config.json')
    if (await exists(unetConfig))
      sources.push(['unet-config', validated(await readJson(unetConfig, unetConfig), unetConfig)])
    return { onnxPath, layout: 'diffusers-folder' as const, sources, name: basename(path) }
  }
  const sidecar = path.replace(/\.onnx$/i, '') + '.json'
  if (sidecar !== path && (await exists(sidecar))) {
    sources.push(['sidecar', validated(await readJson(sidecar, sidecar), sidecar)])
    return { onnxPath: path, layout: 'onnx+sidecar' as const, sources, name: basename(path) }
  }
  return { onnxPath: path, layout: 'onnx' as const, sources, name: basename(path) }
}

/** Decode the ModelProto, turning protobuf failures into errors a user can act on. */
function decodeModel(bytes: Uint8Array, file: string): DecodedModel & { graph: NonNullable<DecodedModel['graph']> } {
  if (bytes.length === 0) throw new EngineError('not-onnx', `${file}: the file is empty`)
  let model: DecodedModel
  try {
    model = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as DecodedModel
  } catch (e) {
    const msg = (e as Error).message
    if (/index out of range/.test(msg))
      throw new EngineError('truncated', `${file}: the file ends early (truncated download or copy?)`)
    throw new EngineError('not-onnx', `${file}: not an ONNX model (${msg})`)
  }
  if (!model.graph || !model.irVersion || !model.opsetImport?.length) {
    throw new EngineError('not-onnx', `${file}: not an ONNX model (no graph or opset)`)
  }
  return { ...model, graph: model.graph }
}

export async function inspectOnnx(bytes: Uint8Array, file: string) {
  const model = decodeModel(bytes, file)
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name))
  const inputs = (model.graph.input ?? []).filter((v) => !initializers.has(v.name)).map(tensorSigOf)
  const outputs = (model.graph.output ?? []).map(tensorSigOf)
  const signature = findSignature(inputs, outputs, file)
  const props = metadataFromOnnxProps(model.metadataProps ?? [])
  return { signature, metadata: validated(props, `${file} (metadata_props)`) }
}

async function startSession(bytes: Uint8Array, file: string, order: ProviderName[]) {
  const skipped: ProviderNote[] = []
  for (const provider of order) {
    const why = unavailableReason(provider)
    if (why) {
      skipped.push({ provider, reason: why })
      continue
    }
    try {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: [provider],
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
      })
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
  const { onnxPath, layout, sources, name } = await resolveLayout(path)
  const s = await exists(onnxPath)
  if (!s || !s.isFile()) throw new EngineError('file-not-found', `${onnxPath}: no such file`)
  const bytes = new Uint8Array(await readFile(onnxPath))
  const { signature, metadata } = await inspectOnnx(bytes, onnxPath)
  sources.push(['onnx-metadata', metadata])
  const merged = mergeMetadata(sources)
  const order = options.providers ?? defaultProviderOrder()
  const { session, provider, skipped } = await startSession(bytes, onnxPath, order)
  const info: ModelInfo = {
    path,
    onnxPath,
    layout,
    name: merged.values.name ?? name,
    signature,
    metadata: merged,
    provider,
    skippedProviders: skipped,
  }
  return {
    info,
    predict: (sample, shape, t, labels) => predictInGroups(session, signature, onnxPath, sample, shape, t, labels),
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
  sample: Float32Array,
  shape: Shape,
  t: number,
  labels?: readonly number[],
): Promise<Float32Array> {
  const per = shape.channels * shape.height * shape.width
  const group = sig.fixedBatch ?? shape.batch
  const out = new Float32Array(shape.batch * per)
  for (let start = 0; start < shape.batch; start += group) {
    const n = Math.min(group, shape.batch - start)
    // Pad the last group to a fixed batch by repeating its final image; the padding is discarded.
    const x = new Float32Array(group * per)
    x.set(sample.subarray(start * per, (start + n) * per))
    for (let k = n; k < group; k++) x.copyWithin(k * per, (n - 1) * per, n * per)
    const feeds: Record<string, ort.Tensor> = {
      [sig.image.name]: new ort.Tensor('float32', x, [group, shape.channels, shape.height, shape.width]),
      [sig.timestep.name]: timestepTensor(sig, t, group),
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
