/**
 * The WebGPU probe's child process in Electron: a utility process (Electron's own Node child; with the
 * RunAsNode fuse off the binary cannot be started as plain Node), its stdout and stderr captured, so
 * Dawn's native warnings never reach a terminal the app was started from.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { utilityProcess } from 'electron'

import { PROBE_TIMEOUT_MS, type ProbeRunner } from '../engine/model/webgpu-probe'

export const utilityProbeRunner: ProbeRunner = async (script, env) => {
  const dir = await mkdtemp(join(tmpdir(), 'stepwise-probe-'))
  const file = join(dir, 'probe.cjs')
  await writeFile(file, script)
  try {
    return await new Promise((resolve) => {
      const child = utilityProcess.fork(file, [], {
        stdio: 'pipe',
        env: { ...process.env, ...env },
        serviceName: 'Stepwise WebGPU check',
      })
      let stdout = '',
        stderr = '',
        timedOut = false
      child.stdout?.on('data', (d) => (stdout += d))
      child.stderr?.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => ((timedOut = true), child.kill()), PROBE_TIMEOUT_MS)
      child.once('exit', (code) => {
        clearTimeout(timer)
        resolve({ stdout, stderr, code: timedOut ? null : code })
      })
    })
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
