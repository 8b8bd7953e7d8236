/**
 * Models dropped into the page, uploaded so the engine can open them: `PUT /upload/<batch>/<path>` with
 * the file as the body, streamed to a temp folder of this server (removed when it stops). A batch is one
 * drop; a dropped folder keeps its layout, so a diffusers folder stays a diffusers folder.
 *
 * The page sees uploads by name (`<batch>/<path>`, relative to the folder), never by their absolute temp
 * paths; model.load resolves a name back (`resolve`) and the answers show names again (`hide`). Each file
 * is at most MAX_UPLOAD_BYTES and all of one host's uploads together at most its quota
 * (DEFAULT_UPLOAD_QUOTA_BYTES unless `serve --upload-quota-gib` says otherwise). The folder's name holds
 * the host's process id, so a host that died without removing it (a crash, a kill) has it removed by the
 * next one to start.
 */
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { isAbsolute, join, relative, resolve, sep } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

import { DEFAULT_UPLOAD_QUOTA_BYTES, MAX_UPLOAD_BYTES } from '../../src-shared/limits'

const BATCH_ID = /^[A-Za-z0-9_-]{1,64}$/
const MAX_DEPTH = 32
/** `stepwise-uploads-<pid>-<random>`: the process that made it. */
const FOLDER_PREFIX = 'stepwise-uploads-'
const FOLDER = /^stepwise-uploads-(\d+)-/

export interface UploadOptions {
  /** The largest file; default MAX_UPLOAD_BYTES. */
  maxBytes?: number
  /** All uploads of this host together; default DEFAULT_UPLOAD_QUOTA_BYTES. */
  quotaBytes?: number
  /** Where the upload folder is made, and stale ones are looked for; default the system's temp folder. */
  parentDir?: string
}

export interface Uploads {
  /** The folder every upload goes under. */
  readonly root: string
  /** Answer one PUT; `rawPath` is the request path after `/upload/`, still percent-encoded. */
  receive(req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<void>
  /** The file or folder an upload's name stands for; undefined when `name` is no upload name. */
  resolve(name: string): string | undefined
  /** `text` with this folder's absolute paths turned back into upload names. */
  hide(text: string): string
  /** Whether a path is one of ours (an upload is not worth remembering among the recent models). */
  holds(path: string): boolean
  /** Bytes held by the uploads so far (and those being received). */
  usedBytes(): number
  remove(): Promise<void>
}

/**
 * The path segments of an upload, or why they are refused: no `..`, no empty or absolute parts, no
 * separators or drive colons hidden in a segment, no control characters.
 */
export function uploadSegments(rawPath: string): { batch: string; names: string[] } | { refused: string } {
  const raw = rawPath.split('/')
  let parts: string[]
  try {
    parts = raw.map((p) => decodeURIComponent(p))
  } catch {
    return { refused: 'the path is not valid percent-encoding' }
  }
  const [batch, ...names] = parts
  if (!BATCH_ID.test(batch ?? '')) return { refused: 'the batch id must be 1-64 letters, digits, - or _' }
  if (names.length === 0) return { refused: 'no file name' }
  if (names.length > MAX_DEPTH) return { refused: `folders nested deeper than ${MAX_DEPTH}` }
  for (const name of names) {
    if (name === '' || name === '.' || name === '..') return { refused: `"${name}" is not a file or folder name` }
    // eslint-disable-next-line no-control-regex
    if (/[/\\:\u0000-\u001f\u007f]/.test(name))
      return { refused: `"${name}" holds a separator, colon or control character` }
    if (Buffer.byteLength(name) > 255) return { refused: 'a name longer than 255 bytes' }
  }
  return { batch, names }
}

const answer = (res: ServerResponse, status: number, body: object) => {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify(body))
}

/** Sizes as people read them: bytes, KiB, MiB or GiB. */
const formatBytes = (n: number): string => {
  const [unit, size] = n >= 1024 ** 3 ? ['GiB', 1024 ** 3] : n >= 1024 ** 2 ? ['MiB', 1024 ** 2] : ['KiB', 1024]
  return n < 1024 ? `${n} bytes` : `${Number((n / size).toFixed(1))} ${unit}`
}

