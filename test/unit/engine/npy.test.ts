import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, test } from 'vitest'

import type { EngineError } from '../../../src-main/engine/errors'
import { readNpy, writeNpy } from '../../../src-main/engine/npy'

const fixtures = join(import.meta.dirname, '..', '..', 'fixtures', 'npy')
const fixture = (name: string) => new Uint8Array(readFileSync(join(fixtures, name)))
const values = [-1, -0.5, 0, 0.25, 0.75, 1] // what make-npy.py wrote, shape (2, 3)
const latin1 = (bytes: Uint8Array) => new TextDecoder('latin1').decode(bytes)

const failure = (bytes: Uint8Array, name: string): EngineError => {
  try {
    readNpy(bytes, name)
  } catch (e) {
    return e as EngineError
  }
  throw new Error('expected readNpy to fail')
}

describe('writeNpy', () => {
  test("writes numpy's v1.0 header byte for byte", () => {
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
    const expected = '\x93NUMPY\x01\x00v\x00' + dict + ' '.repeat(128 - 10 - dict.length - 1) + '\n'
    const bytes = writeNpy(Float32Array.from(values), [2, 3])
    expect(bytes.length).toBe(128 + 6 * 4)
    expect(latin1(bytes.subarray(0, 128))).toBe(expected)
  })

  test('equals the file numpy itself wrote', () => {
    expect(writeNpy(Float32Array.from(values), [2, 3])).toEqual(fixture('float32-2x3.npy'))
    const batch = readNpy(fixture('float32-1x1x4x4.npy'), 'batch.npy')
    expect(writeNpy(batch.data, batch.shape)).toEqual(fixture('float32-1x1x4x4.npy'))
  })

  test('data starts on a 64-byte boundary after a newline, for any shape', () => {
    for (const shape of [[], [5], [1, 3, 64, 64], [100000], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]]) {
      const bytes = writeNpy(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape)
      const headerLength = bytes[8] | (bytes[9] << 8)
      expect((10 + headerLength) % 64, `shape ${shape}`).toBe(0)
      expect(bytes[10 + headerLength - 1]).toBe(0x0a)
    }
  })

  test('round-trips values and shape', () => {
    const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i) * 1e3)
    const back = readNpy(writeNpy(data, [2, 3, 4]), 'x.npy')
    expect(back.shape).toEqual([2, 3, 4])
    expect(back.data).toEqual(data)
    expect(readNpy(writeNpy(Float32Array.of(7), []), 'scalar.npy')).toEqual({ data: Float32Array.of(7), shape: [] })
  })

  test('a shape that does not match the data is refused', () => {
    expect(() => writeNpy(new Float32Array(5), [2, 3])).toThrowError(/holds 6 values, the data has 5/)
  })
})

describe('readNpy', () => {
  test.each([
    'float32-2x3.npy',
    'float64-2x3.npy',
    'float16-2x3.npy',
    'float32-big-endian-2x3.npy',
    'float32-v2-2x3.npy',
    'float32-v3-2x3.npy',
  ])('reads %s as float32', (name) => {
    const { data, shape } = readNpy(fixture(name), name)
    expect(shape).toEqual([2, 3])
    expect([...data]).toEqual(values)
  })

  test('reads from a view that does not start at its buffer start', () => {
    const bytes = fixture('float32-2x3.npy')
    const padded = new Uint8Array(bytes.length + 5)
    padded.set(bytes, 5)
    expect([...readNpy(padded.subarray(5), 'x.npy').data]).toEqual(values)
  })

  test('Fortran order is refused with what to do', () => {
    const e = failure(fixture('fortran-2x3.npy'), 'noise.npy')
    expect(e.code).toBe('bad-npy')
    expect(e.message).toMatch(/^noise\.npy: .*Fortran order.*ascontiguousarray/)
  })

  test('integer data is refused naming the dtype', () => {
    expect(failure(fixture('int64-2x3.npy'), 'ids.npy').message).toMatch(/^ids\.npy: data type '<i8' is not supported/)
  })

  test('a truncated file says it ends early', () => {
    const bytes = fixture('float32-2x3.npy')
    const e = failure(bytes.subarray(0, bytes.length - 4), 'cut.npy')
    expect(e.code).toBe('bad-npy')
    expect(e.message).toMatch(/^cut\.npy: file ends early: shape \(2, 3\) needs 24 data bytes, found 20/)
    expect(failure(bytes.subarray(0, 60), 'cut.npy').message).toMatch(/ends inside the header/)
  })

  test('a file that is not .npy says so', () => {
    const e = failure(new TextEncoder().encode('PK\x03\x04 this is a zip'), 'noise.npz')
    expect(e.code).toBe('bad-npy')
    expect(e.message).toMatch(/^noise\.npz: not a NumPy \.npy file/)
  })
})
