/** npm run dist's first step: it stops only a machine that has the Electron zip neither cached nor reachable. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'

import { afterEach, beforeEach, expect, it } from 'vitest'

import {
  cachedZipPath,
  checkElectronZip,
  downloadUrl,
  type ElectronZip,
  neededZips,
} from '../../../tools/dist-preflight'

const zip: ElectronZip = { version: '41.7.1', platform: 'linux', arch: 'x64' }
const offline = async () => false
const online = async () => true
const noProbe = async (): Promise<boolean> => {
  throw new Error('a cached zip needs no network')
}

// The check trusts electron-builder behind a proxy; these tests are about machines without one.
const PROXY_VARIABLES = [
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'GLOBAL_AGENT_HTTPS_PROXY',
  'ELECTRON_GET_USE_PROXY',
  'ELECTRON_MIRROR',
  'npm_config_electron_mirror',
]
const saved = new Map<string, string | undefined>()
beforeEach(() => {
  for (const name of PROXY_VARIABLES) {
    saved.set(name, process.env[name])
    delete process.env[name]
  }
})
afterEach(() => {
  for (const [name, value] of saved)
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
})

const emptyCache = () => mkdtempSync(join(tmpdir(), 'stepwise-electron-cache-'))
function cacheWithZip() {
  const root = emptyCache()
  const path = cachedZipPath(root, downloadUrl(zip))
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, 'zip')
  return root
}

it('offline with nothing cached: one line naming the version, platform and arch, and where the files go', async () => {
  const root = emptyCache()
  const problem = await checkElectronZip(zip, { root, probe: offline })
  expect(problem).toMatch(
    /^npm run dist: cannot package: the Electron 41\.7\.1 zip for linux-x64 is not cached and cannot be downloaded \(offline\?\) — /,
  )
  expect(problem).not.toContain('\n')
  expect(problem).toContain(cachedZipPath(root, downloadUrl(zip)))
})

it('a machine that can reach the download host goes on to electron-builder', async () => {
  expect(await checkElectronZip(zip, { root: emptyCache(), probe: online })).toBeNull()
})

it('a cached zip with its seeded checksum file passes without the network', async () => {
  const root = cacheWithZip()
  writeFileSync(join(root, 'SHASUMS256.txt-41.7.1'), `${'0'.repeat(64)} *electron-v41.7.1-linux-x64.zip\n`)
  expect(await checkElectronZip(zip, { root, probe: noProbe })).toBeNull()
})

it('a cached zip without its checksum file cannot be verified offline, and says so', async () => {
  const problem = await checkElectronZip(zip, { root: cacheWithZip(), probe: offline })
  expect(problem).toMatch(
    /^npm run dist: cannot package: the Electron 41\.7\.1 zip for linux-x64 is cached but its checksum file is not/,
  )
})

it('behind a proxy it leaves the question to electron-builder', async () => {
  process.env.HTTPS_PROXY = 'http://proxy.invalid:3128'
  expect(await checkElectronZip(zip, { root: emptyCache(), probe: offline })).toBeNull()
})

it("macOS needs the arm64 zip only; Linux and Windows the build machine's arch", () => {
  const pkg = {
    build: {
      mac: { target: [{ target: 'dmg', arch: ['arm64'] }] },
      linux: { target: ['AppImage', 'deb'] },
      win: { target: ['nsis'] },
    },
  }
  expect(neededZips(pkg, '41.7.1', 'darwin', 'x64')).toEqual([{ version: '41.7.1', platform: 'darwin', arch: 'arm64' }])
  expect(neededZips(pkg, '41.7.1', 'linux', 'arm64')).toEqual([{ version: '41.7.1', platform: 'linux', arch: 'arm64' }])
  expect(neededZips(pkg, '41.7.1', 'win32', 'x64')).toEqual([{ version: '41.7.1', platform: 'win32', arch: 'x64' }])
})

it('uses the mirror @electron/get would: a variable first, then electronDownload.mirror', () => {
  expect(downloadUrl(zip)).toBe(
    'https://github.com/electron/electron/releases/download/v41.7.1/electron-v41.7.1-linux-x64.zip',
  )
  expect(downloadUrl(zip, 'https://mirror.example/electron/')).toBe(
    'https://mirror.example/electron/v41.7.1/electron-v41.7.1-linux-x64.zip',
  )
  process.env.ELECTRON_MIRROR = 'https://npmmirror.example/electron/'
  expect(downloadUrl(zip, 'https://mirror.example/electron/')).toMatch(/^https:\/\/npmmirror\.example\//)
})
