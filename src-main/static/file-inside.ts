/**
 * Which file under a served folder a URL path names, for both servers of the built renderer. The one
 * place that decides what "inside" means, so app:// and the browser host cannot drift apart on it.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path'

/**
 * The file under `root` that a URL's pathname names ('/' is index.html), or undefined when it is not
 * plainly inside: undecodable, a NUL, a backslash (a separator on Windows, never in our URLs), or a path
 * that resolves outside `root` once decoded (an encoded ../ included). The pathname is decoded once: a
 * second decoding is how %252e%252e would become ../.
 */
export function fileInside(root: string, urlPathname: string): string | undefined {
  let path: string
  try {
    path = decodeURIComponent(urlPathname)
  } catch {
    return undefined
  }
  if (path.includes('\0') || path.includes('\\')) return undefined
  const base = resolve(root)
  const file = resolve(base, path === '/' ? 'index.html' : path.replace(/^\/+/, ''))
  const inside = relative(base, file)
  return inside !== '' && inside !== '..' && !inside.startsWith('..' + sep) && !isAbsolute(inside) ? file : undefined
}
