/**
 * The zip archives `torch.save` writes (PKWARE APPNOTE.TXT: end of central directory, zip64 records,
 * central directory, local headers). PyTorch stores its entries uncompressed and pads each local header
 * so the data starts 64-byte aligned: a stored entry is returned as a view of the file's bytes, so its
 * tensors are never copied. Deflated entries (a re-zipped archive) are inflated with node:zlib.
 *
 * No zip library fits: fflate (typed, small) copies every entry out of the archive, which doubles the peak
 * memory of a large checkpoint before the graph is even built, and it is only a transitive dependency here.
 */
import { inflateRawSync } from 'node:zlib'

import { EngineError } from '../../errors'

const EOCD = 0x06054b50
const ZIP64_LOCATOR = 0x07064b50
const ZIP64_EOCD = 0x06064b50
const CENTRAL = 0x02014b50
const LOCAL = 0x04034b50
const ZIP64_EXTRA = 0x0001
const STORED = 0
const DEFLATED = 8

export interface ZipEntry {
  name: string
  method: number
  compressedSize: number
  size: number
  localHeaderOffset: number
}

export interface Zip {
  entries: Map<string, ZipEntry>
  /** The entry's bytes: a view for stored entries, inflated for deflated ones. */
  read(entry: ZipEntry): Uint8Array
}

export const isZip = (bytes: Uint8Array) =>
  bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04

export function openZip(bytes: Uint8Array, file: string): Zip {
  const bad = (why: string) => new EngineError('bad-weights', `${file}: damaged zip archive (${why})`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const u16 = (at: number) => view.getUint16(at, true)
  const u32 = (at: number) => view.getUint32(at, true)
  const u64 = (at: number) => Number(view.getBigUint64(at, true))
  const inside = (at: number, length: number) => at >= 0 && at + length <= bytes.length

  // The end record is the last thing in the file, followed only by a comment of at most 65535 bytes.
  let eocd = -1
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 22 - 0xffff); at--) {
    if (u32(at) === EOCD) {
      eocd = at
      break
    }
  }
  if (eocd < 0)
    throw new EngineError(
      'truncated',
      `${file}: the zip archive has no end record: the file ends early (truncated download or copy?)`,
    )
  let count = u16(eocd + 10)
  let centralSize = u32(eocd + 12)
  let centralOffset = u32(eocd + 16)
  if (eocd >= 20 && u32(eocd - 20) === ZIP64_LOCATOR) {
    const at = u64(eocd - 20 + 8)
    if (!inside(at, 56) || u32(at) !== ZIP64_EOCD) throw bad('its zip64 end record is missing')
    count = u64(at + 32)
    centralSize = u64(at + 40)
    centralOffset = u64(at + 48)
  }
  if (!inside(centralOffset, centralSize)) throw bad('its central directory lies outside the file')

  const entries = new Map<string, ZipEntry>()
  let at = centralOffset
  for (let i = 0; i < count; i++) {
    if (!inside(at, 46) || u32(at) !== CENTRAL) throw bad(`entry ${i} of the central directory is unreadable`)
    const flags = u16(at + 8)
    const nameLength = u16(at + 28)
    const extraLength = u16(at + 30)
    const commentLength = u16(at + 32)
    if (!inside(at + 46, nameLength + extraLength)) throw bad(`entry ${i} runs past the file`)
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength))
    if (flags & 1) throw new EngineError('bad-weights', `${file}: ${name} is encrypted`)
    let size = u32(at + 24)
    let compressedSize = u32(at + 20)
    let localHeaderOffset = u32(at + 42)
    // Fields too large for 32 bits are 0xffffffff here and follow, in this order, in the zip64 extra field.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength;) {
      const id = u16(e)
      const length = u16(e + 2)
      if (id === ZIP64_EXTRA) {
        let f = e + 4
        const next = () => {
          const v = u64(f)
          f += 8
          return v
        }
        if (size === 0xffffffff) size = next()
        if (compressedSize === 0xffffffff) compressedSize = next()
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next()
      }
      e += 4 + length
    }
    entries.set(name, { name, method: u16(at + 10), compressedSize, size, localHeaderOffset })
    at += 46 + nameLength + extraLength + commentLength
  }

  const read = (entry: ZipEntry): Uint8Array => {
    const local = entry.localHeaderOffset
    if (!inside(local, 30) || u32(local) !== LOCAL) throw bad(`${entry.name} has no local header`)
    const start = local + 30 + u16(local + 26) + u16(local + 28)
    if (!inside(start, entry.compressedSize))
      throw new EngineError(
        'truncated',
        `${file}: ${entry.name} runs past the end of the file (truncated download or copy?)`,
      )
    const data = bytes.subarray(start, start + entry.compressedSize)
    if (entry.method === STORED) return data
    if (entry.method === DEFLATED) {
      try {
        return inflateRawSync(data)
      } catch (e) {
        throw bad(`${entry.name} does not inflate: ${(e as Error).message}`)
      }
    }
    throw new EngineError(
      'bad-weights',
      `${file}: ${entry.name} is compressed with method ${entry.method}; only stored and deflated entries are read`,
    )
  }
  return { entries, read }
}
