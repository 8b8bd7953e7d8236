/**
 * npm run icons: every icon electron-builder needs, rendered from the one source resources/icon.svg into
 * build/ (its buildResources folder). The outputs are committed; test/unit/builder-config.test.ts fails when
 * they no longer match the source.
 *
 *   build/icon.png              1024 px (the largest; also what a README or a store page can show)
 *   build/icons/<n>x<n>.png     Linux (AppImage, deb): hicolor sizes 16..512
 *   build/icon.ico              Windows (exe, NSIS installer): 16..256
 *   build/icon.icns             macOS (app bundle, dmg): 16..1024 as iconutil writes them
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

import { Resvg } from '@resvg/resvg-js'
import { IconIcns, IconIco } from '@shockpkg/icon-encoder'

export const ROOT = join(import.meta.dirname, '..')
export const ICON_SOURCE = 'resources/icon.svg'

export const LINUX_SIZES = [16, 24, 32, 48, 64, 128, 256, 512]
export const WINDOWS_SIZES = [16, 24, 32, 48, 64, 128, 256]
/** ICNS image types with the pixel size each holds, in the order iconutil writes them (x@2x is 2x pixels). */
export const MACOS_TYPES: [type: string, size: number][] = [
  ['ic12', 64],
  ['ic07', 128],
  ['ic13', 256],
  ['ic08', 256],
  ['ic04', 16],
  ['ic14', 512],
  ['ic09', 512],
  ['ic05', 32],
  ['ic10', 1024],
  ['ic11', 32],
]

/** Every output file (path relative to the repository) and its bytes. */
export async function renderIcons(svg: Buffer | string): Promise<Map<string, Uint8Array>> {
  const png = new Map<number, Uint8Array>()
  const at = (size: number) => {
    let bytes = png.get(size)
    if (!bytes) {
      bytes = new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng()
      png.set(size, bytes)
    }
    return bytes
  }

  const files = new Map<string, Uint8Array>()
  files.set('build/icon.png', at(1024))
  for (const n of LINUX_SIZES) files.set(`build/icons/${n}x${n}.png`, at(n))

  // PNG payloads are resvg's bytes as they are (raw): re-encoding would tie the output to Node's zlib build,
  // and the up-to-date test compares bytes. Bitmaps (ICO below 256 px, ICNS ARGB) are uncompressed or RLE.
  const ico = new IconIco()
  // Default encoding: bitmaps below 256 px for older Windows shells, PNG at 256.
  for (const n of [...WINDOWS_SIZES].reverse()) await ico.addFromPng(at(n), null, true)
  files.set('build/icon.ico', ico.encode())

  const icns = new IconIcns()
  for (const [type, n] of MACOS_TYPES) await icns.addFromPng(at(n), [type], true)
  files.set('build/icon.icns', icns.encode())
  return files
}

async function main() {
  const files = await renderIcons(await readFile(join(ROOT, ICON_SOURCE)))
  for (const [path, bytes] of files) {
    await mkdir(dirname(join(ROOT, path)), { recursive: true })
    await writeFile(join(ROOT, path), bytes)
  }
  console.log(`icons: ${files.size} files from ${ICON_SOURCE} into build/`)
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await main()
