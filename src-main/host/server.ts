/**
 * The browser host: the renderer and the contract served to a browser on this machine (or through an SSH
 * tunnel from a headless GPU box), with the same shell and engine worker as the Electron app.
 *
 *   GET  /?token=...             the printed URL: a redirect to /<prefix>/ with the token's cookie (access.ts)
 *   GET  /<prefix>/              the page
 *   GET  /<prefix>/assets/...    the rest of the built renderer
 *   GET  /<prefix>/ws            the WebSocket carrying the contract (sockets.ts, src-preload/wire.ts)
 *   PUT  /<prefix>/upload/<batch>/<path>  a dropped model file (uploads.ts)
 *   GET  /<prefix>/exports/<name>         an export this server wrote (exports.ts)
 *
 * Everything needs the token: the cookie under the prefix, or (clients that are no browser) the URL's
 * ?token= or the x-stepwise-token header on the same paths with or without the prefix. A wrong one gets
 * 403 and nothing else.
 */
import { mkdirSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

import Conf from 'conf'

import type { ModelCard } from '../../src-preload/contract'
import { MODEL_CACHE_DIR } from '../engine/model/graph-cache'
import { type EngineClient, startEngine } from '../service/engine-client'
import { HISTORY_DIR } from '../service/run-store'
import { createShell } from '../service/shell'
import { openSettings } from '../settings'
import { isLoopbackHost, isSameOriginUpgrade, newPathPrefix, newToken, presentedToken, tokenCookie } from './access'
import { exportFolder } from './exports'
import { RENDERER_OUT } from './renderer-build'
import { createSocketHub } from './sockets'
import { serveFile } from './static-files'
import { createUploads } from './uploads'

export interface HostOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  /** Where settings.json lives; default the per-user config folder (defaultSettingsDir). */
  settingsDir?: string
  /** Where exports are written; created when needed. */
  outDir?: string
  /** The built renderer; default out/renderer (main.ts builds it first). */
  rendererDir?: string
  /** A fixed token (tests); default a fresh random one. */
  token?: string
  /** The largest upload (MAX_UPLOAD_BYTES by default) and all uploads together (DEFAULT_UPLOAD_QUOTA_BYTES). */
  maxUploadBytes?: number
  uploadQuotaBytes?: number
  /** How long a page's runs outlive its last socket (DISCONNECT_GRACE_MS by default). */
  disconnectGraceMs?: number
  /** An engine to use instead of starting one (closed with the host all the same). */
  engine?: EngineClient
  log?: (line: string) => void
}

export interface Host {
  url: string
  port: number
  token: string
  outDir: string
  uploadDir: string
  close(): Promise<void>
}

export const DEFAULT_OUT_DIR = 'stepwise-exports'

/** The platform's per-user config folder, as Electron's userData would be, under "stepwise". */
export function defaultSettingsDir(): string {
  const home = homedir()
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'stepwise')
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'stepwise')
  return join(process.env.XDG_CONFIG_HOME ?? join(home, '.config'), 'stepwise')
}

/** One line naming the execution provider in use and why the others were skipped. */
export const providerNote = (card: ModelCard): string =>
  `Stepwise: ${card.name} runs on ${card.provider}` +
  (card.skippedProviders.length
    ? ` (skipped: ${card.skippedProviders.map((s) => `${s.provider}: ${s.reason}`).join('; ')})`
    : '')

const refuse = (res: ServerResponse, status: number, text: string) => {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' })
  res.end(text + '\n')
}

