import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterEach, beforeEach, describe, expect, test } from 'vitest'

import { EngineError, toErrorData } from '../../../src-main/engine/errors'
import { nonClashingPath, writeFileAtomic } from '../../../src-main/engine/files'

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

describe('nonClashingPath', () => {
  test('a free name is kept', async () => {
    expect(await nonClashingPath(join(dir, 'seed-42.png'))).toBe(join(dir, 'seed-42.png'))
  })

  test('a taken name gets the next free "(n)"', async () => {
    await writeFile(join(dir, 'seed-42.png'), '')
    expect(await nonClashingPath(join(dir, 'seed-42.png'))).toBe(join(dir, 'seed-42 (2).png'))
    await writeFile(join(dir, 'seed-42 (2).png'), '')
    expect(await nonClashingPath(join(dir, 'seed-42.png'))).toBe(join(dir, 'seed-42 (3).png'))
    expect(await nonClashingPath(join(dir, 'seed-42 (2).png'))).toBe(join(dir, 'seed-42 (3).png'))
  })

  test('names without an extension', async () => {
    await writeFile(join(dir, 'noise'), '')
    expect(await nonClashingPath(join(dir, 'noise'))).toBe(join(dir, 'noise (2)'))
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
