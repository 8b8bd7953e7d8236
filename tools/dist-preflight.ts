/**
 * npm run dist, first step: can electron-builder get the Electron zip it packages the app into?
 *
 * electron-builder 26 takes that zip from @electron/get's cache (never from node_modules/electron/dist)
 * and otherwise downloads it; offline, it retries for about 45 s and ends in a stack trace
 * ("getaddrinfo ENOTFOUND github.com"). This check answers in a second, before the build, with one line.
 * It only stops a machine that has neither the zip nor a way to download it: the zip cached together with
 * its checksum file (which @electron/get re-downloads on every build unless it is seeded beside the cache)
 * passes; so does any HTTP answer from the download host; behind a proxy it does not guess and leaves the
 * question to electron-builder.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

export interface ElectronZip {
  version: string
  platform: NodeJS.Platform
  arch: string
}

const DEFAULT_MIRROR = 'https://github.com/electron/electron/releases/download/'

export const zipName = (z: ElectronZip) => `electron-v${z.version}-${z.platform}-${z.arch}.zip`

/** Where the zip is downloaded from, as @electron/get builds it: a mirror variable wins over electronDownload.mirror. */
export function downloadUrl(z: ElectronZip, configuredMirror?: string) {
  const env = [
    'npm_config_electron_mirror',
    'NPM_CONFIG_ELECTRON_MIRROR',
    'npm_package_config_electron_mirror',
    'ELECTRON_MIRROR',
  ]
  const mirror = env.map((name) => process.env[name]).find(Boolean) || configuredMirror || DEFAULT_MIRROR
  return `${mirror}v${z.version}/${zipName(z)}`
}

/** @electron/get's cache root (env-paths('electron').cache), or electronDownload.cache. */
export function cacheRoot(configured?: string) {
  if (configured) return configured
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'electron')
  if (process.platform === 'win32')
    return join(process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'electron', 'Cache')
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'electron')
}

/** @electron/get keeps a download under the sha256 of its URL without the file name. */
export function cachedZipPath(root: string, url: string) {
  const folder = createHash('sha256')
    .update(url.slice(0, url.lastIndexOf('/')))
    .digest('hex')
  return join(root, folder, url.slice(url.lastIndexOf('/') + 1))
}

/** The checksum file electron-builder feeds @electron/get so that a cached zip is verified offline. */
export function seededChecksumsPath(root: string, z: ElectronZip) {
  for (const name of [`SHASUMS256.txt-${z.version}`, 'SHASUMS256.txt']) {
    const path = join(root, name)
    if (existsSync(path) && readFileSync(path, 'utf8').includes(zipName(z))) return path
  }
  return null
}

/** True when anything answers at the download URL within the time limit (a redirect or a 404 counts). */
export async function reachable(url: string, timeoutMs = 5000) {
  try {
    await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) })
    return true
  } catch {
    return false
  }
}

const PROXY_VARIABLES = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'GLOBAL_AGENT_HTTPS_PROXY',
  'ELECTRON_GET_USE_PROXY',
]

/** null when packaging can go on; else the one line that says why not. */
export async function checkElectronZip(
  z: ElectronZip,
  options: { root?: string; mirror?: string; verifyChecksum?: boolean; probe?: (url: string) => Promise<boolean> } = {},
): Promise<string | null> {
  const root = options.root ?? cacheRoot()
  const url = downloadUrl(z, options.mirror)
  const zip = cachedZipPath(root, url)
  const cached = existsSync(zip)
  if (cached && (options.verifyChecksum === false || seededChecksumsPath(root, z))) return null
  if (PROXY_VARIABLES.some((name) => process.env[name])) return null
  if (await (options.probe ?? reachable)(url)) return null
  const release = `https://github.com/electron/electron/releases/tag/v${z.version}`
  const shasums = join(root, `SHASUMS256.txt-${z.version}`)
  const what = `the Electron ${z.version} zip for ${z.platform}-${z.arch}`
  return cached
    ? `npm run dist: cannot package: ${what} is cached but its checksum file is not, and it cannot be downloaded (offline?) — put SHASUMS256.txt from ${release} at ${shasums}`
    : `npm run dist: cannot package: ${what} is not cached and cannot be downloaded (offline?) — put ${zipName(z)} from ${release} at ${zip} and its SHASUMS256.txt at ${shasums}`
}

/** The zips `electron-builder` (no platform flags) needs on this machine: the host platform, its configured archs. */
export function neededZips(
  pkg: any,
  electronVersion: string,
  platform = process.platform,
  hostArch = process.arch,
): ElectronZip[] {
  const key = platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : 'linux'
  const targets: any[] = [pkg.build?.[key]?.target ?? []].flat()
  const archs = new Set(targets.flatMap((t) => (typeof t === 'object' && t.arch ? [t.arch].flat() : [hostArch])))
  if (archs.size === 0) archs.add(hostArch)
  return [...archs].map((arch) => ({ version: electronVersion, platform, arch }))
}

async function main() {
  const root = join(import.meta.dirname, '..')
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  if (pkg.build?.electronDist) return // electron-builder uses that Electron and says so if it is missing
  const electron = JSON.parse(readFileSync(join(root, 'node_modules/electron/package.json'), 'utf8'))
  const download = pkg.build?.electronDownload ?? {}
  for (const zip of neededZips(pkg, electron.version)) {
    const problem = await checkElectronZip(zip, {
      root: cacheRoot(download.cache),
      mirror: download.mirror,
      verifyChecksum: download.isVerifyChecksum,
    })
    if (problem) {
      console.error(problem)
      process.exit(1)
    }
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await main()
