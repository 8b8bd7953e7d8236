/** Stream one file into an HTTP response (the browser host's renderer files and export downloads). */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'

/**
 * Answer 200 with `headers` (content-length added) and the file's bytes; false, with nothing written,
 * when `path` is not a file (the caller answers 404). A read error mid-way ends the response.
 */
export async function sendFile(
  path: string,
  res: ServerResponse,
  headers: (size: number) => Record<string, string>,
): Promise<boolean> {
  const info = await stat(path).catch(() => undefined)
  if (!info?.isFile()) return false
  res.writeHead(200, { ...headers(info.size), 'content-length': String(info.size) })
  await new Promise<void>((done) =>
    createReadStream(path)
      .on('error', () => (res.destroy(), done()))
      .on('end', done)
      .pipe(res),
  )
  return true
}
