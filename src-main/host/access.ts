/**
 * Who may talk to the browser host: whoever holds the token printed at start, through a browser that is
 * really pointed at this machine's loopback address.
 *
 * The token is in the printed URL. Opening it answers with a redirect to the page at a path prefix new at
 * each start (`/<prefix>/`) and a cookie holding the token, scoped to that path: cookies ignore ports, so
 * a cookie for `/` would go to every other server on 127.0.0.1 as well, but this one goes only where a
 * request names the prefix, which nothing but this page knows. The page's scripts, styles, socket and
 * uploads live under the prefix and are let in by the cookie; the token itself never reaches the page's
 * address bar or its scripts (HttpOnly). The Host check stops DNS rebinding (a foreign page whose name
 * resolves to 127.0.0.1 sends its own name as Host); the Origin check on the WebSocket stops another
 * site's page from opening a socket with the cookie.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** 256 random bits, URL-safe. */
export const newToken = (): string => randomBytes(32).toString('base64url')

/** The page's path, new at each start: "/" and 128 random bits, URL-safe. */
export const newPathPrefix = (): string => `/${randomBytes(16).toString('base64url')}`

/** Names a browser uses for this machine's loopback: any port, since an SSH tunnel may change it. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]'])

const hostnameOf = (host: string): string => host.replace(/:\d+$/, '').toLowerCase()

export const isLoopbackHost = (host: string | undefined): boolean => !!host && LOOPBACK_HOSTS.has(hostnameOf(host))

/**
 * A WebSocket upgrade from a page of this very origin, or from a client that is no browser (no Origin).
 * Browsers always send Origin on a WebSocket handshake, so a foreign page cannot leave it out.
 */
export function isSameOriginUpgrade(req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true
  let url: URL
  try {
    url = new URL(origin)
  } catch {
    return false
  }
  return (
    url.protocol === 'http:' && isLoopbackHost(url.host) && url.host.toLowerCase() === req.headers.host?.toLowerCase()
  )
}

/** Cookies are shared by every port of a host: the name carries the port so two hosts do not clash. */
export const cookieName = (port: number): string => `stepwise-${port}`

/** The token as a cookie sent only to paths under `prefix` (and never readable by the page's scripts). */
export function tokenCookie(port: number, token: string, prefix: string): string {
  return `${cookieName(port)}=${token}; Path=${prefix}; HttpOnly; SameSite=Strict`
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

const sameToken = (given: string | undefined, token: string): boolean => {
  if (!given) return false
  const a = Buffer.from(given),
    b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

export interface Presented {
  /** The token was in the URL (?token=) or the x-stepwise-token header. */
  explicit: boolean
  ok: boolean
}

/**
 * Whether the request carries the token: in the query, the x-stepwise-token header, or (for a path under
 * the page's prefix, the only place a browser sends it) the cookie.
 */
export function presentedToken(
  req: IncomingMessage,
  url: URL,
  token: string,
  cookie: { port: number; prefix: string },
): Presented {
  const header = req.headers['x-stepwise-token']
  const explicit = url.searchParams.get('token') ?? (typeof header === 'string' ? header : undefined)
  if (explicit !== undefined) return { explicit: true, ok: sameToken(explicit, token) }
  const underPrefix = url.pathname === cookie.prefix || url.pathname.startsWith(`${cookie.prefix}/`)
  return { explicit: false, ok: underPrefix && sameToken(cookieValue(req, cookieName(cookie.port)), token) }
}
