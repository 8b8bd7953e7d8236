/**
 * A graph whose every dimension is dynamic (diffusers' scheduler-test dummy model) samples: its channels
 * come from the metadata's in_channels or the request, and a request that gives none is told what to give.
 */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { beforeAll, describe, expect, it } from 'vitest'

import { loadModel } from '../../../../src-main/engine/model/load'
import { modelFacts, planRun } from '../../../../src-main/engine/plan'
import { runSampling } from '../../../../src-main/engine/run'
import { dummyModel } from '../../../fixtures/onnx-builder'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepwise-dynamic-'))
  await writeFile(join(dir, 'dynamic.onnx'), dummyModel('C'))
  await writeFile(join(dir, 'fixed.onnx'), dummyModel(3))
  await writeFile(join(dir, 'gray.onnx'), dummyModel('C'))
  await writeFile(join(dir, 'gray.json'), JSON.stringify({ in_channels: 1 }))
})

const request = { sampler: { sampler: 'ddim' as const, steps: 10, eta: 0 }, seed: 4, batch: 2, height: 8, width: 8 }

async function sample(file: string, channels?: number) {
  const model = await loadModel(join(dir, file), { providers: ['cpu'] })
  try {
    const plan = planRun(modelFacts(model.info), { ...request, channels })
    return { info: model.info, plan, samples: (await runSampling(model, plan.run)).samples }
  } finally {
    await model.release()
  }
}

describe('every dimension dynamic', () => {
  it("channels from the request: the fixed-channel model's samples, value for value", async () => {
    const dynamic = await sample('dynamic.onnx', 3)
    const fixed = await sample('fixed.onnx')
    expect(dynamic.info.signature.channels).toBeUndefined()
    expect(dynamic.info.signature.image.shape).toEqual(['B', 'C', 'H', 'W'])
    expect(dynamic.plan.shape).toEqual({ batch: 2, channels: 3, height: 8, width: 8 })
    expect(Array.from(dynamic.samples)).toEqual(Array.from(fixed.samples))
  })

  it("channels from the metadata's in_channels (a sidecar here)", async () => {
    const gray = await sample('gray.onnx')
    expect(gray.plan.shape.channels).toBe(1)
    expect(gray.samples).toHaveLength(2 * 1 * 8 * 8)
    expect(gray.info.metadata.origin.in_channels).toBe('sidecar')
  })

  it('no source of channels: the request is told what to give; a fixed graph refuses others', async () => {
    await expect(sample('dynamic.onnx')).rejects.toThrow(
      'dynamic.onnx: the graph leaves the channel count open and no metadata gives in_channels; give the channels (--channels, or an --init-noise array)',
    )
    await expect(sample('fixed.onnx', 1)).rejects.toThrow('channels: fixed.onnx takes 3, not 1')
  })
})
