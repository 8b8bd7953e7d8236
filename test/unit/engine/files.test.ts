import type * as FsPromises from 'node:fs/promises'
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'

import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'

import { EngineError, toErrorData } from '../../../src-main/engine/errors'
import { ensureFolder, writeFileAtomic, writeFileNumbered } from '../../../src-main/engine/files'

/** A folder name standing for a read-only file system: creating anything inside it fails with EROFS. */
const READ_ONLY = 'read-only-fs'

// Tests run as root on CI, for whom no folder is read-only: the file system's answer is played here.
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>()
  const readOnly = (path: unknown, syscall: string) => {
    const inside = String(path).includes(`${sep}read-only-fs${sep}`)
    return inside && Object.assign(new Error(`EROFS: read-only file system, ${syscall} '${path}'`), { code: 'EROFS' })
  }
  const open: typeof fs.open = (path, ...rest) => {
    const e = readOnly(path, 'open')
    return e ? Promise.reject(e) : fs.open(path, ...rest)
  }
  const mkdir = ((path: string, options?: object) => {
    const e = readOnly(path, 'mkdir')
    return e ? Promise.reject(e) : fs.mkdir(path, options)
  }) as typeof fs.mkdir
  return { ...fs, open, mkdir, default: { ...fs, open, mkdir } }
})

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepwise-files-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

const rejection = async (p: Promise<unknown>): Promise<EngineError> => {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(EngineError)
  return e as EngineError
}

