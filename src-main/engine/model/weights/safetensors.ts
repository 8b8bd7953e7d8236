/**
 * safetensors (github.com/huggingface/safetensors, its README's "Format"): an 8-byte little-endian header
 * length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}},
 * then the data, offsets relative to its start. Tensors are views into the file's bytes.
 */
import { EngineError } from '../../errors'
import { checkedTensor, type StoredTensor, WEIGHT_DTYPES, type WeightDType, type Weights } from './tensor'

/** The reference library refuses larger headers; so do we, before parsing anything. */
const MAX_HEADER_BYTES = 100_000_000

export interface Safetensors {
  weights: Weights
  metadata: Record<string, string>
}

export function readSafetensors(bytes: Uint8Array, file: string): Safetensors {
  const bad = (why: string) => new EngineError('bad-weights', `${file}: not a safetensors file (${why})`)
  if (bytes.byteLength < 8) throw bad('shorter than its 8-byte header length')
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const headerLength = Number(view.getBigUint64(0, true))
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > bytes.byteLength)
    throw bad(`header length ${headerLength} does not fit the ${bytes.byteLength}-byte file`)
  let header: Record<string, unknown>
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)))
  } catch (e) {
    throw bad(`header is not JSON: ${(e as Error).message}`)
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw bad('header is not a JSON object')
  const data = bytes.subarray(8 + headerLength)
  const weights: Weights = new Map()
  let metadata: Record<string, string> = {}
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>
      continue
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown }
    if (typeof e?.dtype !== 'string' || !(e.dtype in WEIGHT_DTYPES))
      throw new EngineError(
        'unsupported-dtype',
        `${file}: tensor ${name} has dtype ${String(e?.dtype)}; Stepwise reads ${Object.keys(WEIGHT_DTYPES).join(', ')}`,
      )
    const offsets = e.data_offsets
    if (!Array.isArray(offsets) || offsets.length !== 2 || !Array.isArray(e.shape))
      throw bad(`tensor ${name} has no shape or data_offsets`)
    const [begin, end] = offsets as number[]
    if (!(Number.isSafeInteger(begin) && Number.isSafeInteger(end) && 0 <= begin && begin <= end && end <= data.length))
      throw new EngineError(
        'truncated',
        `${file}: tensor ${name} lies at bytes ${begin}..${end} of ${data.length}: the file ends early (truncated download or copy?)`,
      )
    const tensor: StoredTensor = {
      dtype: e.dtype as WeightDType,
      shape: e.shape as number[],
      bytes: data.subarray(begin, end),
    }
    weights.set(name, checkedTensor(tensor, `${file}: tensor ${name}`))
  }
  return { weights, metadata }
}
