/**
 * The WebGPU probe's child in Electron: a utility process (the RunAsNode fuse is off) running the probe's
 * script from a temporary file, its output captured; against a mocked electron.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname } from 'node:path'

import { describe, expect, it, vi } from 'vitest'

import { utilityProbeRunner } from '../../../src-main/app/probe-runner'
import { utilityProcess } from './mock-electron'

vi.mock('electron', () => import('./mock-electron'))

/** Wait until the runner has forked its child. */
const forked = () => vi.waitFor(() => utilityProcess.forked.at(-1) ?? Promise.reject(new Error('not yet')))

describe('the WebGPU probe in Electron', () => {
  it("runs the script in a utility process with the probe's environment and returns what it printed", async () => {
    const result = utilityProbeRunner('process.stdout.write("{}")', { VK_LOADER_DEBUG: 'driver' })
    const child = await forked()
    expect(readFileSync(child.modulePath, 'utf8')).toBe('process.stdout.write("{}")')
    expect(child.modulePath).toMatch(/\.cjs$/)
    expect(child.options).toMatchObject({ stdio: 'pipe', env: { VK_LOADER_DEBUG: 'driver' } })
    child.stdout.write('{"ok":true}\n')
    child.stderr.write('Warning: native words\n')
    await new Promise((resolve) => setImmediate(resolve))
    child.exit(0)
    expect(await result).toEqual({ stdout: '{"ok":true}\n', stderr: 'Warning: native words\n', code: 0 })
    // The script's temporary folder is gone.
    expect(existsSync(dirname(child.modulePath))).toBe(false)
  })
})
