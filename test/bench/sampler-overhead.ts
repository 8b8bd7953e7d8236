/**
 * npm run bench: the sampler loop's own cost. On the default model, the wall time of a 50-step DDIM run
 * (guidance 3: each step one session.run of 2B images) divided by the time of the same number of bare
 * session.run calls on the same batch, measured in one process, alternating, best of several rounds.
 */
import * as ort from 'onnxruntime-node'
import { readFile } from 'node:fs/promises'
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
const session = await ort.InferenceSession.create(new Uint8Array(await readFile(path)), { executionProviders: ['cpu'], graphOptimizationLevel: 'all' })

const guided = t.classes?.nullClassId !== undefined
const runBatch = guided ? 2 * batch : batch
const x = new Float32Array(runBatch * sig.channels * height * width).fill(0.1)

async function bare(): Promise<number> {
  const start = performance.now()
  for (let i = 0; i < STEPS; i++) {
    const feeds: Record<string, ort.Tensor> = {
      [sig.image.name]: new ort.Tensor('float32', x, [runBatch, sig.channels, height, width]),
      [sig.timestep.name]: new ort.Tensor('int64', new BigInt64Array(runBatch).fill(BigInt(980 - 20 * i)), [runBatch]),
    }
    if (sig.classLabels) feeds[sig.classLabels.name] = new ort.Tensor('int64', new BigInt64Array(runBatch).fill(3n), [runBatch])
    await session.run(feeds)
  }
  return performance.now() - start
}

async function sampler(): Promise<number> {
  const start = performance.now()
  await runSampling(model, {
    sampler: { ...t.sampler, sampler: 'ddim', steps: STEPS }, schedule: makeSchedule(t.schedule), seed: 1, batch, height, width,
    classLabel: guided ? 3 : undefined, guidance: guided ? 3 : undefined, nullClassId: t.classes?.nullClassId,
  })
  return performance.now() - start
}

await bare()
await sampler() // warm-up
let bestBare = Infinity, bestLoop = Infinity
for (let r = 0; r < ROUNDS; r++) {
  bestBare = Math.min(bestBare, await bare())
  bestLoop = Math.min(bestLoop, await sampler())
}
console.log(`model: ${model.info.name} (${path}), provider: ${model.info.provider}`)
console.log(`batch ${batch}${guided ? ` (x2 for guidance: ${runBatch} images a session.run)` : ''}, ${height}x${width}, ${STEPS} DDIM steps, best of ${ROUNDS}`)
console.log(`bare session.run x${STEPS}: ${bestBare.toFixed(1)} ms`)
console.log(`sampler loop:            ${bestLoop.toFixed(1)} ms`)
console.log(`ratio loop / bare: ${(bestLoop / bestBare).toFixed(3)}  (sampler overhead ${(100 * (bestLoop / bestBare - 1)).toFixed(1)}%)`)
await model.release()
await session.release()
