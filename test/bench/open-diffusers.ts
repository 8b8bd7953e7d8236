/**
 * npm run bench, models as training left them (issue #11):
 * 1. Opening a diffusers UNet2DModel of google/ddpm-cifar10-32's size (its config; 35.7 M parameters of
 *    seeded random weights written here as safetensors, as save_pretrained lays them out): the first open
 *    (read, build the graph, cache it, start the session) and opens from the cache, each in a process of its
 *    own (open-once.ts): wall time, and the peak resident memory the open added against the weights' bytes.
 * 2. Sampling the built graph against the same network exported by torch.onnx from diffusers' own
 *    UNet2DModel (test/fixtures/diffusers/make-diffusers-fixtures.py --export, Debian's /usr/bin/python3 and
 *    a diffusers source tree in $DIFFUSERS): session.run calls alternating between the two, the ratio of the
 *    medians. Skipped with a line where there is no torch or no diffusers source.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import * as ort from 'onnxruntime-node'

import { stateDictShapes } from '../../src-main/engine/model/graph/unet2d'
import { parseUNet2DConfig } from '../../src-main/engine/model/graph/unet2d-config'
import { Gaussian } from '../../src-main/engine/rng'
import { DDPM_CIFAR10_CONFIG } from '../fixtures/diffusers/ddpm-cifar10-config'

const ROOT = new URL('../..', import.meta.url).pathname
const OPENS_FROM_CACHE = 3
const RUNS = 10
const BATCH = 4

const CIFAR10 = DDPM_CIFAR10_CONFIG

/** Seeded weights of every shape the config implies, scaled 1/sqrt(fan-in) (norms around 1), as safetensors. */
function randomSafetensors(): { bytes: Uint8Array; parameters: number } {
  const shapes = [...stateDictShapes(parseUNet2DConfig(CIFAR10, 'config.json').config)].sort(([a], [b]) =>
    a < b ? -1 : 1,
  )
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } }
  let offset = 0
  for (const [name, shape] of shapes) {
    const n = shape.reduce((a, b) => a * b, 1)
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + 4 * n] }
    offset += 4 * n
  }
  let text = JSON.stringify(header)
  text += ' '.repeat((8 - (text.length % 8)) % 8)
  const bytes = new Uint8Array(8 + text.length + offset)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(text.length), true)
  bytes.set(new TextEncoder().encode(text), 8)
  const rng = new Gaussian(0)
  let at = 8 + text.length
  for (const [name, shape] of shapes) {
    const values = new Float32Array(
      bytes.buffer,
      at,
      shape.reduce((a, b) => a * b, 1),
    )
    rng.fill(values)
    const isNorm = /norm/.test(name)
    const scale = isNorm ? 0.1 : 1 / Math.sqrt(shape.slice(1).reduce((a, b) => a * b, 1))
    for (let i = 0; i < values.length; i++) values[i] = (isNorm && name.endsWith('weight') ? 1 : 0) + scale * values[i]
    at += values.byteLength
  }
  return { bytes, parameters: offset / 4 }
}

const dir = mkdtempSync(join(tmpdir(), 'stepwise-bench-open-'))
const pipeline = join(dir, 'ddpm-cifar10-size')
mkdirSync(join(pipeline, 'unet'), { recursive: true })
mkdirSync(join(pipeline, 'scheduler'))
writeFileSync(
  join(pipeline, 'model_index.json'),
  JSON.stringify({
    _class_name: 'DDPMPipeline',
    scheduler: ['diffusers', 'DDPMScheduler'],
    unet: ['diffusers', 'UNet2DModel'],
  }),
)
writeFileSync(join(pipeline, 'unet', 'config.json'), JSON.stringify(CIFAR10))
writeFileSync(
  join(pipeline, 'scheduler', 'scheduler_config.json'),
  JSON.stringify({ _class_name: 'DDPMScheduler', beta_schedule: 'linear', num_train_timesteps: 1000 }),
)
const { bytes, parameters } = randomSafetensors()
writeFileSync(join(pipeline, 'unet', 'diffusion_pytorch_model.safetensors'), bytes)
const weightBytes = 4 * parameters
const cacheDir = join(dir, 'cache')

