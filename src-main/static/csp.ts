/**
 * Electron security checklist, 7. Define a Content Security Policy: the policy of the renderer's page,
 * whoever serves it. The browser host adds only the WebSocket it talks over (connect-src).
 */

/** The renderer's own policy: the meta tag in src-renderer/index.html, which a test keeps in step. */
export const RENDERER_CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'"

/** What only a header can say (frame-ancestors) and what the page never needs (plugins, <base>, forms). */
export const CONTENT_SECURITY_POLICY = `${RENDERER_CSP}; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`
