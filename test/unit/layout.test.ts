/** The engine runs under plain Node: nothing in src-main/engine may import electron. */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { expect, it } from 'vitest'

async function* files(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isDirectory()) yield* files(join(dir, e.name))
    else if (e.name.endsWith('.ts')) yield join(dir, e.name)
  }
}

it('the engine imports nothing from electron', async () => {
  const offenders: string[] = []
  for await (const f of files('src-main/engine')) {
    if (/from ['"]electron['"/]|require\(['"]electron/.test(await readFile(f, 'utf8'))) offenders.push(f)
  }
  expect(offenders).toEqual([])
})
