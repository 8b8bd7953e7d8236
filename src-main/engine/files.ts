/**
 * Writing results without ever leaving a half-written or silently replaced file: data goes to a temp
 * file beside the target (same filesystem, so the final step is atomic), is fsynced, then moved into place.
 */

import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, link, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'

import { EngineError } from './errors'

export interface WriteOptions {
  /** Replace an existing file; default false: refuse with 'file-exists'. */
  overwrite?: boolean
}

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code

const alreadyExists = (path: string) =>
  new EngineError('file-exists', `${path} already exists; choose another name or allow overwriting`)

export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: WriteOptions = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    const handle = await open(tmp, 'wx')
    try {
      await handle.writeFile(data)
      await handle.sync() // the bytes are on disk before the name points at them
    } finally {
      await handle.close()
    }
    if (opts.overwrite) await rename(tmp, path)
    else await placeWithoutReplacing(tmp, path)
  } catch (e) {
    throw toWriteError(e, path)
  } finally {
    await rm(tmp, { force: true }).catch(() => {})
  }
}

/**
 * link() fails with EEXIST instead of replacing, so no other writer can slip in between a check and the
 * move. Filesystems without hard links (FAT/exFAT drives, some network shares) fall back to check-then-
 * rename, which has a tiny window but is the best those can do.
 */
async function placeWithoutReplacing(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path)
  } catch (e) {
    const code = codeOf(e)
    if (code === 'EEXIST') throw e
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV')
      throw e
    if (await exists(path)) throw Object.assign(new Error('exists'), { code: 'EEXIST' })
    await rename(tmp, path)
  }
}

function toWriteError(e: unknown, path: string): unknown {
  switch (codeOf(e)) {
    case 'EEXIST':
      return alreadyExists(path)
    case 'ENOENT':
      return new EngineError('file-not-found', `${path}: the folder ${dirname(path)} does not exist`)
    case 'EACCES':
    case 'EPERM':
      return new EngineError('runtime-error', `${path}: permission denied; choose a folder you can write to`)
    case 'ENOSPC':
      return new EngineError('runtime-error', `${path}: the disk is full`)
    default:
      return e
  }
}

const exists = (path: string): Promise<boolean> =>
  access(path, constants.F_OK).then(
    () => true,
    () => false,
  )

/**
 * `path` itself if free, else the first free `name (2).ext`, `name (3).ext`, ... the way file managers
 * name copies; `name (2).ext` continues as `name (3).ext`. Someone may take the name before we write it,
 * so pair this with writeFileAtomic without overwrite, which then refuses instead of replacing.
 */
export async function nonClashingPath(path: string): Promise<string> {
  if (!(await exists(path))) return path
  const ext = extname(path)
  const stem = path.slice(0, path.length - ext.length)
  const numbered = /^(.*) \((\d+)\)$/.exec(stem)
  const base = numbered ? numbered[1] : stem
  for (let n = numbered ? Number(numbered[2]) + 1 : 2; n < 100_000; n++) {
    const candidate = `${base} (${n})${ext}`
    if (!(await exists(candidate))) return candidate
  }
  throw new EngineError('file-exists', `${path}: too many files with this name; choose another name`)
}