describe('writeFileAtomic', () => {
  test('writes bytes and text, leaving no temp files', async () => {
    await writeFileAtomic(join(dir, 'seed-42.png'), Uint8Array.from([1, 2, 3]))
    await writeFileAtomic(join(dir, 'run.json'), '{"seed":42}')
    expect([...(await readFile(join(dir, 'seed-42.png')))]).toEqual([1, 2, 3])
    expect(await readFile(join(dir, 'run.json'), 'utf8')).toBe('{"seed":42}')
    expect((await readdir(dir)).sort()).toEqual(['run.json', 'seed-42.png'])
  })

  test('refuses to overwrite, keeps the old file, and says what to do', async () => {
    const path = join(dir, 'seed-42.png')
    await writeFile(path, 'old')
    const e = await rejection(writeFileAtomic(path, 'new'))
    expect(e.code).toBe('file-exists')
    expect(e.message).toBe(`${path} already exists; choose another name or allow overwriting`)
    expect(await readFile(path, 'utf8')).toBe('old')
    expect(await readdir(dir)).toEqual(['seed-42.png'])
  })

  test('overwrites when allowed', async () => {
    const path = join(dir, 'seed-42.png')
    await writeFile(path, 'old')
    await writeFileAtomic(path, 'new', { overwrite: true })
    expect(await readFile(path, 'utf8')).toBe('new')
    expect(await readdir(dir)).toEqual(['seed-42.png'])
  })

  test('of racing writers without overwrite exactly one wins, whole', async () => {
    const path = join(dir, 'race.bin')
    const payloads = Array.from({ length: 6 }, (_, k) => new Uint8Array(64 * 1024).fill(k + 1))
    const results = await Promise.allSettled(payloads.map((p) => writeFileAtomic(path, p)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const written = await readFile(path)
    expect(written.length).toBe(64 * 1024)
    expect(new Set(written).size).toBe(1)
    expect(await readdir(dir)).toEqual(['race.bin'])
  })

  test('a missing folder is file-not-found and leaves nothing behind', async () => {
    const e = await rejection(writeFileAtomic(join(dir, 'nope', 'x.png'), 'x'))
    expect(e.code).toBe('file-not-found')
    expect(e.message).toContain('does not exist')
    expect(await readdir(dir)).toEqual([])
  })
})

describe('writeFileNumbered', () => {
  test('a free name is kept', async () => {
    expect(await writeFileNumbered(join(dir, 'seed-42.png'), 'a')).toBe(join(dir, 'seed-42.png'))
    expect(await readFile(join(dir, 'seed-42.png'), 'utf8')).toBe('a')
  })

  test('a taken name gets the next free "(n)"; "name (2)" goes on as "name (3)"', async () => {
    await writeFile(join(dir, 'seed-42.png'), 'old')
    expect(await writeFileNumbered(join(dir, 'seed-42.png'), 'b')).toBe(join(dir, 'seed-42 (2).png'))
    expect(await writeFileNumbered(join(dir, 'seed-42.png'), 'c')).toBe(join(dir, 'seed-42 (3).png'))
    expect(await writeFileNumbered(join(dir, 'seed-42 (2).png'), 'd')).toBe(join(dir, 'seed-42 (4).png'))
    expect(await readFile(join(dir, 'seed-42.png'), 'utf8')).toBe('old')
    expect(await readFile(join(dir, 'seed-42 (3).png'), 'utf8')).toBe('c')
  })

  test('names without an extension', async () => {
    await writeFile(join(dir, 'noise'), '')
    expect(await writeFileNumbered(join(dir, 'noise'), 'x')).toBe(join(dir, 'noise (2)'))
  })

  test('10 writers of one name at once: 10 files, each whole, none replaced', async () => {
    const path = join(dir, 'seed-3.png')
    const payloads = Array.from({ length: 10 }, (_, k) => new Uint8Array(64 * 1024).fill(k + 1))
    const written = await Promise.all(payloads.map((p) => writeFileNumbered(path, p)))
    expect(new Set(written).size).toBe(10)
    expect(written.sort()).toEqual(
      ['seed-3.png', ...Array.from({ length: 9 }, (_, k) => `seed-3 (${k + 2}).png`)].map((n) => join(dir, n)).sort(),
    )
    const fills = await Promise.all(written.map(async (p) => new Set(await readFile(p))))
    expect(fills.every((f) => f.size === 1)).toBe(true)
    expect(new Set(fills.map((f) => [...f][0])).size).toBe(10)
    expect((await readdir(dir)).length).toBe(10)
  })

  test('a dangling link or a folder at the name is something there: the next name is taken', async () => {
    await symlink(join(dir, 'nowhere.png'), join(dir, 'seed-7.png'))
    await mkdir(join(dir, 'seed-7 (2).png'))
    expect(await writeFileNumbered(join(dir, 'seed-7.png'), 'x')).toBe(join(dir, 'seed-7 (3).png'))
    expect(await readlink(join(dir, 'seed-7.png'))).toBe(join(dir, 'nowhere.png'))
  })
})

describe('ensureFolder', () => {
  test('makes a missing folder with its parents, and is content with one that exists', async () => {
    await ensureFolder(join(dir, 'a', 'b'))
    await ensureFolder(join(dir, 'a', 'b'))
    expect(await readdir(join(dir, 'a'))).toEqual(['b'])
  })

  test('a file at the name, or above it, is said to be no folder', async () => {
    await writeFile(join(dir, 'out'), '')
    for (const target of [join(dir, 'out'), join(dir, 'out', 'sub')]) {
      const e = await rejection(ensureFolder(target))
      expect(e.code).toBe('bad-argument')
      expect(e.message).toBe(`${target}: not a folder (a file has that name); choose a folder`)
    }
  })
})

describe('a read-only file system', () => {
  test('is named as such, with the file, and leaves nothing behind', async () => {
    const readOnly = join(dir, READ_ONLY)
    await mkdir(readOnly)
    for (const write of [
      () => writeFileAtomic(join(readOnly, 'seed-1.png'), 'x'),
      () => writeFileNumbered(join(readOnly, 'seed-1.png'), 'x'),
    ]) {
      const e = await rejection(write())
      expect(e.code).toBe('runtime-error')
      expect(e.message).toBe(`${join(readOnly, 'seed-1.png')}: the file system is read-only; choose another folder`)
    }
    const e = await rejection(ensureFolder(join(readOnly, 'sub')))
    expect(e.message).toBe(`${join(readOnly, 'sub')}: the file system is read-only; choose another folder`)
    expect(await readdir(readOnly)).toEqual([])
  })
})

describe('errors', () => {
  test('cross as data: EngineError keeps its code, anything else is runtime-error', () => {
    expect(toErrorData(new EngineError('bad-npy', 'x.npy: bad'))).toEqual({ code: 'bad-npy', message: 'x.npy: bad' })
    expect(toErrorData(new TypeError('boom'))).toEqual({ code: 'runtime-error', message: 'boom' })
    expect(toErrorData('plain')).toEqual({ code: 'runtime-error', message: 'plain' })
    expect(new EngineError('cancelled', 'stopped').name).toBe('EngineError')
  })
})
