/**
 * The built renderer (out/renderer), served as files. Only files inside that folder, never a listing;
 * the HTML gets the same Content-Security-Policy as in Electron plus the WebSocket back to this host.
 */
import type { ServerResponse } from 'node:http'

import { CONTENT_SECURITY_POLICY } from '../static/csp'
import { fileInside } from '../static/file-inside'
import { mimeType } from '../static/mime'
import { sendFile } from '../static/send-file'

/** The renderer's policy in Electron, and the contract's WebSocket to this host (sockets.ts). */
export const HOST_CONTENT_SECURITY_POLICY = `${CONTENT_SECURITY_POLICY}; connect-src 'self' ws://127.0.0.1:* ws://localhost:*`

/** Serve one file of `root`; false when there is no such file (the caller answers 404). */
export async function serveFile(
  root: string,
  pathname: string,
  res: ServerResponse,
  headers: Record<string, string> = {},
): Promise<boolean> {
  const file = fileInside(root, pathname)
  if (!file) return false
  const type = mimeType(file)
  const html = type.startsWith('text/html')
  return sendFile(file, res, () => ({
    ...headers,
    'content-type': type,
    // The hashed assets never change under one name; the page itself must be fetched fresh.
    'cache-control': html ? 'no-store' : 'private, max-age=3600',
    ...(html ? { 'content-security-policy': HOST_CONTENT_SECURITY_POLICY } : {}),
  }))
}
