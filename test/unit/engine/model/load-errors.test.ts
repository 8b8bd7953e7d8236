/** Bad model files each give their error, naming the file; good ones load from each layout with the right training config. */
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { beforeAll, describe, expect, it } from 'vitest'

import type { ErrorCode } from '../../../../src-main/engine/errors'
import { defaultModelPath } from '../../../../src-main/engine/model/default-model'
import { loadModel } from '../../../../src-main/engine/model/load'
import { ModelProto } from '../../../../src-main/engine/model/onnx-proto'
import { trainingOf } from '../../../../src-main/engine/model/training'
import { runSampling } from '../../../../src-main/engine/run'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../../src-main/engine/schedule'
import { DEFAULT_SAMPLER, type SamplerConfig } from '../../../../src-shared/parameters'
import { buildOnnx, dummyModel, gaussianOracle } from '../../../fixtures/onnx-builder'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepwise-model-errors-'))
})

async function put(name: string, bytes: Uint8Array | string): Promise<string> {
  const path = join(dir, name)
  await mkdir(join(path, '..'), { recursive: true })
  await writeFile(path, bytes)
  return path
}

/** Loading `path` fails with `code`, and the message names `named` (the file the problem is in). */
async function expectLoadError(path: string, code: ErrorCode, named: string = path, also: string[] = []) {
  const err = await loadModel(path, { providers: ['cpu'] }).then(
    async (m) => {
      await m.release()
      return undefined
    },
    (e: unknown) => e,
  )
  expect(err, `${path} should not load`).toBeInstanceOf(Error)
  expect(err).toMatchObject({ code })
  const message = (err as Error).message
  expect(message).toContain(named)
  for (const s of also) expect(message).toContain(s)
  return message
}

const identity = (inputs: Parameters<typeof buildOnnx>[0]['inputs'], outName = 'y') =>
  buildOnnx({
    inputs,
    outputs: [{ ...inputs[0], name: outName }],
    nodes: [{ op: 'Identity', inputs: [inputs[0].name], outputs: [outName] }],
  })

