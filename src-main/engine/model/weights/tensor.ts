/**
 * A tensor as a weights file stores it: dtype, shape and its little-endian bytes (read when asked for: a
 * view into the file's bytes in memory, or read from the file), and the float32 values the graph needs.
 */
import { EngineError } from '../../errors'

/** safetensors' dtype names; PyTorch's storages map onto the same. */
export const WEIGHT_DTYPES = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
} as const
export type WeightDType = keyof typeof WEIGHT_DTYPES

export interface StoredTensor {
  dtype: WeightDType
  shape: number[]
  /** Contiguous row-major values, little-endian; read (again) at each access when the file is not in memory. */
  readonly bytes: Uint8Array
}

/** Parameter name -> tensor, in the file's order. */
export type Weights = Map<string, StoredTensor>

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1)

/** IEEE 754 half -> float (exact: every half is a float). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return sign * m * 2 ** -24
  if (e === 31) return m ? NaN : sign * Infinity
  return sign * (1 + m / 1024) * 2 ** (e - 15)
}

let halfTable: Float32Array | undefined
const halves = () => (halfTable ??= Float32Array.from({ length: 65536 }, (_, h) => halfToFloat(h)))

/**
 * The values as float32: a view of the bytes when they are aligned float32 (no copy), otherwise upcast
 * (F16, BF16, F64 and integers; bfloat16 is the upper half of a float32, so its upcast is exact).
 */
export function float32Of(t: StoredTensor, name: string): Float32Array {
  const n = numel(t.shape)
  const { buffer, byteOffset } = t.bytes
  const view = new DataView(buffer, byteOffset, t.bytes.byteLength)
  switch (t.dtype) {
    case 'F32':
      if (byteOffset % 4 === 0) return new Float32Array(buffer, byteOffset, n)
      return Float32Array.from({ length: n }, (_, i) => view.getFloat32(i * 4, true))
    case 'F16': {
      const table = halves()
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = table[view.getUint16(i * 2, true)]
      return out
    }
    case 'BF16': {
      const bits = new Uint32Array(n)
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16
      return new Float32Array(bits.buffer)
    }
    case 'F64':
      return Float32Array.from({ length: n }, (_, i) => view.getFloat64(i * 8, true))
    case 'I64':
      return Float32Array.from({ length: n }, (_, i) => Number(view.getBigInt64(i * 8, true)))
    case 'I32':
      return Float32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true))
    case 'I16':
      return Float32Array.from({ length: n }, (_, i) => view.getInt16(i * 2, true))
    case 'I8':
      return Float32Array.from({ length: n }, (_, i) => view.getInt8(i))
    case 'U8':
    case 'BOOL':
      return Float32Array.from(t.bytes.subarray(0, n))
    default:
      throw new EngineError('bad-weights', `${name}: dtype ${t.dtype as string} cannot be read as float32`)
  }
}

/** Check the byte length a file gives a tensor against its dtype and shape. */
export function checkTensorSize(dtype: WeightDType, shape: number[], byteLength: number, where: string): void {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0))
    throw new EngineError('bad-weights', `${where}: shape [${shape.join(', ')}] is not a list of sizes`)
  const expected = numel(shape) * WEIGHT_DTYPES[dtype]
  if (byteLength !== expected)
    throw new EngineError(
      'bad-weights',
      `${where}: ${dtype} [${shape.join(', ')}] needs ${expected} bytes, the file gives ${byteLength}`,
    )
}
