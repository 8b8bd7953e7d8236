/** A weights file by what it holds: safetensors, or a PyTorch zip archive (.bin, .pt, .pth, .ckpt). */
import { readFile } from 'node:fs/promises'

import { EngineError } from '../../errors'
import { readSafetensors } from './safetensors'
import type { Weights } from './tensor'
import { readTorchStateDict } from './torch'
import { isZip } from './zip'

export { isWeightsFile } from '../../../../src-shared/model'

export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new EngineError('file-not-found', `${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
}

/** The state dict in `bytes`: a zip archive is PyTorch's, anything else must be safetensors. */
export function readWeights(bytes: Uint8Array, file: string): Weights {
  if (bytes.length === 0) throw new EngineError('bad-weights', `${file}: the file is empty`)
  if (isZip(bytes) || !file.toLowerCase().endsWith('.safetensors')) return readTorchStateDict(bytes, file)
  return readSafetensors(bytes, file).weights
}