describe('bad model files each give their error, naming the file', () => {
  it('no such file -> file-not-found', async () => {
    const path = join(dir, 'missing.onnx')
    await expectLoadError(path, 'file-not-found')
  })

  it('a text file renamed model.onnx -> not-onnx', async () => {
    const path = await put(
      'text/model.onnx',
      'This is not a model, just some notes.\nSee README.md for the real thing.\n',
    )
    await expectLoadError(path, 'not-onnx')
  })

  it('the default model cut to half its bytes -> truncated', async () => {
    const bytes = await readFile(defaultModelPath())
    const path = await put('half.onnx', bytes.subarray(0, Math.floor(bytes.length / 2)))
    await expectLoadError(path, 'truncated')
  })

  it('an empty file -> not-onnx', async () => {
    const path = await put('empty.onnx', new Uint8Array(0))
    await expectLoadError(path, 'not-onnx', path, ['empty'])
  })

  const classifierNodes = [
    { op: 'Flatten', inputs: ['x'], outputs: ['flat'], attrs: { axis: 1 } },
    { op: 'MatMul', inputs: ['flat', 'W'], outputs: ['logits'] },
  ]
  const W = { name: 'W', dims: [784, 10], data: new Float32Array(7840).fill(0.01) }

  it('an image classifier (x [B,1,28,28] -> logits [B,10]) -> not-a-denoiser', async () => {
    const path = await put(
      'classifier.onnx',
      buildOnnx({
        inputs: [{ name: 'x', dtype: 'float32', shape: ['B', 1, 28, 28] }],
        outputs: [{ name: 'logits', dtype: 'float32', shape: ['B', 10] }],
        initializers: [W],
        nodes: classifierNodes,
      }),
    )
    // The output is checked before the other inputs: a classifier is told apart by its output's shape.
    await expectLoadError(path, 'not-a-denoiser', path, ['no 4-D output', 'logits[B,10] (float32)'])
  })

  it('a noisy-image classifier (x, t -> logits [B,10]) -> not-a-denoiser, the output not being 4-D', async () => {
    const path = await put(
      'noisy-classifier.onnx',
      buildOnnx({
        inputs: [
          { name: 'x', dtype: 'float32', shape: ['B', 1, 28, 28] },
          { name: 't', dtype: 'int64', shape: ['B'] },
        ],
        outputs: [{ name: 'logits', dtype: 'float32', shape: ['B', 10] }],
        initializers: [W],
        nodes: classifierNodes,
      }),
    )
    await expectLoadError(path, 'not-a-denoiser', path, ['4-D', 'logits[B,10] (float32)'])
  })

  it('only a 2-D input -> not-a-denoiser, listing the inputs found', async () => {
    const path = await put('flat.onnx', identity([{ name: 'x', dtype: 'float32', shape: [1, 10] }]))
    await expectLoadError(path, 'not-a-denoiser', path, ['no 4-D image input', 'x[1,10] (float32)'])
  })

  it('a float64 image input -> unsupported-dtype', async () => {
    const path = await put(
      'f64.onnx',
      identity([
        { name: 'sample', dtype: 'float64', shape: ['B', 1, 8, 8] },
        { name: 'timestep', dtype: 'int64', shape: ['B'] },
      ]),
    )
    await expectLoadError(path, 'unsupported-dtype', path, ['float64'])
  })

  it('an int8 timestep input -> unsupported-dtype', async () => {
    const path = await put(
      'int8-t.onnx',
      identity([
        { name: 'sample', dtype: 'float32', shape: ['B', 1, 8, 8] },
        { name: 'timestep', dtype: 'int8', shape: ['B'] },
      ]),
    )
    await expectLoadError(path, 'unsupported-dtype', path, ['timestep', 'int8'])
  })

  it('a denoiser signature with an operator onnxruntime lacks -> unsupported-operator', async () => {
    const path = await put(
      'nosuchop.onnx',
      buildOnnx({
        inputs: [
          { name: 'sample', dtype: 'float32', shape: ['B', 1, 8, 8] },
          { name: 'timestep', dtype: 'int64', shape: ['B'] },
        ],
        outputs: [{ name: 'out', dtype: 'float32', shape: ['B', 1, 8, 8] }],
        nodes: [{ op: 'NoSuchOp', inputs: ['sample', 'timestep'], outputs: ['out'] }],
      }),
    )
    await expectLoadError(path, 'unsupported-operator', path, ['NoSuchOp'])
  })

  it('a diffusers folder without unet/model.onnx -> file-not-found', async () => {
    const folder = join(dir, 'no-unet')
    await put('no-unet/model_index.json', '{"_class_name":"DDPMPipeline"}')
    await put('no-unet/scheduler/scheduler_config.json', '{"_class_name":"DDPMScheduler"}')
    await expectLoadError(folder, 'file-not-found', folder, ['unet/model.onnx'])
  })

  it('a sidecar JSON that is not JSON -> bad-metadata, naming the sidecar', async () => {
    const path = await put('badside.onnx', dummyModel(1))
    const sidecar = await put('badside.json', '{ beta_schedule: linear,')
    await expectLoadError(path, 'bad-metadata', sidecar, ['not valid JSON'])
  })

  it('metadata_props prediction_type "banana" -> bad-metadata', async () => {
    const bytes = gaussianOracle(makeSchedule(DEFAULT_SCHEDULE).alphasCumprod, [0], [1], 'epsilon')
    const path = await put('banana.onnx', withMetadata(bytes, { 'stepwise.prediction_type': 'banana' }))
    await expectLoadError(path, 'bad-metadata', path, ['prediction_type'])
  })
})

