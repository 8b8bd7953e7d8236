/**
 * Electron security checklist, 18. Avoid usage of the file:// protocol and prefer usage of custom
 * protocols: the built renderer is served on app://stepwise, so the page has an origin of its own and
 * 'self' in the CSP and the IPC sender check mean our bundle only, not every file on the disk.
 */
import { fileInside } from '../static/file-inside'

export const APP_SCHEME = 'app'
export const APP_HOST = 'stepwise'
export const APP_URL = `${APP_SCHEME}://${APP_HOST}/index.html`

/** The file of the built renderer that an app:// URL names: undefined for another host or outside `root`. */
export function rendererFile(root: string, requestUrl: string): string | undefined {
  let url: URL
  try {
    url = new URL(requestUrl)
  } catch {
    return undefined
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return undefined
  return fileInside(root, url.pathname)
}
