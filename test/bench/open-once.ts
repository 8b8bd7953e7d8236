/**
 * One open of a model in a process of its own, for open-diffusers.ts: the wall time of loadModel and the
 * peak resident memory it added. Prints one JSON line.
 *   tsx test/bench/open-once.ts <model> <cacheDir>
 */
import * as ort from 'onnxruntime-node'

import { loadModel } from '../../src-main/engine/model/load'
import { dummyModel } from '../fixtures/onnx-builder'

const [path, cacheDir] = process.argv.slice(2)
// onnxruntime's own start (thread pools, allocators) is not the model's: pay it before measuring.
await (await ort.InferenceSession.create(dummyModel(), { executionProviders: ['cpu'] })).release()
const before = process.memoryUsage().rss
const start = performance.now()
const model = await loadModel(path, { providers: ['cpu'], cacheDir })
const ms = performance.now() - start
const peak = process.resourceUsage().maxRSS * 1024
console.log(
  JSON.stringify({
    ms,
    addedPeakBytes: peak - before,
    addedAfterBytes: process.memoryUsage().rss - before,
    graph: model.info.source.graph,
    parameters: model.info.source.parameters,
  }),
)
await model.release()
