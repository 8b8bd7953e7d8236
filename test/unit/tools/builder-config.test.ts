/**
 * The installers' configuration (package.json "build"), checked without packaging: electron-builder's own
 * loader, schema, file matcher and icon resolver (app-builder-lib, electron-builder's engine, pinned by it)
 * run over our files.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'

import type { Configuration, PlatformSpecificBuildOptions } from 'app-builder-lib'
import * as fileMatcher from 'app-builder-lib/out/fileMatcher.js'
import { getConfig, validateConfiguration } from 'app-builder-lib/out/util/config/config.js'
import { convertIcon } from 'app-builder-lib/out/util/iconConverter.js'
import { beforeAll, describe, expect, it } from 'vitest'

import { defaultModelPath } from '../../../src-main/engine/model/default-model'
import { ICON_SOURCE, LINUX_SIZES, MACOS_TYPES, renderIcons, WINDOWS_SIZES } from '../../../tools/icons'

const ROOT = join(import.meta.dirname, '..', '..', '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
const ORT_BIN = 'node_modules/onnxruntime-node/bin'

/** electron-builder's platform keys, the Node platform each packages for, and the targets we promise. */
const PLATFORMS = [
  { key: 'linux', node: 'linux', targets: ['AppImage', 'deb'], iconFormat: 'set' },
  { key: 'win', node: 'win32', targets: ['nsis'], iconFormat: 'ico' },
  { key: 'mac', node: 'darwin', targets: ['dmg'], iconFormat: 'icns' },
] as const

let config: Configuration
beforeAll(async () => {
  config = await getConfig(ROOT, null, null)
})

const filesUnder = (dir: string) =>
  readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)).replaceAll('\\', '/'))

type Filter = (path: string) => boolean
/** electron-builder's matchers (app-builder-lib/out/fileMatcher.js, some not in its typings) for one platform and arch. */
function matchersFor(key: 'linux' | 'win' | 'mac', arch: string): { ships: Filter; unpacks: Filter } {
  const m = fileMatcher as any
  const expand = (p: string) => p.replaceAll('${arch}', arch)
  const options = config[key] ?? {}
  const packager = {
    info: {
      config,
      projectDir: ROOT,
      buildResourcesDir: join(ROOT, 'build'),
      isPrepackedAppAsar: false,
      debugLogger: { isEnabled: false },
    },
  }
  const mains = m
    .getMainFileMatchers(ROOT, '/app', expand, options, packager, join(ROOT, 'dist'), false)
    .map((f: any) => f.createFilter())
  const main = (file: string, stat: object) => mains.some((filter: any) => filter(file, stat))
  const modules = m.getNodeModuleFileMatcher(ROOT, '/app', expand, options, packager.info).createFilter()
  const unpack = m
    .getFileMatchers(config, 'asarUnpack', '/app', {
      macroExpander: expand,
      customBuildOptions: options,
      globalOutDir: join(ROOT, 'dist'),
      defaultSrc: ROOT,
    })[0]
    .createFilter()
  // Files inside node_modules are matched by their path from the app root, as NodeModuleCopyHelper sets it.
  const stat = (path: string) => ({
    isDirectory: () => false,
    ...(path.startsWith('node_modules/') ? { moduleFullFilePath: path } : {}),
  })
  return {
    ships: (path) => (path.startsWith('node_modules/') ? modules : main)(join(ROOT, path), stat(path)),
    unpacks: (path) => unpack(join(ROOT, path), stat(path)),
  }
}

/** The archs a platform's targets build (the host's arch where a target names none). */
const archsOf = (options: PlatformSpecificBuildOptions | null | undefined, hostArch: string) => [
  ...new Set(
    [options?.target ?? []]
      .flat()
      .flatMap((t: any) => (typeof t === 'object' && t.arch ? [t.arch].flat() : [hostArch])),
  ),
]

