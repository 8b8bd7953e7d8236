/**
 * torch.save archives: state dicts (OrderedDict with _metadata, plain dicts), strided and offset views,
 * half precision, pickle protocol 4, deflated entries; pickles that would run code are refused, by name.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { float32Of } from '../../../../../src-main/engine/model/weights/tensor'
import { readTorchArchive, readTorchStateDict } from '../../../../../src-main/engine/model/weights/torch'

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'fixtures')
const WEIGHTS = join(FIXTURES, 'diffusers', 'weights')
const expected = JSON.parse(readFileSync(join(WEIGHTS, 'expected.json'), 'utf8')) as Record<
  string,
  Record<string, { shape: number[]; values: number[] }>
>
const read = (name: string) => new Uint8Array(readFileSync(join(WEIGHTS, name)))

describe('state dicts as torch.load gives them', () => {
  for (const name of ['state-dict.bin', 'protocol-4.bin', 'deflated.bin']) {
    it(`${name}: every tensor, transposed and offset views and float16 included`, () => {
      const weights = readTorchStateDict(read(name), name)
      expect([...weights.keys()].sort()).toEqual(Object.keys(expected[name]).sort())
      for (const [key, want] of Object.entries(expected[name])) {
        const t = weights.get(key)!
        expect(t.shape, key).toEqual(want.shape)
        expect(Array.from(float32Of(t, key)), key).toEqual(want.values.map(Math.fround))
      }
    })
  }

  it("the peers' .bin (a plain dict, as save_pretrained(safe_serialization=False) writes): views of the file", () => {
    const bytes = new Uint8Array(
      readFileSync(join(FIXTURES, 'peers/diffusers/class-gray28/pipeline/unet/diffusion_pytorch_model.bin')),
    )
    const weights = readTorchStateDict(bytes, 'class.bin')
    expect(weights.size).toBe(183)
    let params = 0
    for (const [key, t] of weights) {
      expect(t.dtype).toBe('F32')
      expect(float32Of(t, key).buffer).toBe(bytes.buffer)
      params += t.shape.reduce((a, b) => a * b, 1)
    }
    expect(params).toBe(280_881)
  })
})

describe('what is not a state dict is refused, saying what it is', () => {
  it('a pickle calling os.system, builtins.eval or building a class instance: unsafe-pickle, named', () => {
    for (const [file, called] of [
      ['os-system.bin', 'os.system'],
      ['eval.bin', 'builtins.eval'],
      ['class-instance.bin', '__main__.Thing'],
    ]) {
      expect(() => readTorchArchive(read(file), file), file).toThrow(
        expect.objectContaining({
          code: 'unsafe-pickle',
          message: `${file}: pickle calls ${called}: refused (a weights file needs only tensors, dicts and lists; this one would run code)`,
        }),
      )
    }
  })

  it("PyTorch's format before 1.6, a zip without data.pkl, a file that is no archive, an archive cut short", () => {
    expect(() => readTorchArchive(read('legacy.bin'), 'legacy.bin')).toThrow(
      /legacy\.bin: saved in PyTorch's format before 1\.6/,
    )
    expect(() => readTorchArchive(new TextEncoder().encode('hello'), 'text.bin')).toThrow(
      /text\.bin: not a PyTorch checkpoint/,
    )
    const bytes = read('state-dict.bin')
    expect(() => readTorchArchive(bytes.subarray(0, bytes.length - 30), 'cut.bin')).toThrow(
      expect.objectContaining({ code: 'truncated', message: expect.stringContaining('cut.bin') }),
    )
  })

  it('a checkpoint holding a number, or a dict without tensors', () => {
    expect(() => readTorchStateDict(read('number.bin'), 'number.bin')).toThrow(
      /number\.bin: holds no state dict \(a number\)/,
    )
    expect(() => readTorchStateDict(read('no-tensors.bin'), 'no-tensors.bin')).toThrow(
      /no-tensors\.bin: a dict without tensors \(keys step, lr\)/,
    )
  })
})
