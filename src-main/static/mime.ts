/**
 * The Content-Type of a file of the built renderer, for both servers of it (app:// in Electron, the
 * browser host over HTTP). Module scripts need a JavaScript type (Chromium checks it strictly), and with
 * `X-Content-Type-Options: nosniff` a wrong type is a broken page; anything unknown goes as bytes.
 */
import { extname } from 'node:path'

export const MIME_TYPES: Readonly<Record<string, string>> = {
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
}

export const mimeType = (file: string): string => MIME_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream'
