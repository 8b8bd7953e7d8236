/**
 * The browser host's export folder (src-main/host/exports.ts): exports running at once all land, each
 * under a name of its own, and a folder that cannot be written to is said to be so.
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { exportFolder } from '../../../src-main/host/exports'

const png = (k: number) => ({ name: 'seed-3.png', bytes: new Uint8Array(1000).fill(k) })

describe('the export folder', () => {
  it('10 exports of one name at once: 10 files under distinct names, each with its own bytes', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'stepwise-exports-')), 'out')
    const folder = exportFolder(dir)
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, k) => folder.save([png(k + 1)])))
    expect(results.map((r) => r.status)).toEqual(Array(10).fill('fulfilled'))
    const paths = results.flatMap((r) => (r.status === 'fulfilled' ? r.value : []))
    expect(readdirSync(dir).sort()).toEqual(
      ['seed-3.png', ...Array.from({ length: 9 }, (_, k) => `seed-3 (${k + 2}).png`)].sort(),
    )
    expect(new Set(paths.map((p) => readFileSync(p)[0])).size).toBe(10)
  })

  it('a dangling link at the name is left alone: the export takes the next name', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-exports-'))
    symlinkSync(join(dir, 'gone.png'), join(dir, 'seed-3.png'))
    expect(await exportFolder(dir).save([png(1)])).toEqual([join(dir, 'seed-3 (2).png')])
    expect(readlinkSync(join(dir, 'seed-3.png'))).toBe(join(dir, 'gone.png'))
  })

  it('an --out that is a file is refused with what to do', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'stepwise-exports-')), 'out')
    writeFileSync(file, '')
    await expect(exportFolder(file).save([png(1)])).rejects.toMatchObject({
      code: 'bad-argument',
      message: `${file}: not a folder (a file has that name); choose a folder`,
    })
  })
})
