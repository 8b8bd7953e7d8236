/** What the format tests share: the CLI's `sample --sampler ddim --steps 20 --eta 0 --init-noise x_T.npy`. */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'

import { loadModel, type LoadOptions } from '../../../../../src-main/engine/model/load'
import { readNpy } from '../../../../../src-main/engine/npy'
import { modelFacts, planRun } from '../../../../../src-main/engine/plan'
import { runSampling } from '../../../../../src-main/engine/run'

export const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'fixtures')

export const npy = async (path: string) => readNpy(new Uint8Array(await readFile(path)), path)

export const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)

/** `sample --sampler ddim --steps 20 --eta 0 [--class k] --init-noise x_T.npy`, through the planner. */
export async function ddim20(
  path: string,
  xT: { data: Float32Array; shape: number[] },
  classLabel?: number,
  options: LoadOptions = {},
) {
  const model = await loadModel(path, { providers: ['cpu'], ...options })
  try {
    const [batch, , height, width] = xT.shape
    const plan = planRun(modelFacts(model.info), {
      sampler: { sampler: 'ddim', steps: 20, eta: 0 },
      seed: 0,
      batch,
      height,
      width,
      classLabel,
      initNoise: xT.data,
    })
    return { model, plan, samples: (await runSampling(model, plan.run)).samples }
  } finally {
    await model.release()
  }
}
