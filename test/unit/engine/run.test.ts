/** The sampling loop stops at the first model output or sampler step holding NaN or infinity, naming the step and t. */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'

import { main } from '../../../src-main/cli'
import { type Denoiser, loadModel } from '../../../src-main/engine/model/load'
import { modelFacts, planRun } from '../../../src-main/engine/plan'
import { runSampling } from '../../../src-main/engine/run'
import { buildOnnx } from '../../fixtures/onnx-builder'

/** out = x * scale * sqrt(t - limit): finite down to t = limit, NaN below; infinite everywhere with scale Infinity. */
const nanBelow = (limit: number, scale = 1) =>
  buildOnnx({
    inputs: [
      { name: 'x', dtype: 'float32', shape: ['B', 1, 8, 8] },
      { name: 't', dtype: 'int64', shape: ['B'] },
    ],
    outputs: [{ name: 'y', dtype: 'float32', shape: ['B', 1, 8, 8] }],
    initializers: [
      { name: 'limit', dims: [], data: new Float32Array([limit]) },
      { name: 'scale', dims: [], data: new Float32Array([scale]) },
      { name: 'shape', dims: [4], data: new BigInt64Array([-1n, 1n, 1n, 1n]) },
    ],
    nodes: [
      { op: 'Cast', inputs: ['t'], outputs: ['tf'], attrs: { to: 1 } },
      { op: 'Reshape', inputs: ['tf', 'shape'], outputs: ['t4'] },
      { op: 'Sub', inputs: ['t4', 'limit'], outputs: ['d'] },
      { op: 'Sqrt', inputs: ['d'], outputs: ['r'] },
      { op: 'Mul', inputs: ['r', 'scale'], outputs: ['k'] },
      { op: 'Mul', inputs: ['x', 'k'], outputs: ['y'] },
    ],
  })

let dir: string
const models: Denoiser[] = []
async function model(name: string, bytes: Uint8Array): Promise<{ path: string; denoiser: Denoiser }> {
  const path = join(dir, name)
  await writeFile(path, bytes)
  const denoiser = await loadModel(path, { providers: ['cpu'] })
  models.push(denoiser)
  return { path, denoiser }
}
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepwise-run-'))
})
afterAll(async () => {
  for (const m of models) await m.release()
})

describe('a model that outputs NaN or infinity', () => {
  it('stops the run at the step it happened, naming the step and its timestep', async () => {
    const { denoiser } = await model('nan-below-600.onnx', nanBelow(600))
    // 10 leading DDIM steps on T = 1000: 900, 800, ... 500 is the fifth, where sqrt(500 - 600) is NaN.
    const plan = planRun(modelFacts(denoiser.info), { seed: 1, batch: 2, sampler: { sampler: 'ddim', steps: 10 } })
    const steps: number[] = []
    await expect(runSampling(denoiser, plan.run, { onStep: (f) => steps.push(f.timestep) })).rejects.toMatchObject({
      code: 'runtime-error',
      message: 'nan-below-600.onnx: the model produced NaN at step 5 of 10 (t=500)',
    })
    expect(steps).toEqual([900, 800, 700, 600])

    const { denoiser: huge } = await model('inf.onnx', nanBelow(0, Infinity))
    const infinite = planRun(modelFacts(huge.info), { seed: 1, batch: 1, sampler: { sampler: 'ddim', steps: 4 } })
    await expect(runSampling(huge, infinite.run)).rejects.toThrow(
      'inf.onnx: the model produced an infinite value at step 1 of 4 (t=750)',
    )
  })

  it('names the sampler, not the model, when a finite output becomes NaN in its step, and says why', async () => {
    // epsilon = 0 everywhere: finite. UniPC at 1000 linspace steps repeats timestep 500 (a step of h = 0).
    const { denoiser } = await model('zero.onnx', nanBelow(-1, 0))
    const sampler = { sampler: 'unipc' as const, steps: 1000, timestepSpacing: 'linspace' as const }
    const plan = planRun(modelFacts(denoiser.info), { seed: 1, batch: 1, sampler })
    await expect(runSampling(denoiser, plan.run)).rejects.toThrow(
      /^zero\.onnx: the UniPC sampler produced NaN at step \d+ of 1000 \(t=500\): UniPC at 1000 steps with linspace spacing ends in NaN in diffusers \(two of its timesteps are one/,
    )
  })

  it('makes the CLI exit 2 with that one line and write no image', async () => {
    const { path } = await model('nan-cli.onnx', nanBelow(600))
    const out = join(dir, 'out')
    let stderr = ''
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true))
    try {
      const code = await main([
        'sample',
        '--model',
        path,
        '--sampler',
        'ddim',
        '--steps',
        '10',
        '--provider',
        'cpu',
        '--out',
        out,
      ])
      expect(code).toBe(2)
    } finally {
      vi.restoreAllMocks()
    }
    expect(stderr).toBe('stepwise: nan-cli.onnx: the model produced NaN at step 5 of 10 (t=500)\n')
    expect(await readdir(out)).toEqual([])
  })
})
