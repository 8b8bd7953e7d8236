/**
 * Requests checked against the model before anything runs: sizes the graph takes and the machine can
 * hold, seeds that stay exact, a steps offset inside the schedule, a bounded T in the metadata. The
 * service and the CLI give the same errors (the CLI exits 2 with one line).
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { main } from '../../../src-main/cli'
import { checkRequest } from '../../../src-main/engine/checks'
import { defaultModelPath } from '../../../src-main/engine/model/default-model'
import { type Denoiser, loadModel } from '../../../src-main/engine/model/load'
import { modelFacts, planRun } from '../../../src-main/engine/plan'
import { MAX_BATCH, MAX_IMAGE_SIDE, MAX_TRAIN_STEPS } from '../../../src-shared/limits'
import { buildOnnx, dummyModel } from '../../fixtures/onnx-builder'

let dir: string
let fixed: Denoiser
let dynamic: Denoiser
let dynamicPath: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepwise-checks-'))
  fixed = await loadModel(defaultModelPath(), { providers: ['cpu'] })
  dynamicPath = join(dir, 'dynamic.onnx')
  await writeFile(dynamicPath, dummyModel(1))
  dynamic = await loadModel(dynamicPath, { providers: ['cpu'] })
})
afterAll(async () => {
  await fixed.release()
  await dynamic.release()
})

/** `stepwise ...` in this process: its exit code, and stderr's lines. */
async function cli(...argv: string[]) {
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
  let stderr = ''
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true))
  try {
    return { code: await main(argv), lines: stderr.trimEnd().split('\n') }
  } finally {
    vi.restoreAllMocks()
  }
}

describe('image sizes', () => {
  it('a graph that fixes 28x28 takes only 28x28, from the service and the CLI alike', async () => {
    const facts = modelFacts(fixed.info)
    const big = { seed: 1, batch: MAX_BATCH, height: 4096, width: 4096 }
    expect(() => planRun(facts, big)).toThrow("height 4096: Stepwise digits's graph takes 28x28 images only")
    expect(() => planRun(facts, { seed: 1, batch: 1, width: 32 })).toThrow(/width 32: .* takes 28x28 images only/)
    expect(planRun(facts, { seed: 1, batch: 1, height: 28, width: 28 }).shape).toMatchObject({ height: 28 })

    const out = join(dir, 'big')
    const r = await cli('sample', '--height', '4096', '--width', '4096', '--batch', '64', '--out', out)
    expect(r).toEqual({ code: 2, lines: ["stepwise: height 4096: Stepwise digits's graph takes 28x28 images only"] })
    await expect(readdir(out)).rejects.toThrow(/ENOENT/)
  })

  it('a dynamic graph takes any size up to the largest side', () => {
    const facts = modelFacts(dynamic.info)
    expect(facts.training.size).toEqual({ height: 32, width: 32, from: 'smallest' })
    expect(planRun(facts, { seed: 1, batch: 2, height: 64, width: 24 }).shape).toMatchObject({ height: 64, width: 24 })
    expect(planRun(facts, { seed: 1, batch: 1, height: 4, width: 30 }).shape).toMatchObject({ height: 4, width: 30 })
    expect(() => planRun(facts, { seed: 1, batch: 1, width: 4096 })).toThrow(
      `width 4096: dynamic.onnx takes sizes from 1 to ${MAX_IMAGE_SIDE}`,
    )
    expect(() => planRun(facts, { seed: 1, batch: 1, width: 0 })).toThrow(/width 0/)
  })

  it('a graph built from weights takes multiples of what its U-Net halves by, and says so', async () => {
    const fixtures = join(import.meta.dirname, '..', '..', 'fixtures')
    const lucidrains = await loadModel(join(fixtures, 'peers', 'lucidrains', 'cosine-eps-gray28', 'model-3.pt'), {
      providers: ['cpu'],
    })
    const diffusers = await loadModel(join(fixtures, 'diffusers', 'odd-relu-noattn', 'pipeline'), {
      providers: ['cpu'],
    })
    try {
      // dim_mults (1, 2, 2): halved twice; two down blocks: once.
      const facts = modelFacts(lucidrains.info)
      expect([facts.graph.sizeMultiple, modelFacts(diffusers.info).graph.sizeMultiple]).toEqual([4, 2])
      const shape = { batch: 1, channels: 1, height: 32, width: 36 }
      expect(planRun(facts, { seed: 1, batch: 1, height: 32, width: 36 }).shape).toEqual(shape)
      const out = await lucidrains.predict(new Float32Array(32 * 36), shape, 500)
      expect(out.every(Number.isFinite)).toBe(true)
      // A size it cannot halve fails in the graph; the check says why before anything runs.
      await expect(
        lucidrains.predict(new Float32Array(30 * 30), { ...shape, height: 30, width: 30 }, 500),
      ).rejects.toThrow()
      expect(() => planRun(facts, { seed: 1, batch: 1, height: 30 })).toThrow(
        'height 30: model-3.pt halves its images 2 times, so it takes multiples of 4 (28 or 32)',
      )
      expect(() => planRun(modelFacts(diffusers.info), { seed: 1, batch: 1, width: 9 })).toThrow(
        'width 9: pipeline halves its images 1 time, so it takes multiples of 2 (8 or 10)',
      )
      expect(() => planRun(facts, { seed: 1, batch: 1, width: 3 })).toThrow('so it takes multiples of 4 (4)')
    } finally {
      await lucidrains.release()
      await diffusers.release()
    }
  })

  it('a run whose model call cannot fit in memory is refused with the numbers', () => {
    // 64 images of 2048x2048 at 4 KiB a pixel: 1 TiB for one call.
    const facts = modelFacts(dynamic.info)
    expect(() => planRun(facts, { seed: 1, batch: MAX_BATCH, height: MAX_IMAGE_SIDE, width: MAX_IMAGE_SIDE })).toThrow(
      /64 image\(s\) of 2048x2048: one model call would need about 1024 GiB of memory \(4 KiB a pixel\) and this machine has \d+/,
    )
    const model = { name: 'm', graph: {}, trainedSize: { height: 32, width: 32 }, trainSteps: 1000 }
    const request = { shape: { batch: 4, channels: 3, height: 256, width: 256 }, seed: 0, sampler: { stepsOffset: 0 } }
    // 4 x 256 x 256 x 4 KiB = 1 GiB; guidance doubles it.
    expect(() => checkRequest(model, { ...request, guided: false }, 1024 ** 3)).not.toThrow()
    expect(() => checkRequest(model, { ...request, guided: true }, 1024 ** 3)).toThrow(
      '4 image(s) of 256x256 with guidance (twice the batch a call): one model call would need about 2.0 GiB',
    )
  })
})

