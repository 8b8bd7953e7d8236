/**
 * A model's hash, as Stable Diffusion UIs write it into their PNGs ("Model hash", A1111's AutoV2): the first
 * MODEL_HASH_LENGTH hex digits of the SHA-256 of its weights file (the .onnx, .safetensors, .bin or .pt), so
 * `sha256sum` gives it too, and a model moved, renamed or uploaded again keeps it. Streamed, never held
 * whole; remembered by path, size and modification time, so reopening an unchanged file reads nothing.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'

import { MODEL_HASH_LENGTH } from '../../../src-shared/model'

const known = new Map<string, Promise<string>>()

/** The full SHA-256 of a file, in hex. */
export async function fileSha256(path: string): Promise<string> {
  const s = await stat(path)
  const key = `${s.size}:${s.mtimeMs}:${path}`
  let hash = known.get(key)
  if (!hash) {
    hash = (async () => {
      const h = createHash('sha256')
      for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
      return h.digest('hex')
    })()
    known.set(key, hash)
    hash.catch(() => known.delete(key))
  }
  return hash
}

/** The model hash of a weights file (MODEL_HASH_LENGTH hex digits). */
export const modelHash = async (weights: string): Promise<string> =>
  (await fileSha256(weights)).slice(0, MODEL_HASH_LENGTH)
