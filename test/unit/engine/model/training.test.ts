/**
 * A schedule given as numbers (diffusers' trained_betas, an alphas_cumprod array in metadata or as
 * alphas_cumprod.npy beside the model) is the model's `custom` schedule; lucidrains' sigmoid has its own name;
 * keys Stepwise does not read are reported, never dropped silently.
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { beforeAll, describe, expect, it } from 'vitest'

import { defaultModelPath } from '../../../../src-main/engine/model/default-model'
import { loadModel } from '../../../../src-main/engine/model/load'
import { describedSchedule, trainingOf } from '../../../../src-main/engine/model/training'
import { writeNpy } from '../../../../src-main/engine/npy'
import { modelFacts, planRun } from '../../../../src-main/engine/plan'
import { makeSchedule } from '../../../../src-main/engine/schedule'
import { dummyModel } from '../../../fixtures/onnx-builder'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepwise-training-'))
})

/** An ONNX model in a folder of its own, with a sidecar and other files beside it. */
async function modelWith(name: string, sidecar?: object, beside: Record<string, Uint8Array> = {}) {
  const folder = join(dir, name)
  await mkdir(folder)
  await writeFile(join(folder, 'model.onnx'), dummyModel(1))
  if (sidecar) await writeFile(join(folder, 'model.json'), JSON.stringify(sidecar))
  for (const [file, bytes] of Object.entries(beside)) await writeFile(join(folder, file), bytes)
  const model = await loadModel(join(folder, 'model.onnx'), { providers: ['cpu'] })
  await model.release()
  return model
}

const T = 50
const betas = Array.from({ length: T }, (_, i) => 0.001 + (0.2 * i) / T)
const alphasCumprod = (() => {
  let a = 1
  return betas.map((b) => (a *= 1 - b))
})()

describe('schedules given as numbers', () => {
  it('are named where a named schedule fits them, by the key that gave them; a schedule of their own is not', async () => {
    const cosine = makeSchedule({ schedule: 'cosine', trainSteps: 100, betaStart: 0, betaEnd: 0 })
    const said = async (name: string, sidecar: object) => {
      const model = await modelWith(name, sidecar)
      return describedSchedule(model.info, trainingOf(model.info))
    }
    expect(await said('named-ac', { alphas_cumprod: Array.from(cosine.alphasCumprod) })).toBe(
      'cosine, T = 100 (its alphas_cumprod)',
    )
    expect(await said('named-betas', { trained_betas: Array.from(cosine.betas) })).toBe(
      'cosine, T = 100 (its trained_betas)',
    )
    expect(await said('own-betas', { trained_betas: betas })).toBeUndefined()
    // A config's own named schedule needs no naming: the card says it from the config.
    expect(await said('config', { beta_schedule: 'squaredcos_cap_v2' })).toBeUndefined()
  })

  it("trained_betas (diffusers' key) win over beta_schedule and set T", async () => {
    const model = await modelWith('trained-betas', { trained_betas: betas, beta_schedule: 'linear' })
    const t = trainingOf(model.info)
    expect(t.schedule).toMatchObject({ schedule: 'custom', trainSteps: T })
    expect(t.assumed).toEqual(['prediction_type'])
    for (let i = 0; i < T; i++) expect(t.alphasCumprod![i]).toBeCloseTo(alphasCumprod[i], 12)
    const plan = planRun(modelFacts(model.info), { sampler: { sampler: 'ddim', steps: 5 }, seed: 0, batch: 1 })
    expect(plan.parameters.schedule.schedule).toBe('custom')
    expect(plan.timesteps).toEqual([40, 30, 20, 10, 0])
  })

  it('alphas_cumprod.npy beside the model, when nothing else gives a schedule', async () => {
    const npy = writeNpy(Float32Array.from(alphasCumprod), [T])
    const model = await modelWith('npy', undefined, { 'alphas_cumprod.npy': npy })
    const t = trainingOf(model.info)
    expect(t.schedule).toMatchObject({ schedule: 'custom', trainSteps: T })
    expect(t.alphasCumprod![T - 1]).toBe(Math.fround(alphasCumprod[T - 1]))
    expect(model.info.metadata.origin.alphas_cumprod).toBe('alphas-npy')
  })

  it('a length that contradicts num_train_timesteps is an error naming both', async () => {
    const model = await modelWith('contradicts', { alphas_cumprod: alphasCumprod, num_train_timesteps: 1000 })
    expect(() => trainingOf(model.info)).toThrow(
      /alphas_cumprod \(sidecar\) has 50 values but num_train_timesteps is 1000/,
    )
  })

  it("lucidrains' sigmoid by its own name, with its schedule_fn_kwargs", async () => {
    const shape = { start: -2, end: 3, tau: 0.7 }
    const model = await modelWith('sigmoid', { beta_schedule: 'lucidrains_sigmoid', schedule_fn_kwargs: shape })
    const t = trainingOf(model.info)
    expect(t.schedule).toMatchObject({ schedule: 'lucidrains_sigmoid', sigmoid: shape })
    const plan = planRun(modelFacts(model.info), { sampler: { sampler: 'ddim', steps: 5 }, seed: 0, batch: 1 })
    expect(plan.run.schedule.alphasCumprod).toEqual(makeSchedule(t.schedule).alphasCumprod)
  })

  it('keys Stepwise does not read are named in a note', async () => {
    const model = await modelWith('unknown', { beta_schedule: 'linear', karras_sigmas: true, _class_name: 'X' })
    expect(model.info.source.notes).toEqual(['model.json: ignored keys Stepwise does not read: karras_sigmas'])
  })

  it("the informational keys Stepwise's training tool writes are not reported (the default model has none)", async () => {
    const model = await modelWith('informational', { beta_schedule: 'linear', train_steps: '7000', params: '652673' })
    expect(model.info.source.notes).toEqual([])
    const bundled = await loadModel(defaultModelPath(), { providers: ['cpu'] })
    expect(bundled.info.source.notes).toEqual([])
    await bundled.release()
  })
})
