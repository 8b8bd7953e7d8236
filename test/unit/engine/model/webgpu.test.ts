/**
 * onnxruntime's WebGPU provider for real, on the software Vulkan drivers Debian ships: SwiftShader (in the
 * chromium package) runs it, Mesa's llvmpipe is one Dawn rejects. Each test starts the engine in a child
 * process whose environment picks the driver (VK_ICD_FILENAMES, with XDG_RUNTIME_DIR set), and checks
 * that nothing native reaches its stderr. Where a driver is missing the test prints one line and skips.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { unavailableReason } from '../../../../src-main/engine/model/providers'
import type { ProviderNote } from '../../../../src-shared/model'

const ROOT = join(import.meta.dirname, '..', '..', '..', '..')
const CHILD = join(import.meta.dirname, 'webgpu-child.ts')
const SWIFTSHADER = '/usr/lib/chromium/vk_swiftshader_icd.json'
const ICD_DIR = '/usr/share/vulkan/icd.d'
const LLVMPIPE = existsSync(ICD_DIR) ? readdirSync(ICD_DIR).find((f) => /^lvp_icd\..*\.json$/.test(f)) : undefined

/** Why WebGPU cannot be tried at all here (no Vulkan loader, or no WebGPU in this onnxruntime build). */
const noWebGpu = unavailableReason('webgpu')

function skipLine(what: string, missing: string | undefined): boolean {
  if (missing) console.log(`skip: ${what}: ${missing}`)
  return missing !== undefined
}

/** Run `argv` under Node (with tsx) with only this Vulkan driver visible. */
function withDriver(icd: string, ...argv: string[]) {
  const xdg = mkdtempSync(join(tmpdir(), 'stepwise-xdg-'))
  const env: NodeJS.ProcessEnv = { ...process.env, VK_ICD_FILENAMES: icd, XDG_RUNTIME_DIR: xdg }
  delete env.VK_DRIVER_FILES // the newer name wins over VK_ICD_FILENAMES
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...argv], { cwd: ROOT, env, encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

interface Seen {
  provider: string
  label: string
  skipped: ProviderNote[]
}
const reasonFor = (seen: Seen, provider: string) => seen.skipped.find((s) => s.provider === provider)?.reason

const swiftShaderMissing =
  noWebGpu ?? (existsSync(SWIFTSHADER) ? undefined : `no ${SWIFTSHADER} (apt-get install chromium)`)
const llvmpipeMissing =
  noWebGpu ?? (LLVMPIPE ? undefined : `no ${ICD_DIR}/lvp_icd.*.json (apt-get install mesa-vulkan-drivers)`)

describe('WebGPU on a software Vulkan device', () => {
  it.skipIf(skipLine('WebGPU on SwiftShader', swiftShaderMissing))(
    "computes the default model's output as the CPU does, and names its adapter a CPU",
    { timeout: 300_000 },
    () => {
      const r = withDriver(SWIFTSHADER, CHILD, 'compare')
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toBe('')
      const out = JSON.parse(r.stdout) as {
        auto: Seen
        webgpu: Seen
        timesteps: number[]
        stepDiffs: number[]
        stepScales: number[]
        samplesDiff: number
        seconds: number
      }
      console.log(
        `webgpu (SwiftShader) against cpu, 3 DDIM steps at t=${out.timesteps}: model output max |diff| ` +
          `${out.stepDiffs.map((d) => d.toExponential(1))} (outputs up to ${out.stepScales.map((s) => s.toFixed(1))}), ` +
          `samples ${out.samplesDiff.toExponential(1)}; ${out.seconds.toFixed(1)} s on webgpu`,
      )
      // Asked for by name it runs, named for what it is.
      expect(out.webgpu).toMatchObject({ provider: 'webgpu', label: 'webgpu (SwiftShader, CPU)', skipped: [] })
      // The same model output for the same x_t and t: within 1e-4 of the output's own scale (float32 sums
      // in another order, through a 28x28 U-Net).
      expect(out.stepDiffs).toHaveLength(3)
      out.stepDiffs.forEach((d, i) => expect(d, `t=${out.timesteps[i]}`).toBeLessThan(1e-4 * out.stepScales[i]))
      // The whole run too; x0 = (x_t - sqrt(1 - ab) eps) / sqrt(ab) magnifies the differences on the way.
      expect(out.samplesDiff).toBeLessThan(1e-3)
      // Left to choose, the engine takes the CPU provider over a CPU behind a GPU's API.
      expect(out.auto).toMatchObject({ provider: 'cpu', label: 'cpu' })
      expect(reasonFor(out.auto, 'webgpu')).toMatch(/SwiftShader, runs on the CPU, slower than the CPU provider/)
    },
  )

  it.skipIf(skipLine('WebGPU on llvmpipe', llvmpipeMissing))(
    'falls back to the CPU from an adapter Dawn rejects, with its reason, printing nothing',
    () => {
      const r = withDriver(join(ICD_DIR, LLVMPIPE ?? ''), CHILD, 'auto')
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toBe('')
      const { auto } = JSON.parse(r.stdout) as { auto: Seen }
      expect(auto.provider).toBe('cpu')
      expect(reasonFor(auto, 'webgpu')).toBe(
        'Failed to get a WebGPU adapter: No supported adapters (Vulkan shaderUniform*ArrayDynamicIndexing required)',
      )
    },
  )

  it.skipIf(skipLine('WebGPU without a Vulkan driver', noWebGpu))(
    "keeps Dawn's warnings off the terminal where Vulkan finds no driver: stepwise inspect",
    () => {
      const r = withDriver(join(tmpdir(), 'no-such-driver.json'), 'src-main/cli.ts', 'inspect')
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toBe('')
      expect(r.stdout).toMatch(/provider {8}cpu\n/)
      expect(r.stdout).toMatch(/skipped webgpu: Failed to get a WebGPU adapter: .*vkCreateInstance: Found no drivers!/)
    },
  )
})
