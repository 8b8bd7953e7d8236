/** A weights file by what it holds: safetensors, or a PyTorch zip archive (.bin, .pt, .pth, .ckpt). */
import { readFile } from 'node:fs/promises'

import { EngineError } from '../../errors'
import { readSafetensors } from './safetensors'
import { type ByteSource, bytesSource, fileSource } from './source'
import type { Weights } from './tensor'
import { readTorchStateDict } from './torch'
import { isZip } from './zip'

export { isWeightsFile } from '../../../../src-shared/model'

export async function readFileBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path) // a Buffer is a Uint8Array: no copy of it
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new EngineError('file-not-found', `${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
}

/** The state dict of a file's bytes or a file: a zip archive is PyTorch's, anything else must be safetensors. */
export function readWeights(bytes: Uint8Array | ByteSource, file: string): Weights {
  const source = bytes instanceof Uint8Array ? bytesSource(bytes) : bytes
  if (source.size === 0) throw new EngineError('bad-weights', `${file}: the file is empty`)
  if (isZip(source.read(0, Math.min(4, source.size))) || !file.toLowerCase().endsWith('.safetensors'))
    return readTorchStateDict(source, file)
  return readSafetensors(source, file).weights
}

/**
 * The state dict of the file at `path`, its tensors read from the file as each is asked for (a graph
 * can be written tensor by tensor); `close` when done with them.
 */
export function openWeightsFile(path: string): { weights: Weights; close(): void } {
  const source = fileSource(path)
  try {
    return { weights: readWeights(source, path), close: () => source.close() }
  } catch (e) {
    source.close()
    throw e
  }
}
