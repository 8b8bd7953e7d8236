/**
 * Electron security checklist, 17. Validate the sender of all IPC messages; the same test limits
 * navigation (13. Disable or limit navigation): only our own page may use the IPC channels or be
 * navigated to (VS Code's and Electron Fiddle's rule).
 */
import { APP_HOST, APP_SCHEME } from './app-scheme'

/** Where the window's page comes from: the electron-vite dev server in development, app:// when built. */
export interface RendererSource {
  devUrl?: string
}

/**
 * Is this frame URL our page? The dev server's origin in development, app://stepwise when built; anything
 * else (a navigated or injected frame, a file:// page) is not.
 */
export function isTrustedSender(frameUrl: string | undefined, renderer: RendererSource): boolean {
  if (!frameUrl) return false
  let url: URL
  try {
    url = new URL(frameUrl)
  } catch {
    return false
  }
  if (renderer.devUrl) return url.origin === new URL(renderer.devUrl).origin
  // Node's URL gives non-special schemes an opaque origin ('null'), so compare scheme and host.
  return url.protocol === `${APP_SCHEME}:` && url.host === APP_HOST
}
