/**
 * Writing results without ever leaving a half-written or silently replaced file: data goes to a temp
 * file beside the target (same filesystem, so the final step is atomic), is fsynced, then moved into place.
 */

import { randomBytes } from 'node:crypto'
import { link, mkdir, open, rename, rm } from 'node:fs/promises'
import { basename, dirname, extname, join } from 'node:path'

import { EngineError } from './errors'

export interface WriteOptions {
  /** Replace an existing file; default false: refuse with 'file-exists'. */
  overwrite?: boolean
}

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | undefined)?.code

const alreadyExists = (path: string) =>
  new EngineError('file-exists', `${path} already exists; choose another name or allow overwriting`)

const tempBeside = (path: string) =>
  join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)

/** The bytes in a new file, fsynced: on disk before any name points at them. */
async function writeTemp(tmp: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(tmp, 'wx')
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

export async function writeFileAtomic(path: string, data: Uint8Array | string, opts: WriteOptions = {}): Promise<void> {
  const tmp = tempBeside(path)
  try {
    await writeTemp(tmp, data)
    if (opts.overwrite) await rename(tmp, path)
    else await placeWithoutReplacing(tmp, path)
  } catch (e) {
    throw toWriteError(e, path)
  } finally {
    await rm(tmp, { force: true }).catch(() => {})
  }
}

/**
 * Write to `path`, or when anything has that name (a file, a folder, a dangling link) to the first free
 * `name (2).ext`, `name (3).ext`, ... the way file managers name copies (`name (2).ext` goes on as
 * `name (3).ext`). Each name is claimed atomically, so writers racing for one name each get one of their
 * own and none replaces another's file. Answers the path written.
 */
export async function writeFileNumbered(path: string, data: Uint8Array | string): Promise<string> {
  const tmp = tempBeside(path)
  try {
    await writeTemp(tmp, data)
    for (const candidate of numberedPaths(path)) {
      try {
        await placeWithoutReplacing(tmp, candidate)
        return candidate
      } catch (e) {
        if (codeOf(e) !== 'EEXIST') throw e
      }
    }
    throw new EngineError('file-exists', `${path}: too many files with this name; choose another name`)
  } catch (e) {
    throw toWriteError(e, path)
  } finally {
    await rm(tmp, { force: true }).catch(() => {})
  }
}

/** Copies are numbered up to here; past it the folder is not one a person looks through. */
const MAX_COPIES = 100_000

/** `path`, then `name (2).ext`, `name (3).ext`, ...; a numbered `name (2).ext` goes on as `name (3).ext`. */
function* numberedPaths(path: string): Generator<string> {
  yield path
  const ext = extname(path)
  const stem = path.slice(0, path.length - ext.length)
  const numbered = /^(.*) \((\d+)\)$/.exec(stem)
  const base = numbered ? numbered[1] : stem
  for (let n = numbered ? Number(numbered[2]) + 1 : 2; n < MAX_COPIES; n++) yield `${base} (${n})${ext}`
}

/**
 * link() fails with EEXIST instead of replacing, so no other writer can slip in between a check and the
 * move. Filesystems without hard links (FAT/exFAT drives, some network shares) claim the name with an
 * exclusive create instead, then move the data over that empty claim.
 */
async function placeWithoutReplacing(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path)
  } catch (e) {
    const code = codeOf(e)
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EXDEV')
      throw e
    await (await open(path, 'wx')).close()
    await rename(tmp, path)
  }
}

/** The system's errors about a place one cannot write to, said so a user can act on them. */
const CANNOT_WRITE: Readonly<Record<string, string>> = {
  EROFS: 'the file system is read-only; choose another folder',
  EACCES: 'permission denied; choose a folder you can write to',
  EPERM: 'permission denied; choose a folder you can write to',
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
}

const cannotWrite = (e: unknown, where: string): EngineError | undefined => {
  const why = CANNOT_WRITE[codeOf(e) ?? '']
  return why ? new EngineError('runtime-error', `${where}: ${why}`) : undefined
}

/**
 * The folder files will be written to, made when missing; an error saying what is wrong with it (a file of
 * that name, read-only, not ours) rather than the system's.
 */
export async function ensureFolder(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true })
  } catch (e) {
    const code = codeOf(e)
    if (code === 'EEXIST' || code === 'ENOTDIR')
      throw new EngineError('bad-argument', `${dir}: not a folder (a file has that name); choose a folder`)
    throw cannotWrite(e, dir) ?? e
  }
}

function toWriteError(e: unknown, path: string): unknown {
  if (e instanceof EngineError) return e
  switch (codeOf(e)) {
    case 'EEXIST':
      return alreadyExists(path)
    case 'ENOENT':
      return new EngineError('file-not-found', `${path}: the folder ${dirname(path)} does not exist`)
    case 'ENOTDIR':
      return new EngineError('bad-argument', `${path}: ${dirname(path)} is not a folder`)
    default:
      return cannotWrite(e, path) ?? e
  }
}
