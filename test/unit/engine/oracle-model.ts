/** The Gaussian oracle (test/fixtures/onnx-builder.ts) on the default schedule, loaded as a model on the CPU. */
import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { type Denoiser, loadModel } from '../../../src-main/engine/model/load'
import type { RunRequest } from '../../../src-main/engine/run'
import { DEFAULT_SCHEDULE, makeSchedule } from '../../../src-main/engine/schedule'
import { gaussianOracle } from '../../fixtures/onnx-builder'

export const schedule = makeSchedule(DEFAULT_SCHEDULE)

/** An epsilon-predicting oracle of data N(mu, s^2) per channel (3 channels by default). */
export async function loadOracle(mu = [0.1, 0.2, 0.3], s = [0.5, 0.5, 0.5]): Promise<Denoiser> {
  const dir = await mkdtemp(join(tmpdir(), 'stepwise-oracle-'))
  await writeFile(join(dir, 'o.onnx'), gaussianOracle(schedule.alphasCumprod, mu, s, 'epsilon'))
  return loadModel(join(dir, 'o.onnx'), { providers: ['cpu'] })
}

/** A run of 8x8 images on the oracle's schedule, seed 42, one image, over `over`. */
export const oracleRun = (sampler: RunRequest['sampler'], over: Partial<RunRequest> = {}): RunRequest => ({
  sampler,
  schedule,
  seed: 42,
  batch: 1,
  height: 8,
  width: 8,
  ...over,
})
