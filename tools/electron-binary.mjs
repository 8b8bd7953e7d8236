// npm's postinstall and prestart for the Electron binary, which npm 11 does not fetch (electron's own
// install script is off in allowScripts: it downloads from GitHub, impossible offline).
//   node tools/electron-binary.mjs install   try to download it; offline, say so in one line and go on
//   node tools/electron-binary.mjs check     before `npm start`: is it there? if not, how to get it
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dir = join(root, 'node_modules', 'electron')
const installed = () => {
  const pathFile = join(dir, 'path.txt')
  return existsSync(pathFile) && existsSync(join(dir, 'dist', readFileSync(pathFile, 'utf8').trim()))
}
const HOW = 'get it with `node node_modules/electron/install.js` where GitHub can be reached'

const [command] = process.argv.slice(2)
if (command === 'install') {
  if (installed() || !existsSync(dir)) process.exit(0)
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    console.log('stepwise: Electron binary download skipped (ELECTRON_SKIP_BINARY_DOWNLOAD); ' + HOW)
    process.exit(0)
  }
  const r = spawnSync(process.execPath, [join(dir, 'install.js')], { cwd: dir, stdio: 'pipe', timeout: 60_000, encoding: 'utf8' })
  if (r.status === 0 && installed()) console.log('stepwise: Electron binary installed')
  else console.log(`stepwise: the Electron binary could not be downloaded (${r.error ? r.error.message : 'offline?'}); npm start needs it, ${HOW}. The browser host works without it: npm run serve`)
  process.exit(0)
}
if (command === 'check') {
  if (installed()) process.exit(0)
  console.error(`Stepwise: the Electron binary is not installed (an offline install?): ${HOW}.`)
  console.error('Meanwhile the same app runs in your browser: npm run serve   (and the engine on the command line: npm run -s cli -- --help)')
  process.exit(1)
}
console.error('usage: node tools/electron-binary.mjs install|check')
process.exit(2)
