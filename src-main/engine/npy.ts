/**
 * NumPy .npy files (format spec: numpy/lib/format.py, NEP 1): the way noise, latents and reference
 * outputs travel between Stepwise and Python. We write exactly what numpy writes for a C-order float32
 * array (v1.0 header, dict keys sorted, 64-byte aligned data) and read v1.0-3.0 float16/32/64 files.
 */

import { EngineError } from './errors'

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59] // \x93NUMPY
/** numpy aligns the data to 64 bytes so files can be memory-mapped. */
const ARRAY_ALIGN = 64
/** numpy leaves room in the header for the first axis to grow to this many digits (appending in place). */
const GROWTH_AXIS_MAX_DIGITS = 21

/** Python's repr of a shape tuple: (), (5,), (2, 3). */
const shapeRepr = (shape: number[]): string => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`)

export function writeNpy(data: Float32Array, shape: number[]): Uint8Array {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new EngineError('bad-argument', `npy: shape must be non-negative integers, got [${shape.join(', ')}]`)
  }
  const count = shape.reduce((a, b) => a * b, 1)
  if (count !== data.length) {
    throw new EngineError(
      'bad-argument',
      `npy: shape (${shape.join(', ')}) holds ${count} values, the data has ${data.length}`,
    )
  }
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`
  const growth = shape.length > 0 ? ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length) : ''
  const header = dict + growth
  // magic(6) + version(2) + length(2) + header + padding + '\n' ends on a multiple of 64; numpy pads 1..64.
  const padding = ARRAY_ALIGN - ((MAGIC.length + 2 + 2 + header.length + 1) % ARRAY_ALIGN)
  const text = header + ' '.repeat(padding) + '\n'
  if (text.length > 0xffff) throw new EngineError('bad-argument', `npy: shape (${shape.join(', ')}) has too many axes`)

  const out = new Uint8Array(10 + text.length + data.byteLength)
  out.set(MAGIC, 0)
  out.set([1, 0, text.length & 0xff, text.length >> 8], 6)
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i)
  const view = new DataView(out.buffer, 10 + text.length)
  data.forEach((v, i) => view.setFloat32(i * 4, v, true))
  return out
}

interface Header {
  descr: string
  fortranOrder: boolean
  shape: number[]
  dataStart: number
}

export function readNpy(bytes: Uint8Array, fileName: string): { data: Float32Array; shape: number[] } {
  const bad = (what: string) => new EngineError('bad-npy', `${fileName}: ${what}`)
  const { descr, fortranOrder, shape, dataStart } = readHeader(bytes, bad)
  if (fortranOrder) throw bad('the array is in Fortran order; save it with np.ascontiguousarray(x) first')
  const type = /^([<>|=])([fiub])(\d+)$/.exec(descr)
  const size = type ? Number(type[3]) : 0
  if (!type || type[2] !== 'f' || ![2, 4, 8].includes(size)) {
    throw bad(`data type '${descr}' is not supported; save it as float32 (x.astype(np.float32))`)
  }
  const littleEndian = type[1] !== '>' // '=' and '|' are native, and every host we run on is little-endian
  const count = shape.reduce((a, b) => a * b, 1)
  if (bytes.length - dataStart < count * size) {
    throw bad(
      `file ends early: shape (${shape.join(', ')}) needs ${count * size} data bytes, found ${bytes.length - dataStart}`,
    )
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + dataStart, count * size)
  const data = new Float32Array(count)
  for (let i = 0; i < count; i++) {
    data[i] =
      size === 4
        ? view.getFloat32(i * 4, littleEndian)
        : size === 8
          ? view.getFloat64(i * 8, littleEndian)
          : halfToFloat(view.getUint16(i * 2, littleEndian))
  }
  return { data, shape }
}

function readHeader(bytes: Uint8Array, bad: (what: string) => EngineError): Header {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b))
    throw bad('not a NumPy .npy file (no \\x93NUMPY magic)')
  const major = bytes[6]
  if (major < 1 || major > 3) throw bad(`.npy format version ${major}.${bytes[7]} is not supported (1.0-3.0 are)`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  // v1.0 has a 2-byte header length, v2.0 and v3.0 (UTF-8 header) a 4-byte one.
  const lengthSize = major === 1 ? 2 : 4
  if (bytes.length < 8 + lengthSize) throw bad('file ends inside the header')
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true)
  const dataStart = 8 + lengthSize + headerLength
  if (dataStart > bytes.length) throw bad('file ends inside the header')
  const text = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(8 + lengthSize, dataStart))

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1]
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1]
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1]
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw bad(`header is not a NumPy array description: ${text.trim().slice(0, 120)}`)
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(Number)
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw bad(`header has a bad shape (${shapeText})`)
  return { descr, fortranOrder: fortran === 'True', shape, dataStart }
}

/** IEEE 754 binary16 -> number. */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exponent = (h >> 10) & 0x1f
  const fraction = h & 0x3ff
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024) // subnormal
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024)
}
