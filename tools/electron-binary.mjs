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
const HOW =
  'get it with `node node_modules/electron/install.js` where GitHub can be reached (or set "electron": true in allowScripts and `npm rebuild electron`)'
const SERVE = 'The browser host works without it: npm run serve'
/** How long the download host gets to answer at all, and the download to finish: an install must not hang offline. */
const PROBE_MS = 5_000
const DOWNLOAD_MS = 180_000

/** Does the download host answer? Behind a proxy (which fetch does not use) we do not guess: try the download. */
async function reachable() {
  if (['HTTPS_PROXY', 'https_proxy', 'GLOBAL_AGENT_HTTPS_PROXY', 'ELECTRON_GET_USE_PROXY'].some((k) => process.env[k]))
    return true
  const host = process.env.ELECTRON_MIRROR ?? 'https://github.com/electron/electron/releases/'
  try {
    await fetch(host, { method: 'HEAD', signal: AbortSignal.timeout(PROBE_MS) })
    return true
  } catch {
    return false
  }
}

const [command] = process.argv.slice(2)
if (command === 'install') {
  if (installed() || !existsSync(dir)) process.exit(0)
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) process.exit(0) // CI: asked not to, nothing to say
  if (!(await reachable())) {
    console.log(
      `stepwise: the Electron binary was not downloaded (its download host did not answer: offline?); npm start needs it, ${HOW}. ${SERVE}`,
    )
    process.exit(0)
  }
  const r = spawnSync(process.execPath, [join(dir, 'install.js')], {
    cwd: dir,
    stdio: 'pipe',
    timeout: DOWNLOAD_MS,
    encoding: 'utf8',
  })
  if (r.status === 0 && installed()) console.log('stepwise: Electron binary installed')
  else {
    const why =
      r.error?.message ??
      (`${r.stderr}\n${r.stdout}`
        .split('\n')
        .find((l) => /error/i.test(l) && !/^\s+at /.test(l))
        ?.trim() ||
        `exit code ${r.status}`)
    console.log(`stepwise: the Electron binary could not be downloaded (${why}); npm start needs it, ${HOW}. ${SERVE}`)
  }
  process.exit(0)
}
if (command === 'check') {
  if (installed()) process.exit(0)
  console.error(`Stepwise: the Electron binary is not installed (an offline install?): ${HOW}.`)
  console.error(
    'Meanwhile the same app runs in your browser: npm run serve   (and the engine on the command line: npm run -s cli -- --help)',
  )
  process.exit(1)
}
console.error('usage: node tools/electron-binary.mjs install|check')
process.exit(2)