describe('seeds, the steps offset and T', () => {
  it('image k uses seed + k, so the last seed of the batch must stay an exact integer', async () => {
    const facts = modelFacts(fixed.info)
    const top = Number.MAX_SAFE_INTEGER
    expect(planRun(facts, { seed: top - 3, batch: 4 }).run.seed).toBe(top - 3)
    expect(() => planRun(facts, { seed: top - 2, batch: 4 })).toThrow(
      `seed ${top - 2} with batch 4: image k uses seed + k, and the last is past ${top}`,
    )
    const r = await cli('sample', '--seed', String(top), '--batch', '2', '--out', join(dir, 'seed'))
    expect(r.code).toBe(2)
    expect(r.lines).toEqual([
      expect.stringMatching(/^stepwise: seed 9007199254740991 with batch 2: .* up to 9007199254740990$/),
    ])
  })

  it('a steps offset past the training timesteps is refused, whatever the spacing', async () => {
    const facts = modelFacts(fixed.info)
    const message = 'steps offset 5000: Stepwise digits has 1000 training timesteps, so it must be in [0, 999]'
    for (const timestepSpacing of ['leading', 'trailing', 'linspace'] as const)
      expect(() => planRun(facts, { seed: 1, batch: 1, sampler: { stepsOffset: 5000, timestepSpacing } })).toThrow(
        message,
      )
    expect(
      planRun(facts, { seed: 1, batch: 1, sampler: { sampler: 'ddim', stepsOffset: 1, steps: 10 } }).timesteps[0],
    ).toBe(901)
    const r = await cli('sample', '--steps-offset', '5000', '--spacing', 'trailing', '--out', join(dir, 'offset'))
    expect(r).toEqual({ code: 2, lines: [`stepwise: ${message}`] })
  })

  it('num_train_timesteps in the metadata is bounded', async () => {
    const graph = (T: number) =>
      buildOnnx({
        inputs: [
          { name: 'x', dtype: 'float32', shape: ['B', 1, 8, 8] },
          { name: 't', dtype: 'int64', shape: ['B'] },
        ],
        outputs: [{ name: 'y', dtype: 'float32', shape: ['B', 1, 8, 8] }],
        nodes: [{ op: 'Identity', inputs: ['x'], outputs: ['y'] }],
        metadata: { 'stepwise.num_train_timesteps': String(T) },
      })
    const huge = join(dir, 'huge-T.onnx')
    await writeFile(huge, graph(1e12))
    await expect(loadModel(huge, { providers: ['cpu'] })).rejects.toMatchObject({
      code: 'bad-metadata',
      message: expect.stringMatching(/huge-T\.onnx \(metadata_props\): num_train_timesteps: .*100000/),
    })
    const most = join(dir, 'most-T.onnx')
    await writeFile(most, graph(MAX_TRAIN_STEPS))
    const model = await loadModel(most, { providers: ['cpu'] })
    expect(modelFacts(model.info).training.schedule.trainSteps).toBe(MAX_TRAIN_STEPS)
    await model.release()
    const r = await cli('schedule', '--train-steps', '1000000000000', '--json')
    expect(r).toEqual({
      code: 2,
      lines: ['stepwise: train steps must be an integer from 1 to 100000, got 1000000000000'],
    })
  })
})
