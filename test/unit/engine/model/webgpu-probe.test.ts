/**
 * The WebGPU probe: what its child printed under real Vulkan drivers (test/fixtures/webgpu-probe/, with
 * the script that recorded them) becomes a verdict, a reason and an adapter; a software adapter loses
 * to the CPU provider unless WebGPU is asked for by name.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { skipReason, unavailableReason, useProbeRunner } from '../../../../src-main/engine/model/providers'
import {
  adapterOf,
  type ChildOutput,
  nodeChild,
  probeWebGpu,
  verdictOf,
} from '../../../../src-main/engine/model/webgpu-probe'
import { providerLabel } from '../../../../src-shared/model'

const recorded = (name: string): ChildOutput =>
  JSON.parse(readFileSync(join(import.meta.dirname, '../../../fixtures/webgpu-probe', `${name}.json`), 'utf8'))

afterAll(() => useProbeRunner(nodeChild))

describe('the WebGPU probe', () => {
  it('SwiftShader works, and is named a CPU', () => {
    expect(verdictOf(recorded('swiftshader'))).toEqual({ ok: true, adapter: { name: 'SwiftShader', software: true } })
  })

  it("a device Dawn rejects: the runtime's sentence, then Dawn's reason", () => {
    const reason =
      'Failed to get a WebGPU adapter: No supported adapters (Vulkan shaderUniform*ArrayDynamicIndexing required)'
    expect(verdictOf(recorded('llvmpipe'))).toEqual({ ok: false, reason })
    // Every Mesa driver installed, no GPU, no XDG_RUNTIME_DIR: the same reason (the XDG complaint is noise).
    expect(verdictOf(recorded('mesa-all'))).toEqual({ ok: false, reason })
  })

  it('no driver at all', () => {
    expect(verdictOf(recorded('no-driver'))).toEqual({
      ok: false,
      reason:
        'Failed to get a WebGPU adapter: No supported adapters (loader_get_json: Failed to open JSON file /nonexistent.json; ' +
        'vkCreateInstance: Found no drivers!; vkCreateInstance failed with VK_ERROR_INCOMPATIBLE_DRIVER)',
    })
  })

  it('a child that crashed or hung says so', () => {
    const warning = 'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.\n - While initializing adapter\n'
    expect(verdictOf({ stdout: '', stderr: warning, code: 134 })).toEqual({
      ok: false,
      reason: 'the WebGPU check ended with exit code 134 (Vulkan shaderUniform*ArrayDynamicIndexing required)',
    })
    expect(verdictOf({ stdout: '', stderr: '', code: null })).toEqual({
      ok: false,
      reason: 'the WebGPU check did not finish within 60 s',
    })
  })

  it('the adapter is the first GPU the loader lists, a software device only when there is nothing else', () => {
    expect(adapterOf(['llvmpipe (LLVM 15.0.6, 256 bits)', 'AMD Radeon RX 6800 (RADV NAVI21)'])).toEqual({
      name: 'AMD Radeon RX 6800 (RADV NAVI21)',
      software: false,
    })
    expect(adapterOf(['llvmpipe (LLVM 15.0.6, 256 bits)'])).toEqual({ name: 'llvmpipe', software: true })
    expect(adapterOf([])).toBeUndefined()
  })

  it('runs its script in a child with the loader listing devices, and reads what it printed', async () => {
    const asked: { script: string; env: Record<string, string> }[] = []
    const verdict = await probeWebGpu(async (script, env) => {
      asked.push({ script, env })
      return recorded('swiftshader')
    })
    expect(verdict).toMatchObject({ ok: true, adapter: { software: true } })
    expect(asked).toHaveLength(1)
    expect(asked[0].script).toMatch(/require\(".*onnxruntime-node.*"\)/)
    expect(asked[0].script).toContain("executionProviders: ['webgpu']")
    if (process.platform === 'linux') expect(asked[0].env).toEqual({ VK_LOADER_DEBUG: 'driver' })
  })

  it('a software adapter loses to the CPU unless WebGPU is asked for by name; a failing one says why', async () => {
    const before = unavailableReason('webgpu')
    useProbeRunner(async () => recorded('swiftshader'))
    if (before) expect(await skipReason('webgpu', false)).toBe(before)
    else {
      expect(await skipReason('webgpu', false)).toBe(
        'its adapter, SwiftShader, runs on the CPU, slower than the CPU provider (ask for webgpu to use it)',
      )
      expect(await skipReason('webgpu', true)).toBeUndefined()
      useProbeRunner(async () => recorded('llvmpipe'))
      expect(await skipReason('webgpu', true)).toMatch(/shaderUniform\*ArrayDynamicIndexing required/)
    }
    expect(await skipReason('cpu', false)).toBeUndefined()
  })

  it('names the provider with its adapter, a software one as a CPU', () => {
    expect(providerLabel('cpu')).toBe('cpu')
    expect(providerLabel('webgpu', { name: 'SwiftShader', software: true })).toBe('webgpu (SwiftShader, CPU)')
    expect(providerLabel('webgpu', { name: 'NVIDIA GeForce RTX 4070', software: false })).toBe(
      'webgpu (NVIDIA GeForce RTX 4070)',
    )
  })
})