const refusal = (code: string, message: string) => Object.assign(new Error(message), { code })

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    // EPERM: alive, someone else's.
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Remove the upload folders of hosts that are no longer running (they ended without cleaning up). */
async function removeStaleFolders(parentDir: string): Promise<void> {
  const entries = await readdir(parentDir, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    const pid = Number(FOLDER.exec(entry.name)?.[1])
    if (!entry.isDirectory() || !pid || pid === process.pid || isAlive(pid)) continue
    await rm(join(parentDir, entry.name), { recursive: true, force: true }).catch(() => {})
  }
}

export async function createUploads(options: UploadOptions = {}): Promise<Uploads> {
  const maxBytes = options.maxBytes ?? MAX_UPLOAD_BYTES
  const quotaBytes = options.quotaBytes ?? DEFAULT_UPLOAD_QUOTA_BYTES
  const parentDir = options.parentDir ?? tmpdir()
  await removeStaleFolders(parentDir)
  const root = await mkdtemp(join(parentDir, `${FOLDER_PREFIX}${process.pid}-`))
  /** Bytes of every upload kept, and of those being received. */
  let used = 0

  const nameOf = (path: string) => relative(root, path).split(sep).join('/')
  const tooLarge = () => `upload refused: larger than ${formatBytes(maxBytes)}, the most one file may be`
  /** `kept`: the bytes of the other uploads. */
  const overQuota = (kept: number) =>
    `upload refused: this host's uploads would pass their quota of ${formatBytes(quotaBytes)} ` +
    `(${formatBytes(kept)} used); restart \`npm run serve\` to clear them, or give it a larger --upload-quota-gib`

  /** Passes the body on, counting it against the file's limit and the quota, so it is never held in memory. */
  const meter = (counted: { bytes: number }) =>
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        counted.bytes += chunk.length
        used += chunk.length
        if (counted.bytes > maxBytes) callback(refusal('TOO_LARGE', tooLarge()))
        else if (used > quotaBytes) callback(refusal('OVER_QUOTA', overQuota(used - counted.bytes)))
        else callback(null, chunk)
      },
    })

  return {
    root,
    holds: (path) => path === root || path.startsWith(root + sep),
    usedBytes: () => used,
    remove: () => rm(root, { recursive: true, force: true }),

    resolve(name) {
      if (isAbsolute(name)) return undefined
      const path = resolve(root, name)
      const inside = relative(root, path)
      return inside && !inside.startsWith('..') && !isAbsolute(inside) ? path : undefined
    },

    hide: (text) => text.split(root + sep).join(''),

    async receive(req, res, rawPath) {
      const parsed = uploadSegments(rawPath)
      if ('refused' in parsed) {
        req.resume()
        return answer(res, 400, { error: `upload refused: ${parsed.refused}` })
      }
      const declared = Number(req.headers['content-length'] ?? 0)
      if (declared > maxBytes || used + declared > quotaBytes) {
        req.resume()
        return answer(res, 413, { error: declared > maxBytes ? tooLarge() : overQuota(used) })
      }
      const batchDir = join(root, parsed.batch)
      const file = join(batchDir, ...parsed.names)
      const counted = { bytes: 0 }
      try {
        await mkdir(join(file, '..'), { recursive: true })
        // 'wx': a second upload of the same name in one batch is refused, not mixed into the first.
        await pipeline(req, meter(counted), createWriteStream(file, { flags: 'wx' }))
      } catch (e) {
        used -= counted.bytes
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'EEXIST') await rm(file, { force: true }).catch(() => {})
        if (res.headersSent || res.destroyed) return
        if (code === 'TOO_LARGE' || code === 'OVER_QUOTA') return answer(res, 413, { error: (e as Error).message })
        if (code === 'EEXIST')
          return answer(res, 409, {
            error: `upload refused: ${parsed.names.join('/')} was already uploaded in this batch`,
          })
        return answer(res, 500, {
          error: `upload failed: ${nameOf(file)}: ${(e as Error).message.split(root + sep).join('')}`,
        })
      }
      // `top` is what model.load gets for the dropped item this file belongs to: itself, or its folder.
      answer(res, 201, { path: nameOf(file), top: nameOf(join(batchDir, parsed.names[0])) })
    },
  }
}
