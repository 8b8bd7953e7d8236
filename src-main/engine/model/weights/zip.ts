/**
 * The zip archives `torch.save` writes (PKWARE APPNOTE.TXT: end of central directory, zip64 records,
 * central directory, local headers). PyTorch stores its entries uncompressed and pads each local header
 * so the data starts 64-byte aligned: a stored entry of a file in memory is returned as a view of its
 * bytes, so its tensors are never copied; of a file on disk, it is read when asked for. Deflated entries
 * (a re-zipped archive) are inflated with node:zlib.
 *
 * No zip library fits: fflate (typed, small) copies every entry out of the archive, which doubles the peak
 * memory of a large checkpoint before the graph is even built, and it is only a transitive dependency here.
 */
import { inflateRawSync } from 'node:zlib'

import { EngineError } from '../../errors'
import { type ByteSource, bytesSource } from './source'

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
  /** The entry's bytes: read (a view of a file in memory) for stored entries, inflated for deflated ones. */
  read(entry: ZipEntry): Uint8Array
}

export const isZip = (bytes: Uint8Array) =>
  bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04

const reader = (bytes: Uint8Array) => {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  return {
    u16: (at: number) => view.getUint16(at, true),
    u32: (at: number) => view.getUint32(at, true),
    u64: (at: number) => Number(view.getBigUint64(at, true)),
  }
}

export function openZip(file: Uint8Array | ByteSource, name: string): Zip {
  const source = file instanceof Uint8Array ? bytesSource(file) : file
  const bad = (why: string) => new EngineError('bad-weights', `${name}: damaged zip archive (${why})`)
  const inside = (at: number, length: number) => at >= 0 && at + length <= source.size

  // The end record is the last thing in the file, followed only by a comment of at most 65535 bytes.
  const tailStart = Math.max(0, source.size - 22 - 0xffff - 20)
  const tail = source.read(tailStart, source.size - tailStart)
  const t = reader(tail)
  let eocd = -1
  for (let at = tail.length - 22; at >= 0; at--) {
    if (t.u32(at) === EOCD) {
      eocd = at
      break
    }
  }
  if (eocd < 0)
    throw new EngineError(
      'truncated',
      `${name}: the zip archive has no end record: the file ends early (truncated download or copy?)`,
    )
  let count = t.u16(eocd + 10)
  let centralSize = t.u32(eocd + 12)
  let centralOffset = t.u32(eocd + 16)
  if (eocd >= 20 && t.u32(eocd - 20) === ZIP64_LOCATOR) {
    const at = t.u64(eocd - 20 + 8)
    if (!inside(at, 56)) throw bad('its zip64 end record is missing')
    const z = reader(source.read(at, 56))
    if (z.u32(0) !== ZIP64_EOCD) throw bad('its zip64 end record is missing')
    count = z.u64(32)
    centralSize = z.u64(40)
    centralOffset = z.u64(48)
  }
  if (!inside(centralOffset, centralSize)) throw bad('its central directory lies outside the file')

  const central = source.read(centralOffset, centralSize)
  const c = reader(central)
  const within = (at: number, length: number) => at >= 0 && at + length <= central.length
  const entries = new Map<string, ZipEntry>()
  let at = 0
  for (let i = 0; i < count; i++) {
    if (!within(at, 46) || c.u32(at) !== CENTRAL) throw bad(`entry ${i} of the central directory is unreadable`)
    const flags = c.u16(at + 8)
    const nameLength = c.u16(at + 28)
    const extraLength = c.u16(at + 30)
    const commentLength = c.u16(at + 32)
    if (!within(at + 46, nameLength + extraLength)) throw bad(`entry ${i} runs past the file`)
    const entryName = new TextDecoder().decode(central.subarray(at + 46, at + 46 + nameLength))
    if (flags & 1) throw new EngineError('bad-weights', `${name}: ${entryName} is encrypted`)
    let size = c.u32(at + 24)
    let compressedSize = c.u32(at + 20)
    let localHeaderOffset = c.u32(at + 42)
    // Fields too large for 32 bits are 0xffffffff here and follow, in this order, in the zip64 extra field.
    for (let e = at + 46 + nameLength; e + 4 <= at + 46 + nameLength + extraLength;) {
      const id = c.u16(e)
      const length = c.u16(e + 2)
      if (id === ZIP64_EXTRA) {
        let f = e + 4
        const next = () => {
          const v = c.u64(f)
          f += 8
          return v
        }
        if (size === 0xffffffff) size = next()
        if (compressedSize === 0xffffffff) compressedSize = next()
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next()
      }
      e += 4 + length
    }
    entries.set(entryName, { name: entryName, method: c.u16(at + 10), compressedSize, size, localHeaderOffset })
    at += 46 + nameLength + extraLength + commentLength
  }

  const read = (entry: ZipEntry): Uint8Array => {
    const local = entry.localHeaderOffset
    const header = inside(local, 30) ? reader(source.read(local, 30)) : undefined
    if (!header || header.u32(0) !== LOCAL) throw bad(`${entry.name} has no local header`)
    const start = local + 30 + header.u16(26) + header.u16(28)
    if (!inside(start, entry.compressedSize))
      throw new EngineError(
        'truncated',
        `${name}: ${entry.name} runs past the end of the file (truncated download or copy?)`,
      )
    const data = source.read(start, entry.compressedSize)
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
      `${name}: ${entry.name} is compressed with method ${entry.method}; only stored and deflated entries are read`,
    )
  }
  return { entries, read }
}
