/**
 * Does WebGPU work here, and on which adapter? Asked once a process, in a child process: Dawn (WebGPU's
 * engine inside onnxruntime) and the Vulkan loader print their warnings ("vkCreateInstance: Found no
 * drivers!", "Vulkan shaderUniform*ArrayDynamicIndexing required", ...) straight to the native stderr,
 * which a Node process cannot redirect for itself. The child's stderr is captured instead and its
 * warnings become the reason WebGPU was skipped. On Linux the child also asks the Vulkan loader to list
 * its devices (VK_LOADER_DEBUG=driver), which names the adapter: SwiftShader and llvmpipe are CPUs.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'

import type { Adapter } from '../../../src-shared/model'
import { DTYPE_CODE, ModelProto } from './onnx-proto'

export type WebGpuVerdict = { ok: true; adapter?: Adapter } | { ok: false; reason: string }

/** What a child process printed and how it ended. */
export interface ChildOutput {
  stdout: string
  stderr: string
  /** Exit code; null when a signal or the timeout ended it. */
  code: number | null
}

/** Runs `script` (CommonJS, for `node -e`) in a Node child process with these variables added to its environment. */
export type ProbeRunner = (script: string, env: Record<string, string>) => Promise<ChildOutput>

/** Longer than any adapter takes to answer, even a software one compiling its first shader. */
export const PROBE_TIMEOUT_MS = 60_000

/** Vulkan devices that are CPUs under another name. */
const SOFTWARE_ADAPTERS: [RegExp, string][] = [
  [/SwiftShader/i, 'SwiftShader'],
  [/llvmpipe/i, 'llvmpipe'],
  [/lavapipe/i, 'lavapipe'],
  [/softpipe/i, 'softpipe'],
  [/Microsoft Basic Render/i, 'WARP'],
]

/** A one-node graph, y = x + x over 4 floats: small enough to probe with, real enough to run. */
function probeModel(): Uint8Array {
  const value = (name: string) => ({
    name,
    type: { tensorType: { elemType: DTYPE_CODE.float32, shape: { dim: [{ dimValue: 4 }] } } },
  })
  const model = {
    irVersion: 8,
    producerName: 'stepwise-webgpu-probe',
    opsetImport: [{ domain: '', version: 17 }],
    graph: {
      name: 'probe',
      input: [value('x')],
      output: [value('y')],
      node: [{ name: 'add', opType: 'Add', input: ['x', 'x'], output: ['y'] }],
    },
  }
  return ModelProto.encode(ModelProto.fromObject(model)).finish()
}

/** The child: start a WebGPU session, run it once, print the outcome as one JSON line on stdout. */
export function probeScript(ortPath: string): string {
  const model = Buffer.from(probeModel()).toString('base64')
  return `
const ort = require(${JSON.stringify(ortPath)})
ort.env.logLevel = 'fatal'
const say = (x) => process.stdout.write(JSON.stringify(x) + '\\n')
;(async () => {
  const session = await ort.InferenceSession.create(Buffer.from('${model}', 'base64'), {
    executionProviders: ['webgpu'],
    logSeverityLevel: 3,
  })
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [4]) })
  const y = Array.from(out.y.data)
  say(y.join() === '2,4,6,8' ? { ok: true } : { ok: false, message: 'WebGPU computed 1,2,3,4 + itself as ' + y.join() })
})().catch((e) => say({ ok: false, message: String(e && e.message) }))
`
}

/** Dawn's warnings in the child's stderr ("Warning: ..."), first lines only, each once. */
function dawnWarnings(stderr: string): string[] {
  const found = stderr.split('\n').flatMap((l) => /^Warning: (.+)$/.exec(l.trim())?.[1] ?? [])
  return [...new Set(found.map((w) => w.replace(/\.$/, '')))]
}

/** The devices the Vulkan loader listed (VK_LOADER_DEBUG=driver), each once. */
function vulkanDevices(stderr: string): string[] {
  const names = [...stderr.matchAll(/DRIVER:\s+\[\d+\] (.+?)\s*$/gm)].map((m) => m[1])
  return [...new Set(names)]
}

/**
 * The adapter Dawn runs on: with high-performance preference (onnxruntime's) it prefers a GPU to a CPU
 * device, so the first hardware device listed, else the first software one.
 */
export function adapterOf(devices: string[]): Adapter | undefined {
  const software = (name: string) => SOFTWARE_ADAPTERS.find(([re]) => re.test(name))?.[1]
  const hardware = devices.find((d) => !software(d))
  if (hardware) return { name: hardware, software: false }
  const first = devices[0]
  return first === undefined ? undefined : { name: software(first)!, software: true }
}

/** The verdict from what the child printed. */
export function verdictOf(out: ChildOutput): WebGpuVerdict {
  const last = out.stdout.trim().split('\n').at(-1) ?? ''
  let said: { ok: boolean; message?: string } | undefined
  try {
    said = JSON.parse(last)
  } catch {
    said = undefined
  }
  const warnings = dawnWarnings(out.stderr)
  if (said?.ok) return { ok: true, adapter: adapterOf(vulkanDevices(out.stderr)) }
  const why = said
    ? shortReason(said.message ?? 'WebGPU failed')
    : out.code === null
      ? `the WebGPU check did not finish within ${PROBE_TIMEOUT_MS / 1000} s`
      : `the WebGPU check ended with exit code ${out.code}`
  return { ok: false, reason: warnings.length ? `${why} (${warnings.join('; ')})` : why }
}

/** The runtime's own first line is long; keep the sentence a user can read. */
export const shortReason = (message: string): string =>
  (/(Failed to[^\n]*)/.exec(message)?.[1] ?? message.split('\n')[0]).trim()

/**
 * A Node child process of this Node. Not from Electron: with its RunAsNode fuse off, its binary would start
 * a second app instead (the Electron shell passes its utility process, see engine-client.ts).
 */
export const nodeChild: ProbeRunner = (script, env) =>
  new Promise((resolve) => {
    if (process.versions.electron)
      return resolve({ stdout: '', stderr: 'Warning: no way to start the check from Electron here', code: -1 })
    const child = spawn(process.execPath, ['-e', script], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: PROBE_TIMEOUT_MS,
    })
    let stdout = '',
      stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', (e) => resolve({ stdout, stderr: `${stderr}\nerror: ${e.message}`, code: -1 }))
    child.on('close', (code) => resolve({ stdout, stderr, code }))
  })

/** Probe WebGPU with `run` (a Node child process unless the host has another way to start one). */
export async function probeWebGpu(run: ProbeRunner = nodeChild): Promise<WebGpuVerdict> {
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node')
  const env: Record<string, string> = process.platform === 'linux' ? { VK_LOADER_DEBUG: 'driver' } : {}
  return verdictOf(await run(probeScript(ortPath), env))
}
