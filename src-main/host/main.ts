/**
 * `npm run serve`: Stepwise in a browser. Builds the renderer if needed, starts the host on 127.0.0.1 and
 * prints the URL to open (its token is the only key; on a headless box, tunnel the port with ssh -L).
 */
import { parseArgs } from 'node:util'

import { DEFAULT_UPLOAD_QUOTA_BYTES } from '../../src-shared/limits'
import { ensureRendererBuilt } from './renderer-build'
import { DEFAULT_OUT_DIR, defaultSettingsDir, startHost } from './server'

/** Longest a stop may take (runs are cancelled first, at most 10 s) before the process just exits. */
const STOP_TIMEOUT_MS = 20_000

const OPTIONS = {
  port: { type: 'string', default: '0', help: 'port on 127.0.0.1 (0: a free one)' },
  out: {
    type: 'string',
    default: DEFAULT_OUT_DIR,
    help: 'folder for exports (created if needed; nothing is overwritten)',
  },
  'settings-dir': { type: 'string', default: defaultSettingsDir(), help: 'folder of the settings file' },
  'upload-quota-gib': {
    type: 'string',
    default: String(DEFAULT_UPLOAD_QUOTA_BYTES / 1024 ** 3),
    help: 'GiB all models dropped into the page may take together',
  },
  renderer: { type: 'string', help: 'serve this built renderer folder instead of building out/renderer' },
  help: { type: 'boolean', short: 'h', default: false, help: 'show this help' },
} as const

function usage(): string {
  const lines = Object.entries(OPTIONS).map(([name, o]) => {
    const flag = `${'short' in o ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ' <value>' : ''}`
    const fallback = 'default' in o && o.type === 'string' ? ` (default: ${o.default})` : ''
    return `  ${flag.padEnd(26)}${o.help}${fallback}`
  })
  return ['Usage: npm run serve -- [options]', '', 'Serves Stepwise to a browser on this machine.', '', ...lines].join(
    '\n',
  )
}

async function main() {
  let values
  try {
    values = parseArgs({ options: OPTIONS, strict: true, allowPositionals: false }).values
  } catch (e) {
    console.error(`stepwise serve: ${(e as Error).message}\n\n${usage()}`)
    process.exit(2)
  }
  if (values.help) {
    console.log(usage())
    return
  }
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`stepwise serve: --port: "${values.port}" is not a port number (0-65535)`)
    process.exit(2)
  }
  const quotaGib = Number(values['upload-quota-gib'])
  if (!(quotaGib > 0)) {
    console.error(`stepwise serve: --upload-quota-gib: "${values['upload-quota-gib']}" is not a size in GiB (e.g. 8)`)
    process.exit(2)
  }
  const rendererDir = values.renderer ?? (await ensureRendererBuilt())
  const host = await startHost({
    port,
    outDir: values.out,
    settingsDir: values['settings-dir'],
    rendererDir,
    uploadQuotaBytes: Math.floor(quotaGib * 1024 ** 3),
  })
  console.log(`Stepwise is running. Open this URL in a browser on this machine:\n\n  ${host.url}\n`)
  console.log(`Exports go to ${host.outDir}. Press Ctrl+C to stop.`)

  // One Ctrl+C reaches this process twice (from the terminal, and relayed by tsx): later signals are
  // ignored, and a stop that hangs ends by the clock instead.
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`\nStepwise: ${signal}, stopping...`)
    setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref()
    host.close().then(
      () => process.exit(0),
      (e) => (console.error(e), process.exit(1)),
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
}

main().catch((e) => {
  console.error(`stepwise serve: ${(e as Error).message ?? e}`)
  process.exit(1)
})