function openOnce() {
  const r = spawnSync('npx', ['tsx', join(ROOT, 'test/bench/open-once.ts'), pipeline, cacheDir], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  const line = r.stdout.trim().split('\n').at(-1)
  if (r.status !== 0 || !line) throw new Error(`open-once.ts failed: ${r.stderr}`)
  return JSON.parse(line) as { ms: number; addedPeakBytes: number; addedAfterBytes: number; graph: string }
}
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`
const show = (what: string, o: ReturnType<typeof openOnce>) =>
  console.log(
    `${what}: ${(o.ms / 1000).toFixed(2)} s, peak memory +${mb(o.addedPeakBytes)} = ${(o.addedPeakBytes / weightBytes).toFixed(2)}x the weights (held after: +${mb(o.addedAfterBytes)})`,
  )

console.log(
  `diffusers UNet2DModel, google/ddpm-cifar10-32's config: ${parameters.toLocaleString('en-US')} parameters, ${mb(weightBytes)} of F32 safetensors`,
)
const first = openOnce()
if (first.graph !== 'built') throw new Error(`the first open should build the graph, it was ${first.graph}`)
show('first open (read, build, cache, start the session)', first)
const cached = Array.from({ length: OPENS_FROM_CACHE }, openOnce)
if (cached.some((o) => o.graph !== 'cached')) throw new Error('the later opens should come from the cache')
show(
  `open from the cache (best of ${OPENS_FROM_CACHE})`,
  cached.reduce((a, b) => (b.ms < a.ms ? b : a)),
)

// ---- 2. sampling: the built graph against torch.onnx's export of diffusers' own module ----
const python = process.env.STEPWISE_TORCH_PYTHON ?? '/usr/bin/python3'
const diffusers = process.env.DIFFUSERS
const theirsPath = join(dir, 'torch-export.onnx')
const skip = (why: string) => console.log(`\nbuilt graph vs torch.onnx export skipped: ${why}`)
if (!diffusers || !existsSync(diffusers)) {
  skip('set DIFFUSERS to a diffusers checkout or bare git directory (github.com/huggingface/diffusers)')
} else {
  const exported = spawnSync(
    python,
    [join(ROOT, 'test/fixtures/diffusers/make-diffusers-fixtures.py'), diffusers, '--export', pipeline, theirsPath],
    { encoding: 'utf8' },
  )
  if (exported.status !== 0)
    skip(`${python} could not export (${(exported.stderr || String(exported.error)).trim().split('\n').at(-1)})`)
  else {
    const { readdirSync } = await import('node:fs')
    const oursPath = join(
      cacheDir,
      'graphs',
      readdirSync(join(cacheDir, 'graphs')).find((f) => f.endsWith('.onnx'))!,
    )
    const options: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'], graphOptimizationLevel: 'all' }
    const ours = await ort.InferenceSession.create(oursPath, options)
    const theirs = await ort.InferenceSession.create(theirsPath, options)
    const x = new Gaussian(7).fill(new Float32Array(BATCH * 3 * 32 * 32))
    const feeds = (s: ort.InferenceSession) => ({
      [s.inputNames[0]]: new ort.Tensor('float32', x, [BATCH, 3, 32, 32]),
      [s.inputNames[1]]: new ort.Tensor('float32', new Float32Array(BATCH).fill(500), [BATCH]),
    })
    const timed = async (s: ort.InferenceSession) => {
      const start = performance.now()
      const out = (await s.run(feeds(s)))[s.outputNames[0]].data as Float32Array
      return { ms: performance.now() - start, out }
    }
    const a = await timed(ours)
    const b = await timed(theirs) // warm-up, and the two outputs compared
    const diff = a.out.reduce((m, v, i) => Math.max(m, Math.abs(v - b.out[i])), 0)
    const times: { ours: number[]; theirs: number[] } = { ours: [], theirs: [] }
    for (let r = 0; r < RUNS; r++) {
      times.ours.push((await timed(ours)).ms)
      times.theirs.push((await timed(theirs)).ms)
    }
    const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1]
    console.log(
      `\nsame network, batch ${BATCH} at 32x32, ${RUNS} session.run each, alternating (outputs differ by ${diff.toExponential(1)})`,
    )
    console.log(`torch.onnx export of diffusers' UNet2DModel: ${median(times.theirs).toFixed(1)} ms (median)`)
    console.log(`graph Stepwise built from the weights:      ${median(times.ours).toFixed(1)} ms (median)`)
    console.log(`ratio built / torch.onnx: ${(median(times.ours) / median(times.theirs)).toFixed(3)}`)
    await ours.release()
    await theirs.release()
  }
}
rmSync(dir, { recursive: true, force: true })
