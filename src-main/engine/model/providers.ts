/**
 * Execution providers: which to try, in what order, and why one was skipped. WebGPU is asked once a
 * process whether it works and on which adapter (webgpu-probe.ts), so Dawn's native warnings never reach
 * the terminal and a software adapter is known for what it is.
 */
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

import * as ort from 'onnxruntime-node'

import type { Adapter, ProviderNote } from '../../../src-shared/model'
import { type ProviderName, PROVIDERS } from '../../../src-shared/names'
import { type ProbeRunner, probeWebGpu, shortReason, type WebGpuVerdict } from './webgpu-probe'

export { type Adapter, type ProviderName, type ProviderNote, PROVIDERS, shortReason }

const PLATFORM_ONLY: Partial<Record<ProviderName, NodeJS.Platform>> = { cuda: 'linux', dml: 'win32', coreml: 'darwin' }

/** The default order on this platform: the platform's own GPU path, then WebGPU, then the CPU. */
export function defaultProviderOrder(platform: NodeJS.Platform = process.platform): ProviderName[] {
  return PROVIDERS.filter((p) => !PLATFORM_ONLY[p] || PLATFORM_ONLY[p] === platform)
}

/** Providers this build of onnxruntime-node knows, or why a requested one cannot even be tried. */
export function unavailableReason(provider: ProviderName): string | undefined {
  const platform = PLATFORM_ONLY[provider]
  if (platform && platform !== process.platform) return `only on ${platform}`
  const backends = ort.listSupportedBackends()
  if (provider === 'dml' || provider === 'coreml') {
    return backends.some((b) => b.name === provider) ? undefined : 'not in this build of onnxruntime-node'
  }
  const b = backends.find((x) => x.name === provider)
  if (!b) return 'not in this build of onnxruntime-node'
  if (provider === 'webgpu' && process.platform === 'linux' && !vulkanLoaderPresent()) {
    return 'no Vulkan loader (libvulkan.so.1), which WebGPU needs on Linux'
  }
  if (provider === 'cuda' && !cudaBinariesInstalled()) {
    return 'CUDA binaries not installed (ONNXRUNTIME_NODE_INSTALL=cuda12, see README)'
  }
  return undefined
}

/** onnxruntime-node's install script puts the CUDA provider library beside its native binding. */
function cudaBinariesInstalled(): boolean {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'))
    return existsSync(join(pkg, 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'))
  } catch {
    return false
  }
}

let webgpu: Promise<WebGpuVerdict> | undefined
let probeRunner: ProbeRunner | undefined

/** Whether WebGPU works here and on which adapter: probed the first time it is asked, then remembered. */
export const webgpuVerdict = (): Promise<WebGpuVerdict> => (webgpu ??= probeWebGpu(probeRunner))

/** How the probe's child process is started, for a host that cannot start Node children itself (Electron). */
export function useProbeRunner(run: ProbeRunner): void {
  probeRunner = run
  webgpu = undefined
}

/**
 * Why `provider` will not be used here, or undefined when it will be tried. `chosen`: the user asked for
 * it by name, so a software WebGPU adapter is used; in the automatic order the CPU provider wins over it.
 */
export async function skipReason(provider: ProviderName, chosen: boolean): Promise<string | undefined> {
  const why = unavailableReason(provider)
  if (why || provider !== 'webgpu') return why
  const v = await webgpuVerdict()
  if (!v.ok) return v.reason
  if (v.adapter?.software && !chosen)
    return `its adapter, ${v.adapter.name}, runs on the CPU, slower than the CPU provider (ask for webgpu to use it)`
  return undefined
}

/** The adapter WebGPU runs on, once probed and where it can be told. */
export async function webgpuAdapter(): Promise<Adapter | undefined> {
  const v = await webgpuVerdict()
  return v.ok ? v.adapter : undefined
}

/**
 * WebGPU on Linux runs on Vulkan. Without the loader the runtime prints a native warning before failing;
 * ask the dynamic linker first. dlopen of a library that is not a Node addon fails after loading it
 * ("did not self-register"), which tells us the library exists.
 */
function vulkanLoaderPresent(): boolean {
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, 'libvulkan.so.1')
    return true
  } catch (e) {
    return !/cannot open shared object file/.test((e as Error).message)
  }
}
