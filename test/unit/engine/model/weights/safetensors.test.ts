/** safetensors: every dtype upcast to float32 as torch's .float() does; float32 tensors are views, never copies; damage is named. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { readSafetensors } from '../../../../../src-main/engine/model/weights/safetensors'
import { float32Of } from '../../../../../src-main/engine/model/weights/tensor'

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'fixtures')
const WEIGHTS = join(FIXTURES, 'diffusers', 'weights')
const expected = JSON.parse(readFileSync(join(WEIGHTS, 'expected.json'), 'utf8')) as Record<
  string,
  Record<string, { shape: number[]; values: number[] }>
>
const read = (path: string) => new Uint8Array(readFileSync(path))

/** A safetensors file from a header object and data bytes. */
function file(header: object, data = new Uint8Array(0)): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(header))
  const out = new Uint8Array(8 + text.length + data.length)
  new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true)
  out.set(text, 8)
  out.set(data, 8 + text.length)
  return out
}

describe('values as torch reads them', () => {
  it('F64, F32, F16 (max, subnormal, -0), BF16 and I64 upcast to what torch .float() gives', () => {
    const { weights, metadata } = readSafetensors(read(join(WEIGHTS, 'dtypes.safetensors')), 'dtypes.safetensors')
    expect(metadata).toEqual({ format: 'pt' })
    for (const [name, want] of Object.entries(expected['dtypes.safetensors'])) {
      const t = weights.get(name)!
      expect(t.shape, name).toEqual(want.shape)
      expect(Array.from(float32Of(t, name)), name).toEqual(want.values.map(Math.fround))
    }
    expect(Object.is(float32Of(weights.get('f16')!, 'f16')[4], -0)).toBe(true)
  })

  it("the peers' F32 safetensors: every tensor a view of the file's bytes (no copy)", () => {
    const bytes = read(join(FIXTURES, 'peers/diffusers/uncond-rgb32/pipeline/unet/diffusion_pytorch_model.safetensors'))
    const { weights } = readSafetensors(bytes, 'uncond.safetensors')
    expect(weights.size).toBe(208)
    let params = 0
    for (const [name, t] of weights) {
      expect(float32Of(t, name).buffer).toBe(bytes.buffer)
      params += t.shape.reduce((a, b) => a * b, 1)
    }
    expect(params).toBe(1_002_883) // meta.json of the fixture
  })
})

describe('damaged files are named with their problem', () => {
  const ok = file({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(8))

  it('a file cut short: truncated', () => {
    expect(() => readSafetensors(ok.subarray(0, ok.length - 4), 'cut.safetensors')).toThrow(
      expect.objectContaining({ code: 'truncated', message: expect.stringContaining('cut.safetensors: tensor w') }),
    )
  })
  it('a header length past the end, a header that is not JSON, too few bytes', () => {
    expect(() => readSafetensors(ok.subarray(0, 20), 'a.safetensors')).toThrow(/a\.safetensors: not a safetensors file/)
    expect(() => readSafetensors(file([1, 2] as unknown as object), 'b.safetensors')).toThrow(/not a JSON object/)
    expect(() => readSafetensors(new Uint8Array(3), 'c.safetensors')).toThrow(/shorter than its 8-byte header/)
  })
  it('a shape that does not match its bytes', () => {
    const bad = file({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8))
    expect(() => readSafetensors(bad, 'd.safetensors')).toThrow(/d\.safetensors: tensor w: F32 \[3\] needs 12 bytes/)
  })
  it('a dtype Stepwise does not read (float8) names it and the ones it does', () => {
    const f8 = file({ w: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1))
    expect(() => readSafetensors(f8, 'e.safetensors')).toThrow(
      expect.objectContaining({
        code: 'unsupported-dtype',
        message: expect.stringMatching(/F8_E4M3; Stepwise reads F64/),
      }),
    )
  })
})
