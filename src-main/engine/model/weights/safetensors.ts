/**
 * safetensors (github.com/huggingface/safetensors, its README's "Format"): an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the data, offsets relative to its start. A tensor's bytes are read when asked for: from a file in
 * memory they are views of it, never copies.
 */
import { EngineError } from '../../errors'
import { type ByteSource, bytesSource } from './source'
import { checkTensorSize, WEIGHT_DTYPES, type WeightDType, type Weights } from './tensor'

/** The reference library refuses larger headers; so do we, before parsing anything. */
const MAX_HEADER_BYTES = 100_000_000

export interface Safetensors {
  weights: Weights
  metadata: Record<string, string>
}

export function readSafetensors(file: Uint8Array | ByteSource, name: string): Safetensors {
  const source = file instanceof Uint8Array ? bytesSource(file) : file
  const bad = (why: string) => new EngineError('bad-weights', `${name}: not a safetensors file (${why})`)
  if (source.size < 8) throw bad('shorter than its 8-byte header length')
  const start = source.read(0, 8)
  const headerLength = Number(new DataView(start.buffer, start.byteOffset, 8).getBigUint64(0, true))
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > source.size)
    throw bad(`header length ${headerLength} does not fit the ${source.size}-byte file`)
  let header: Record<string, unknown>
  try {
    header = JSON.parse(new TextDecoder().decode(source.read(8, headerLength)))
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`)
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object')
  const base = 8 + headerLength
  const dataLength = source.size - base
  const weights: Weights = new Map()
  let metadata: Record<string, string> = {}
  for (const [tensor, entry] of Object.entries(header)) {
    if (tensor === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>
      continue
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    if (typeof e?.dtype !== 'string' || !(e.dtype in WEIGHT_DTYPES))
      throw new EngineError(
        'unsupported-dtype',
        `${name}: tensor ${tensor} has dtype ${String(e?.dtype)}; Stepwise reads ${Object.keys(WEIGHT_DTYPES).join(', ')}`,
      )
    const offsets = e.data_offsets
    if (!Array.isArray(offsets) || offsets.length !== 2 || !Array.isArray(e.shape))
      throw bad(`tensor ${tensor} has no shape or data_offsets`)
    const [begin, end] = offsets as number[]
    if (!(Number.isSafeInteger(begin) && Number.isSafeInteger(end) && 0 <= begin && begin <= end && end <= dataLength))
      throw new EngineError(
        'truncated',
        `${name}: tensor ${tensor} lies at bytes ${begin}..${end} of ${dataLength}: the file ends early (truncated download or copy?)`,
      )
    const dtype = e.dtype as WeightDType
    const shape = e.shape as number[]
    checkTensorSize(dtype, shape, end - begin, `${name}: tensor ${tensor}`)
    weights.set(tensor, {
      dtype,
      shape,
      get bytes() {
        return source.read(base + begin, end - begin)
      },
    })
  }
  return { weights, metadata }
}
