/**
 * Electron security checklist, 18. Avoid usage of the file:// protocol and prefer usage of custom
 * protocols, and 7. Define a Content Security Policy. app://stepwise: the built renderer served from its
 * own folder and nothing else, each response with the Content-Security-Policy header; in development the
 * dev server's responses get the same header.
 */
import { readFile } from 'node:fs/promises'

import { protocol, type Session } from 'electron'

import { CONTENT_SECURITY_POLICY } from '../static/csp'
import { mimeType } from '../static/mime'
import { APP_SCHEME, rendererFile } from './app-scheme'

/**
 * Before the app is ready: app:// as a standard, secure scheme, so relative URLs, module scripts and
 * fetch behave as on https and the page is a secure context with an origin of its own.
 */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, corsEnabled: true } },
  ])
}

const notFound = () => new Response('Not found', { status: 404, headers: { 'Content-Type': 'text/plain' } })

/** Serve `root` (out/renderer) on app://stepwise/. Files are read with fs, so inside an asar too. */
export function serveRenderer(session: Session, root: string): void {
  session.protocol.handle(APP_SCHEME, async (request) => {
    const file = rendererFile(root, request.url)
    if (!file || request.method !== 'GET') return notFound()
    let bytes: Buffer
    try {
      bytes = await readFile(file)
    } catch {
      return notFound()
    }
    return new Response(new Uint8Array(bytes), {
      headers: {
        'Content-Type': mimeType(file),
        'Content-Security-Policy': CONTENT_SECURITY_POLICY,
        'X-Content-Type-Options': 'nosniff',
      },
    })
  })
}

/** Development: the dev server's pages carry the same policy as a header (the meta tag already applies). */
export function addCspToDevServer(session: Session, devUrl: string): void {
  const origin = new URL(devUrl).origin
  session.webRequest.onHeadersReceived({ urls: [`${origin}/*`] }, (details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] } })
  })
}