describe('electron-builder configuration', () => {
  it("passes electron-builder's own schema validation", async () => {
    await expect(validateConfiguration(config, { isEnabled: false } as any)).resolves.toBeUndefined()
  })

  it('names the app: app id, product name and version from package.json', () => {
    expect(config.appId).toBe('app.stepwise.desktop')
    expect(pkg.productName).toBe('Stepwise')
    expect(pkg.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(config.productName ?? pkg.productName).toBe('Stepwise')
  })

  it('npm run dist checks it can package, builds, then runs electron-builder for this platform', () => {
    expect(pkg.scripts.dist).toMatch(/^tsx tools\/dist-preflight\.ts && electron-vite build && electron-builder\b/)
  })

  it('builds AppImage and deb on Linux, NSIS on Windows, dmg on macOS', () => {
    for (const { key, targets } of PLATFORMS) {
      const named = [config[key]?.target].flat().map((t: any) => (typeof t === 'string' ? t : t.target))
      expect(named, key).toEqual(targets)
    }
  })

  it('builds only the archs onnxruntime-node ships binaries for (no Intel macOS: darwin/arm64 only)', () => {
    for (const { key, node } of PLATFORMS) {
      const shipped = readdirSync(join(ROOT, ORT_BIN, 'napi-v6', node))
      // A target that names no arch gets the build machine's: x64 or arm64.
      for (const host of ['x64', 'arm64'])
        for (const arch of archsOf(config[key], host)) expect(shipped, `${node}-${arch}`).toContain(arch)
    }
    expect(archsOf(config.mac, 'x64')).toEqual(['arm64'])
  })

  it('ships the built app and the default model, not sources, tests or tools', () => {
    // The platforms' `files` are file sets ({ "filter": [...] }) on purpose: as plain strings, exclusions
    // alone, electron-builder would start them from "**/*" and ship the whole project (this test caught it).
    for (const { key } of PLATFORMS) {
      const { ships } = matchersFor(key, 'x64')
      expect(ships('out/main/index.js'), key).toBe(true)
      expect(ships('resources/models/stepwise-digits.onnx'), key).toBe(true)
      for (const path of [
        'src-main/cli.ts',
        'src-renderer/index.html',
        'README.md',
        'test/unit/builder-config.test.ts',
        'tools/icons.ts',
        'resources/icon.svg',
        'build/icon.png',
      ])
        expect(ships(path), `${key}: ${path}`).toBe(false)
    }
  })

  it("ships onnxruntime-node's binaries for the platform and arch being packaged, no others", () => {
    const binaries = filesUnder(ORT_BIN)
    for (const { key, node } of PLATFORMS) {
      for (const arch of readdirSync(join(ROOT, ORT_BIN, 'napi-v6', node))) {
        const { ships } = matchersFor(key, arch)
        const shipped = binaries.filter((p) => ships(p))
        expect(shipped.length, `${node}-${arch}`).toBeGreaterThan(0)
        expect(
          shipped.every((p) => p.startsWith(`${ORT_BIN}/napi-v6/${node}/${arch}/`)),
          `${node}-${arch}: ${shipped}`,
        ).toBe(true)
      }
    }
  })

  it("unpacks onnxruntime-node's binaries and the default model from the asar, and nothing else", () => {
    const unpacked = matchersFor('linux', 'x64').unpacks
    const wanted = [...filesUnder(ORT_BIN), ...filesUnder('resources/models')]
    expect(wanted.filter((p) => !unpacked(p))).toEqual([])
    expect(wanted).toContain('resources/models/stepwise-digits.onnx')
    for (const path of ['out/main/index.js', 'node_modules/onnxruntime-node/dist/index.js', 'package.json'])
      expect(unpacked(path), path).toBe(false)
  })

  it('the packaged app finds the default model where asarUnpack puts it', () => {
    // electron-builder copies the app (repository-relative paths) into resources/app.asar; unpacked files
    // keep the same relative paths under resources/app.asar.unpacked.
    const resourcesPath = join('/opt', 'Stepwise', 'resources')
    expect(defaultModelPath(resourcesPath)).toBe(
      join(resourcesPath, 'app.asar.unpacked', 'resources/models/stepwise-digits.onnx'),
    )
  })

  it('associates .onnx files as "ONNX diffusion model" (viewer role, a MIME type for Linux)', () => {
    expect(config.fileAssociations).toEqual([
      expect.objectContaining({
        ext: 'onnx',
        name: 'ONNX diffusion model',
        role: 'Viewer',
        mimeType: 'application/x-onnx',
      }),
    ])
  })

  it('flips the fuses: no running as Node, no NODE_OPTIONS or --inspect, the app only from a checked asar', async () => {
    // electron-builder's own translation of `electronFuses`, applied by @electron/fuses to a stand-in for the
    // binary: the sentinel, wire version 1, eight fuses as Electron ships them ('1' on, '0' off).
    const { FuseV1Options, FuseVersion, flipFuses, getCurrentFuseWire } = await import('@electron/fuses')
    const { PlatformPackager } = await import('app-builder-lib')
    // generateFuseConfig is private in its typings; it uses no instance state.
    const fuses = await (PlatformPackager.prototype as any).generateFuseConfig.call({}, config.electronFuses)
    expect(fuses.version).toBe(FuseVersion.V1)
    const binary = join(mkdtempSync(join(tmpdir(), 'stepwise-fuses-')), 'electron')
    writeFileSync(
      binary,
      Buffer.concat([
        Buffer.from('ELF...dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX'),
        Buffer.from([1, 8]),
        Buffer.from('10110001'),
      ]),
    )
    await flipFuses(binary, fuses)
    const wire = await getCurrentFuseWire(binary)
    const state = (fuse: number) => String.fromCharCode(wire[fuse as keyof typeof wire] as number)
    expect({
      RunAsNode: state(FuseV1Options.RunAsNode),
      EnableNodeOptionsEnvironmentVariable: state(FuseV1Options.EnableNodeOptionsEnvironmentVariable),
      EnableNodeCliInspectArguments: state(FuseV1Options.EnableNodeCliInspectArguments),
      EnableEmbeddedAsarIntegrityValidation: state(FuseV1Options.EnableEmbeddedAsarIntegrityValidation),
      OnlyLoadAppFromAsar: state(FuseV1Options.OnlyLoadAppFromAsar),
      EnableCookieEncryption: state(FuseV1Options.EnableCookieEncryption),
      // The page is served on app://, never file://.
      GrantFileProtocolExtraPrivileges: state(FuseV1Options.GrantFileProtocolExtraPrivileges),
      // Left as Electron ships it.
      LoadBrowserProcessSpecificV8Snapshot: state(FuseV1Options.LoadBrowserProcessSpecificV8Snapshot),
    }).toEqual({
      RunAsNode: '0',
      EnableNodeOptionsEnvironmentVariable: '0',
      EnableNodeCliInspectArguments: '0',
      EnableEmbeddedAsarIntegrityValidation: '1',
      OnlyLoadAppFromAsar: '1',
      EnableCookieEncryption: '1',
      GrantFileProtocolExtraPrivileges: '0',
      LoadBrowserProcessSpecificV8Snapshot: '0',
    })
  })

  it('does not rebuild native modules: onnxruntime-node is a prebuilt N-API addon', () => {
    expect(config.npmRebuild).toBe(false)
    expect(filesUnder('node_modules/onnxruntime-node').some((p) => p.endsWith('binding.gyp'))).toBe(false)
  })
})

const pngSize = (bytes: Uint8Array) => {
  const view = Buffer.from(bytes)
  expect(view.subarray(1, 4).toString('latin1')).toBe('PNG')
  return [view.readUInt32BE(16), view.readUInt32BE(20)]
}

describe('icons', () => {
  it('each platform finds its icon in build/ as electron-builder resolves it, with nothing to convert', async () => {
    const buildResources = join(ROOT, config.directories?.buildResources ?? 'build')
    for (const { key, iconFormat } of PLATFORMS) {
      const source = config[key]?.icon ?? config.icon
      expect(source, key).toBeTruthy()
      const { icons, isFallback } = await convertIcon({
        sources: [source!],
        fallbackSources: [],
        roots: [buildResources, ROOT],
        format: iconFormat,
        outDir: join(ROOT, 'dist', `.icon-${iconFormat}`), // only written to if a conversion were needed
      })
      expect(isFallback, key).toBe(false)
      expect(icons.length, key).toBeGreaterThan(0)
      for (const icon of icons) expect(relative(buildResources, icon.file), key).not.toMatch(/^\.\./)
    }
  })

  it('Linux gets 16..512 px PNGs, each the size its name says', () => {
    for (const n of LINUX_SIZES) expect(pngSize(readFileSync(join(ROOT, `build/icons/${n}x${n}.png`)))).toEqual([n, n])
    expect(pngSize(readFileSync(join(ROOT, 'build/icon.png')))).toEqual([1024, 1024])
  })

  it('Windows gets an ICO holding 16..256 px', () => {
    const ico = readFileSync(join(ROOT, 'build/icon.ico'))
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2)]).toEqual([0, 1])
    const sizes = Array.from({ length: ico.readUInt16LE(4) }, (_, i) => ico[6 + 16 * i] || 256)
    expect(sizes.sort((a, b) => a - b)).toEqual(WINDOWS_SIZES)
  })

  it('macOS gets an ICNS holding 16..1024 px under the types iconutil uses', () => {
    const icns = readFileSync(join(ROOT, 'build/icon.icns'))
    expect(icns.subarray(0, 4).toString('latin1')).toBe('icns')
    expect(icns.readUInt32BE(4)).toBe(icns.length)
    const found: [string, number][] = []
    for (let at = 8; at < icns.length; at += icns.readUInt32BE(at + 4)) {
      const type = icns.subarray(at, at + 4).toString('latin1')
      const data = icns.subarray(at + 8, at + icns.readUInt32BE(at + 4))
      // ic04 and ic05 (16 and 32 px) hold run-length packed ARGB, as iconutil writes them; the others PNG.
      if (type === 'ic04' || type === 'ic05') expect(data.subarray(0, 4).toString('latin1')).toBe('ARGB')
      found.push([type, type === 'ic04' ? 16 : type === 'ic05' ? 32 : pngSize(data)[0]])
    }
    expect(found).toEqual(MACOS_TYPES)
  })

  it(`build/ is what npm run icons makes from ${ICON_SOURCE} (run it after changing the SVG)`, async () => {
    const files = await renderIcons(readFileSync(join(ROOT, ICON_SOURCE)))
    for (const [path, bytes] of files)
      expect(Buffer.compare(readFileSync(join(ROOT, path)), Buffer.from(bytes)), path).toBe(0)
  })
})