/** Re-encode a model with its graph changed (dims, metadata) through the engine's own protobuf schema. */
function edit(bytes: Uint8Array, change: (model: any) => void): Uint8Array {
  const model: any = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false })
  change(model)
  return ModelProto.encode(ModelProto.fromObject(model)).finish()
}
const withMetadata = (bytes: Uint8Array, props: Record<string, string>) =>
  edit(bytes, (m) => {
    m.metadataProps = [...(m.metadataProps ?? []), ...Object.entries(props).map(([key, value]) => ({ key, value }))]
  })
/** Fix every input's and output's first dimension (the batch) at n. */
const fixBatch = (bytes: Uint8Array, n: number) =>
  edit(bytes, (m) => {
    for (const v of [...m.graph.input, ...m.graph.output]) v.type.tensorType.shape.dim[0] = { dimValue: n }
  })

describe('good models load from each layout with their training config', () => {
  const ab = makeSchedule(DEFAULT_SCHEDULE).alphasCumprod
  const oracle = () => gaussianOracle(ab, [0.2, -0.1, 0.4], [0.5, 0.3, 0.8], 'epsilon')

  it('a plain .onnx with no metadata assumes the training schedule', async () => {
    const path = await put('plain/oracle.onnx', oracle())
    const model = await loadModel(path, { providers: ['cpu'] })
    try {
      expect(model.info.layout).toBe('onnx')
      expect(model.info.signature.channels).toBe(3)
      const t = trainingOf(model.info)
      expect(t.assumed).toEqual(expect.arrayContaining(['beta_schedule', 'num_train_timesteps', 'prediction_type']))
      expect(t.schedule).toMatchObject({ schedule: DEFAULT_SCHEDULE.schedule, trainSteps: DEFAULT_SCHEDULE.trainSteps })
    } finally {
      await model.release()
    }
  })

  it('a sidecar <name>.json gives the schedule, steps and prediction type', async () => {
    const path = await put('side/oracle.onnx', oracle())
    await put(
      'side/oracle.json',
      JSON.stringify({ beta_schedule: 'squaredcos_cap_v2', prediction_type: 'v_prediction', num_train_timesteps: 500 }),
    )
    const model = await loadModel(path, { providers: ['cpu'] })
    try {
      expect(model.info.layout).toBe('onnx+sidecar')
      const t = trainingOf(model.info)
      expect(t.schedule.schedule).toBe('cosine')
      expect(t.schedule.trainSteps).toBe(500)
      expect(t.sampler.predictionType).toBe('v_prediction')
      expect(t.assumed).not.toContain('beta_schedule')
      expect(model.info.metadata.origin).toMatchObject({
        beta_schedule: 'sidecar',
        prediction_type: 'sidecar',
        num_train_timesteps: 'sidecar',
      })
    } finally {
      await model.release()
    }
  })

  async function diffusersFolder(name: string, onnx: Uint8Array) {
    await put(
      `${name}/model_index.json`,
      JSON.stringify({
        _class_name: 'DDPMPipeline',
        unet: ['diffusers', 'UNet2DModel'],
        scheduler: ['diffusers', 'DDIMScheduler'],
      }),
    )
    await put(`${name}/unet/model.onnx`, onnx)
    await put(
      `${name}/scheduler/scheduler_config.json`,
      JSON.stringify({
        _class_name: 'DDIMScheduler',
        beta_schedule: 'scaled_linear',
        beta_start: 0.00085,
        beta_end: 0.012,
        clip_sample: false,
      }),
    )
    return join(dir, name)
  }

  it('a diffusers folder takes scheduler/scheduler_config.json', async () => {
    const folder = await diffusersFolder('pipe', oracle())
    const model = await loadModel(folder, { providers: ['cpu'] })
    try {
      expect(model.info.layout).toBe('diffusers-folder')
      expect(model.info.onnxPath).toBe(join(folder, 'unet', 'model.onnx'))
      const t = trainingOf(model.info)
      expect(t.schedule).toMatchObject({ schedule: 'scaled_linear', betaStart: 0.00085, betaEnd: 0.012 })
      expect(t.samplerOptions.clipSample).toBe(false)
      expect(model.info.metadata.origin).toMatchObject({
        beta_schedule: 'scheduler-config',
        beta_start: 'scheduler-config',
        beta_end: 'scheduler-config',
        clip_sample: 'scheduler-config',
      })
    } finally {
      await model.release()
    }
  })

  it("the folder's scheduler config beats the ONNX metadata_props key by key", async () => {
    const onnx = withMetadata(oracle(), {
      'stepwise.beta_schedule': 'linear',
      'stepwise.beta_start': '0.0001',
      'stepwise.prediction_type': 'sample',
      'stepwise.num_train_timesteps': '1000',
    })
    const folder = await diffusersFolder('pipe-meta', onnx)
    const model = await loadModel(folder, { providers: ['cpu'] })
    try {
      const t = trainingOf(model.info)
      expect(t.schedule.schedule).toBe('scaled_linear')
      expect(t.schedule.betaStart).toBe(0.00085)
      expect(t.sampler.predictionType).toBe('sample') // only the ONNX gives it
      expect(model.info.metadata.origin).toMatchObject({
        beta_schedule: 'scheduler-config',
        beta_start: 'scheduler-config',
        prediction_type: 'onnx-metadata',
        num_train_timesteps: 'onnx-metadata',
      })
    } finally {
      await model.release()
    }
  })
})

