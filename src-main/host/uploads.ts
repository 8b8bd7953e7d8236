/**
 * Models dropped into the page, uploaded so the engine can open them: `PUT /upload/<batch>/<path>` with
 * the file as the body, streamed to a temp folder of this server (removed when it stops). A batch is one
 * drop; a dropped folder keeps its layout, so a diffusers folder stays a diffusers folder.
 */
import { randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { tmpdir } from 'node:os'
import { join, sep } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/** Large enough for any U-Net worth sampling on a laptop; a runaway upload stops here. */
export const MAX_UPLOAD_BYTES = 2 * 1024 ** 3

const BATCH_ID = /^[A-Za-z0-9_-]{1,64}$/
const MAX_DEPTH = 32

export interface Uploads {
  /** The folder every upload goes under. */
  readonly root: string
  /** Answer one PUT; `rawPath` is the request path after `/upload/`, still percent-encoded. */
  receive(req: IncomingMessage, res: ServerResponse, rawPath: string): Promise<void>
  /** Whether a path is one of ours (an upload is not worth remembering among the recent models). */
  holds(path: string): boolean
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

/** Counts the bytes going through and fails past the limit, so the body is never held in memory. */
function limitTo(maxBytes: number): Transform {
  let seen = 0
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length
      if (seen > maxBytes) callback(Object.assign(new Error('too large'), { code: 'TOO_LARGE' }))
      else callback(null, chunk)
    },
  })
}

export async function createUploads(options: { maxBytes?: number } = {}): Promise<Uploads> {
  const maxBytes = options.maxBytes ?? MAX_UPLOAD_BYTES
  const root = await mkdtemp(join(tmpdir(), `stepwise-uploads-${randomBytes(3).toString('hex')}-`))

  return {
    root,
    holds: (path) => path === root || path.startsWith(root + sep),
    remove: () => rm(root, { recursive: true, force: true }),

    async receive(req, res, rawPath) {
      const parsed = uploadSegments(rawPath)
      if ('refused' in parsed) {
        req.resume()
        return answer(res, 400, { error: `upload refused: ${parsed.refused}` })
      }
      const declared = Number(req.headers['content-length'] ?? 0)
      if (declared > maxBytes) {
        req.resume()
        return answer(res, 413, { error: `upload refused: larger than ${maxBytes} bytes` })
      }
      const batchDir = join(root, parsed.batch)
      const file = join(batchDir, ...parsed.names)
      try {
        await mkdir(join(file, '..'), { recursive: true })
        // 'wx': a second upload of the same name in one batch is refused, not mixed into the first.
        await pipeline(req, limitTo(maxBytes), createWriteStream(file, { flags: 'wx' }))
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'EEXIST') await rm(file, { force: true }).catch(() => {})
        if (res.headersSent || res.destroyed) return
        if (code === 'TOO_LARGE') return answer(res, 413, { error: `upload refused: larger than ${maxBytes} bytes` })
        if (code === 'EEXIST')
          return answer(res, 409, {
            error: `upload refused: ${parsed.names.join('/')} was already uploaded in this batch`,
          })
        return answer(res, 500, { error: `upload failed: ${(e as Error).message}` })
      }
      // `top` is what model.load gets for the dropped item this file belongs to: itself, or its folder.
      answer(res, 201, { path: file, top: join(batchDir, parsed.names[0]) })
    },
  }
}
