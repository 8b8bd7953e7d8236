/**
 * Random access to a weights file: its bytes in memory, or read from the file as each part is needed, so
 * a graph can be built and written tensor by tensor without the whole file ever being in memory.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs'

import { EngineError } from '../../errors'

export interface ByteSource {
  readonly size: number
  /** `length` bytes at `offset`: a view of bytes in memory, or freshly read (8-byte aligned) from the file. */
  read(offset: number, length: number): Uint8Array
}

export const bytesSource = (bytes: Uint8Array): ByteSource => ({
  size: bytes.length,
  read: (offset, length) => bytes.subarray(offset, offset + length),
})

/** A file read as needed; close it when done. */
export function fileSource(path: string): ByteSource & { close(): void } {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new EngineError('file-not-found', `${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
  return {
    size: fstatSync(fd).size,
    read(offset, length) {
      // A fresh buffer, never Node's shared pool: float32 and int64 views need their alignment.
      const out = new Uint8Array(length)
      for (let done = 0; done < length;) {
        const n = readSync(fd, out, done, length - done, offset + done)
        if (n === 0) break
        done += n
      }
      return out
    },
    close: () => closeSync(fd),
  }
}