export async function startHost(options: HostOptions = {}): Promise<Host> {
  const log = options.log ?? console.log
  const token = options.token ?? newToken()
  const prefix = newPathPrefix()
  const rendererDir = resolve(options.rendererDir ?? RENDERER_OUT)
  const settingsDir = resolve(options.settingsDir ?? defaultSettingsDir())
  mkdirSync(settingsDir, { recursive: true })
  const settings = openSettings({
    file: join(settingsDir, 'browser-host.json'),
    make: () => new Conf({ cwd: settingsDir, configName: 'browser-host', projectName: 'stepwise' }),
  })
  if (settings.problem) log(`Stepwise: ${settings.problem}`)
  const exports = exportFolder(options.outDir ?? DEFAULT_OUT_DIR)
  const uploads = await createUploads({ maxBytes: options.maxUploadBytes, quotaBytes: options.uploadQuotaBytes })
  const engine =
    options.engine ??
    startEngine({ cacheDir: join(settingsDir, MODEL_CACHE_DIR), historyDir: join(settingsDir, HISTORY_DIR) })
  const shell = createShell({
    engine,
    settings,
    save: (files) => exports.save(files),
    remember: (path) => !uploads.holds(resolve(path)),
    // The page names uploads relative to their folder: the temp folder's path is none of its business.
    paths: { open: (path) => uploads.resolve(path) ?? path, show: uploads.hide },
  })
  const hub = createSocketHub(shell, engine, {
    onModelLoaded: (card) => log(providerNote(card)),
    graceMs: options.disconnectGraceMs,
    log,
  })
  let port = 0

  // Headers of every answer: the token must never leak through a Referer, nor the page be framed.
  const common = { 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff', 'x-frame-options': 'DENY' }

  /** A path of the page's (under its prefix) as the routes below name it; any other path as it is. */
  const withoutPrefix = (path: string) =>
    path === prefix ? '/' : path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    for (const [k, v] of Object.entries(common)) res.setHeader(k, v)
    if (!isLoopbackHost(req.headers.host))
      return refuse(res, 403, 'Stepwise: this host only answers to 127.0.0.1 or localhost')
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    // Browsers ask for it on their own, at the root where the cookie does not go; a 403 would be an error
    // in the page's console.
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end()
    const access = presentedToken(req, url, token, { port, prefix })
    if (!access.ok) return refuse(res, 403, 'Stepwise: open the URL printed by `npm run serve` (with its ?token=)')
    const pathname = withoutPrefix(url.pathname)
    const isPage = pathname === '/' || pathname === '/index.html'
    // The printed URL: on to the page's own path, with the cookie that lets the page in from there.
    if (isPage && access.explicit && req.method === 'GET') {
      res.writeHead(303, { location: `${prefix}/`, 'set-cookie': tokenCookie(port, token, prefix) })
      return void res.end()
    }
    // The raw path: URL parsing would quietly resolve "..", and an upload with ".." must be refused instead.
    const rawPath = withoutPrefix((req.url ?? '/').split('?')[0])
    if (req.method === 'PUT' && rawPath.startsWith('/upload/'))
      return uploads.receive(req, res, rawPath.slice('/upload/'.length))
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method not allowed')
    if (pathname.startsWith('/exports/')) {
      let name: string
      try {
        name = decodeURIComponent(pathname.slice('/exports/'.length))
      } catch {
        return refuse(res, 400, 'Stepwise: that export name is not valid percent-encoding')
      }
      if (await exports.download(name, res)) return
      return refuse(res, 404, 'no such export')
    }
    // The page's relative links (./assets/...) resolve under the prefix only from "/<prefix>/".
    if (url.pathname === prefix) return void res.writeHead(303, { location: `${prefix}/` }).end()
    if (await serveFile(rendererDir, pathname, res)) return
    if (isPage)
      return refuse(
        res,
        500,
        `Stepwise: the renderer is not built (${rendererDir}/index.html is missing); run: npx electron-vite build`,
      )
    refuse(res, 404, 'not found')
  }

  const server = createServer((req, res) => {
    onRequest(req, res).catch((e) => {
      if (!res.headersSent) refuse(res, 500, `Stepwise: ${(e as Error).message}`)
      else res.destroy()
    })
  })

  server.on('upgrade', (req, socket, head) => {
    // A client that resets the connection before its answer must not take the host along.
    socket.on('error', () => socket.destroy())
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const allowed =
      withoutPrefix(url.pathname) === '/ws' &&
      isLoopbackHost(req.headers.host) &&
      isSameOriginUpgrade(req) &&
      presentedToken(req, url, token, { port, prefix }).ok
    if (!allowed) {
      socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
      return
    }
    hub.server.handleUpgrade(req, socket, head, (ws) => hub.server.emit('connection', ws, req))
  })

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolveListen())
  })
  port = (server.address() as AddressInfo).port

  let closing: Promise<void> | undefined
  const close = () =>
    (closing ??= (async () => {
      await hub.stopRuns()
      await hub.close()
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
      await engine.close()
      await uploads.remove()
    })())

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    outDir: exports.dir,
    uploadDir: uploads.root,
    close,
  }
}
