/** A weights file read tensor by tensor from disk gives what the file read whole gives. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { openWeightsFile, readWeights } from '../../../../../src-main/engine/model/weights/read'
import { float32Of } from '../../../../../src-main/engine/model/weights/tensor'

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'fixtures')

describe('from disk, one tensor at a time', () => {
  for (const file of [
    'peers/diffusers/uncond-rgb32/pipeline/unet/diffusion_pytorch_model.safetensors',
    'peers/diffusers/class-gray28/pipeline/unet/diffusion_pytorch_model.bin',
    'diffusers/weights/state-dict.bin',
    'diffusers/weights/deflated.bin',
    'diffusers/weights/dtypes.safetensors',
  ]) {
    it(file.split('/').slice(-2).join('/'), () => {
      const path = join(FIXTURES, file)
      const whole = readWeights(new Uint8Array(readFileSync(path)), path)
      const opened = openWeightsFile(path)
      try {
        expect([...opened.weights.keys()]).toEqual([...whole.keys()])
        for (const [name, t] of whole) {
          const fromDisk = opened.weights.get(name)!
          expect(fromDisk.shape).toEqual(t.shape)
          expect(Array.from(float32Of(fromDisk, name)), name).toEqual(Array.from(float32Of(t, name)))
        }
      } finally {
        opened.close()
      }
    })
  }

  it('a file that is not there', () => {
    expect(() => openWeightsFile(join(FIXTURES, 'nothing.safetensors'))).toThrow(
      expect.objectContaining({
        code: 'file-not-found',
        message: expect.stringContaining('nothing.safetensors: no such file'),
      }),
    )
  })
})
