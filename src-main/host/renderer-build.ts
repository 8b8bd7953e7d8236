/**
 * The browser host serves the renderer as electron-vite builds it (out/renderer). A fresh clone has no
 * build and an edited renderer an old one, so the host builds it when it is missing or older than its
 * sources: only the renderer, with the renderer section of electron.vite.config.ts, so a half-edited
 * Electron main never stops the browser host.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const RENDERER_OUT = join(REPO_ROOT, 'out', 'renderer')

/**
 * What the renderer bundle is made of, beyond src-renderer itself: the contract and its names, and the
 * vocabulary (a changed warning rule or name list must rebuild the page, not serve the old one).
 */
const EXTRA_SOURCES = ['src-preload', 'src-shared', 'electron.vite.config.ts', 'package-lock.json']

function newestMtime(path: string): number {
  const info = statSync(path, { throwIfNoEntry: false })
  if (!info) return 0
  if (!info.isDirectory()) return info.mtimeMs
  let newest = info.mtimeMs
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue
    newest = Math.max(newest, newestMtime(join(path, entry)))
  }
  return newest
}

/** Why the build in out/renderer cannot be served as it is; undefined when it is current. */
export function rendererBuildProblem(): string | undefined {
  const index = join(RENDERER_OUT, 'index.html')
  if (!existsSync(index)) return 'out/renderer has no build'
  const built = statSync(index).mtimeMs
  const sources = Math.max(
    newestMtime(join(REPO_ROOT, 'src-renderer')),
    ...EXTRA_SOURCES.map((f) => newestMtime(join(REPO_ROOT, f))),
  )
  return sources > built ? 'out/renderer is older than its sources' : undefined
}

/** A lock older than this is a build that died: taken over. */
const STALE_LOCK_MS = 5 * 60_000

/**
 * One build at a time across processes (parallel test files, a `npm run serve` beside them): a folder
 * is created atomically or not at all.
 */
async function withBuildLock<T>(work: () => Promise<T>): Promise<T> {
  const lock = join(REPO_ROOT, 'out', '.renderer-build.lock')
  mkdirSync(join(REPO_ROOT, 'out'), { recursive: true })
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now())
      if (age > STALE_LOCK_MS) rmSync(lock, { recursive: true, force: true })
      else await new Promise((r) => setTimeout(r, 200))
    }
  }
  try {
    return await work()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/** Build out/renderer when it is missing or stale; returns the folder. */
export async function ensureRendererBuilt(log: (line: string) => void = console.log): Promise<string> {
  if (!rendererBuildProblem()) return RENDERER_OUT
  return withBuildLock(async () => {
    // Another process may have built it while this one waited.
    const problem = rendererBuildProblem()
    if (!problem) return RENDERER_OUT
    log(`Stepwise: ${problem}; building the renderer (npx electron-vite build does the same for every part)...`)
    const started = Date.now()
    // Imported here: vite and its plugins are heavy and only needed when a build is due.
    const { resolveConfig } = await import('electron-vite')
    const { build } = await import('vite')
    process.env.NODE_ENV_ELECTRON_VITE = 'production'
    const resolved = await resolveConfig({ root: REPO_ROOT, logLevel: 'warn' }, 'build', 'production')
    const renderer = resolved.config?.renderer
    if (!renderer) throw new Error(`electron.vite.config.ts has no renderer section (in ${REPO_ROOT})`)
    await build(renderer)
    log(`Stepwise: renderer built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
    return RENDERER_OUT
  })
}
