/**
 * npm run bench, two ratios measured in one run:
 * 1. The sampler loop's own cost. On the default model, the wall time of a 50-step DDIM run (guidance 3:
 *    each step one session.run of 2B images) divided by the time of the same number of bare session.run
 *    calls on the same batch, alternating, best of several rounds.
 * 2. Stepwise against PyTorch: the same U-Net (the default model's architecture, exported by
 *    test/bench/torch_loop.py) sampled with the same 50-step guided DDIM loop in PyTorch (Debian's
 *    /usr/bin/python3) and in Stepwise, best of several rounds each. Skipped with a line when that
 *    Python has no torch.
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import * as ort from 'onnxruntime-node'

import { defaultModelPath } from '../../src-main/engine/model/default-model'
import { loadModel } from '../../src-main/engine/model/load'
import { trainingOf } from '../../src-main/engine/model/training'
import { runSampling } from '../../src-main/engine/run'
import { makeSchedule } from '../../src-main/engine/schedule'

const STEPS = 50
const ROUNDS = 3
const batch = Number(process.argv[2] ?? 8)

const path = defaultModelPath()
const model = await loadModel(path, { providers: ['cpu'] })
const t = trainingOf(model.info)
const { height, width } = t.size
const sig = model.info.signature
const session = await ort.InferenceSession.create(new Uint8Array(await readFile(path)), {
  executionProviders: ['cpu'],
  graphOptimizationLevel: 'all',
})

const guided = t.classes?.nullClassId !== undefined
const runBatch = guided ? 2 * batch : batch
const x = new Float32Array(runBatch * sig.channels! * height * width).fill(0.1)

async function bare(): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < STEPS; i++) {
    const feeds: Record<string, ort.Tensor> = {
      [sig.image.name]: new ort.Tensor('float32', x, [runBatch, sig.channels!, height, width]),
      [sig.timestep.name]: new ort.Tensor('int64', new BigInt64Array(runBatch).fill(BigInt(980 - 20 * i)), [runBatch]),
    }
    if (sig.classLabels)
      feeds[sig.classLabels.name] = new ort.Tensor('int64', new BigInt64Array(runBatch).fill(3n), [runBatch])
    await session.run(feeds)
  }
  return performance.now() - start
}

async function sampler(): Promise<number> {
  const start = performance.now()
  await runSampling(model, {
    sampler: { ...t.sampler, sampler: 'ddim', steps: STEPS },
    schedule: makeSchedule(t.schedule),
    seed: 1,
    batch,
    height,
    width,
    classLabel: guided ? 3 : undefined,
    guidance: guided ? 3 : undefined,
    nullClassId: t.classes?.nullClassId,
  })
  return performance.now() - start
}

await bare()
await sampler() // warm-up
let bestBare = Infinity,
  bestLoop = Infinity
for (let r = 0; r < ROUNDS; r++) {
  bestBare = Math.min(bestBare, await bare())
  bestLoop = Math.min(bestLoop, await sampler())
}
console.log(`model: ${model.info.name} (${path}), provider: ${model.info.provider}`)
console.log(
  `batch ${batch}${guided ? ` (x2 for guidance: ${runBatch} images a session.run)` : ''}, ${height}x${width}, ${STEPS} DDIM steps, best of ${ROUNDS}`,
)
console.log(`bare session.run x${STEPS}: ${bestBare.toFixed(1)} ms`)
console.log(`sampler loop:            ${bestLoop.toFixed(1)} ms`)
console.log(
  `ratio loop / bare: ${(bestLoop / bestBare).toFixed(3)}  (sampler overhead ${(100 * (bestLoop / bestBare - 1)).toFixed(1)}%)`,
)
await model.release()
await session.release()

// ---- 2. against a PyTorch loop of the same net ----
const python = process.env.STEPWISE_TORCH_PYTHON ?? '/usr/bin/python3'
const dir = mkdtempSync(join(tmpdir(), 'stepwise-bench-'))
const onnxPath = join(dir, 'bench-net.onnx')
const torchRun = spawnSync(
  python,
  [new URL('./torch_loop.py', import.meta.url).pathname, onnxPath, String(batch), String(STEPS), String(ROUNDS)],
  { encoding: 'utf8' },
)
const line = torchRun.stdout?.trim().split('\n').at(-1)
if (torchRun.status !== 0 || !line) {
  console.log(
    `\nPyTorch comparison skipped: ${python} could not run torch_loop.py (${(torchRun.stderr || String(torchRun.error)).trim().split('\n').at(-1)})`,
  )
} else {
  const torch = JSON.parse(line) as { torch_ms: number; torch: string; threads: number; params: number }
  const same = await loadModel(onnxPath, { providers: ['cpu'] })
  const st = trainingOf(same.info)
  const ours = async () => {
    const start = performance.now()
    await runSampling(same, {
      sampler: { ...st.sampler, sampler: 'ddim', steps: STEPS },
      schedule: makeSchedule(st.schedule),
      seed: 1,
      batch,
      height,
      width,
      classLabel: 3,
      guidance: 3,
      nullClassId: st.classes?.nullClassId,
    })
    return performance.now() - start
  }
  await ours()
  let bestOurs = Infinity
  for (let r = 0; r < ROUNDS; r++) bestOurs = Math.min(bestOurs, await ours())
  await same.release()
  console.log(
    `\nsame U-Net (${torch.params} parameters), batch ${batch} with guidance 3, ${STEPS} DDIM steps, best of ${ROUNDS}`,
  )
  console.log(`PyTorch ${torch.torch} loop (${torch.threads} threads): ${torch.torch_ms.toFixed(1)} ms`)
  console.log(`Stepwise (onnxruntime-node, cpu):     ${bestOurs.toFixed(1)} ms`)
  console.log(`ratio Stepwise / PyTorch: ${(bestOurs / torch.torch_ms).toFixed(3)}`)
}
rmSync(dir, { recursive: true, force: true })
