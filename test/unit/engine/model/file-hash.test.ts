/**
 * The model hash (engine/model/file-hash.ts): the start of the weights file's SHA-256, as sha256sum and A1111
 * give it. Checked against the FIPS 180-2 test vector, on a file that changes, and on a diffusers folder and a
 * lucidrains checkpoint as loaded: the hash of the file the weights are in (not a sidecar's, not a built
 * graph's). The .onnx default model's: shell.test.ts and the e2e test, against node:crypto on the whole file.
 */
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { fileSha256, modelHash } from '../../../../src-main/engine/model/file-hash'
import { loadModel } from '../../../../src-main/engine/model/load'

const dir = mkdtempSync(join(tmpdir(), 'stepwise-hash-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const fixture = (path: string) => join(import.meta.dirname, '../../../fixtures', path)

describe('the model hash', () => {
  it('is the SHA-256 of the file (FIPS 180-2, "abc"), its first 10 hex digits', async () => {
    const file = join(dir, 'abc.bin')
    writeFileSync(file, 'abc')
    expect(await fileSha256(file)).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(await modelHash(file)).toBe('ba7816bf8f')
  })

  it('follows a file that changes, and is remembered while its size and time stay', async () => {
    const file = join(dir, 'weights.bin')
    writeFileSync(file, 'first weights')
    const first = await modelHash(file)
    const then = new Date('2026-12-01T12:00:00Z') // whole seconds: set again exactly below
    writeFileSync(file, 'other weights, longer')
    utimesSync(file, then, then)
    const second = await modelHash(file)
    expect(second).not.toBe(first)
    // Same size and modification time: not read again (a trained-on file always changes its time).
    writeFileSync(file, 'OTHER WEIGHTS, LONGER')
    utimesSync(file, then, then)
    expect(await modelHash(file)).toBe(second)
  })

  it('a file gone is an error naming it', async () => {
    await expect(modelHash(join(dir, 'gone.onnx'))).rejects.toThrow(/gone\.onnx/)
  })

  it.each([
    [
      'a diffusers folder: its weights file',
      'diffusers/fourier-gelu/pipeline',
      'diffusers/fourier-gelu/pipeline/unet/diffusion_pytorch_model.safetensors',
    ],
    ['a lucidrains checkpoint', 'lucidrains/full-attn/model-3.pt', 'lucidrains/full-attn/model-3.pt'],
  ])(
    'of %s, as loaded',
    async (_what, path, weights) => {
      const model = await loadModel(fixture(path), { providers: ['cpu'] })
      try {
        expect(model.info.hash).toBe(await modelHash(fixture(weights)))
      } finally {
        await model.release()
      }
    },
    60_000,
  )
})