describe('running graphs that fix the batch or take other timestep dtypes', () => {
  const schedule = makeSchedule(DEFAULT_SCHEDULE)
  const mu = [0.2, -0.1, 0.4],
    s = [0.5, 0.3, 0.8]
  const ddimConfig: SamplerConfig = { ...DEFAULT_SAMPLER, sampler: 'ddim', steps: 10, eta: 0, clipSample: false }

  async function sampleWith(name: string, bytes: Uint8Array, batch: number, sampler: SamplerConfig = ddimConfig) {
    const model = await loadModel(await put(name, bytes), { providers: ['cpu'] })
    try {
      const r = await runSampling(model, { sampler, schedule, seed: 11, batch, height: 8, width: 8 })
      return { r, signature: model.info.signature }
    } finally {
      await model.release()
    }
  }

  it("a graph fixed at batch 2 runs a batch of 3 in padded groups, giving the dynamic graph's samples", async () => {
    const dynamic = gaussianOracle(schedule.alphasCumprod, mu, s, 'epsilon')
    const fixed2 = fixBatch(dynamic, 2)
    for (const sampler of [ddimConfig, { ...ddimConfig, sampler: 'ddpm' as const }]) {
      const a = await sampleWith(`dyn-${sampler.sampler}.onnx`, dynamic, 3, sampler)
      const b = await sampleWith(`fixed2-${sampler.sampler}.onnx`, fixed2, 3, sampler)
      expect(a.signature.fixedBatch).toBeUndefined()
      expect(b.signature.fixedBatch).toBe(2)
      expect(b.signature.image.shape).toEqual([2, 3, 'H', 'W'])
      expect(b.r.samples.length).toBe(3 * 3 * 8 * 8)
      expect(Array.from(b.r.samples)).toEqual(Array.from(a.r.samples))
      // and the samples are not trivially equal (e.g. all zero): each image differs from the others
      const per = 3 * 8 * 8
      expect(Array.from(a.r.samples.subarray(2 * per, 3 * per))).not.toEqual(
        Array.from(a.r.samples.subarray(per, 2 * per)),
      )
    }
  })

  it('int32 and float32 timestep inputs give the same DDIM result as int64', async () => {
    const results: Float32Array[] = []
    for (const dtype of ['int64', 'int32', 'float32'] as const) {
      const { r, signature } = await sampleWith(
        `t-${dtype}.onnx`,
        gaussianOracle(schedule.alphasCumprod, mu, s, 'epsilon', dtype),
        2,
      )
      expect(signature.timestep.dtype).toBe(dtype)
      results.push(r.samples)
    }
    expect(Array.from(results[1])).toEqual(Array.from(results[0]))
    expect(Array.from(results[2])).toEqual(Array.from(results[0]))
  })
})
