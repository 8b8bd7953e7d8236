/**
 * The built renderer (out/renderer), served as files. Only files inside that folder, never a listing;
 * the HTML gets the same Content-Security-Policy as in Electron plus the WebSocket back to this host.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { ServerResponse } from 'node:http'
import { extname, resolve, sep } from 'node:path'

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self' ws://127.0.0.1:* ws://localhost:*",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ')

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
}

/** A file under `root` for a URL path ('/' is index.html); undefined for anything that leaves it. */
export function fileFor(root: string, pathname: string): string | undefined {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return undefined
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined
  const relative = decoded === '/' ? 'index.html' : decoded.replace(/^\/+/, '')
  const base = resolve(root)
  const file = resolve(base, relative)
  return file.startsWith(base + sep) ? file : undefined
}

/** Serve one file of `root`; false when there is no such file (the caller answers 404). */
export async function serveFile(
  root: string,
  pathname: string,
  res: ServerResponse,
  headers: Record<string, string> = {},
): Promise<boolean> {
  const file = fileFor(root, pathname)
  if (!file) return false
  const info = await stat(file).catch(() => undefined)
  if (!info?.isFile()) return false
  const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
  const html = type.startsWith('text/html')
  res.writeHead(200, {
    ...headers,
    'content-type': type,
    'content-length': String(info.size),
    // The hashed assets never change under one name; the page itself must be fetched fresh.
    'cache-control': html ? 'no-store' : 'private, max-age=3600',
    ...(html ? { 'content-security-policy': CONTENT_SECURITY_POLICY } : {}),
  })
  await new Promise<void>((done) =>
    createReadStream(file)
      .on('error', () => (res.destroy(), done()))
      .on('end', done)
      .pipe(res),
  )
  return true
}
