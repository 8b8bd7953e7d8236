/**
 * Who may talk to the browser host: whoever holds the token printed at start, through a browser that is
 * really pointed at this machine's loopback address.
 *
 * The token is in the printed URL; opening it sets a cookie so the page's scripts, styles and uploads
 * are let in without it. The Host check stops DNS rebinding (a foreign page whose name resolves to
 * 127.0.0.1 sends its own name as Host); the Origin check on the WebSocket stops another site's page
 * from opening a socket with the cookie.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** 256 random bits, URL-safe. */
export const newToken = (): string => randomBytes(32).toString('base64url')

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

export function tokenCookie(port: number, token: string): string {
  return `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`
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

/** Whether the request carries the token: in the query, the x-stepwise-token header, or the cookie. */
export function presentedToken(req: IncomingMessage, url: URL, token: string, port: number): Presented {
  const header = req.headers['x-stepwise-token']
  const explicit = url.searchParams.get('token') ?? (typeof header === 'string' ? header : undefined)
  if (explicit !== undefined) return { explicit: true, ok: sameToken(explicit, token) }
  return { explicit: false, ok: sameToken(cookieValue(req, cookieName(port)), token) }
}
