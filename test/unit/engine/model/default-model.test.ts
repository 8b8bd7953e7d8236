/** The model shipped in resources/: its signature and training metadata, as the model card states them. */
import { stat } from 'node:fs/promises'

import { expect, it } from 'vitest'

import { defaultModelPath } from '../../../../src-main/engine/model/default-model'
import { loadModel } from '../../../../src-main/engine/model/load'
import { trainingOf } from '../../../../src-main/engine/model/training'

it('the default model is a class-conditional 28x28 grayscale epsilon U-Net under 20 MB with its metadata', async () => {
  const path = defaultModelPath()
  expect((await stat(path)).size).toBeLessThan(20 * 1024 * 1024)
  const model = await loadModel(path, { providers: ['cpu'] })
  const { signature, metadata } = model.info
  expect([signature.image.name, signature.timestep.name, signature.classLabels?.name, signature.output.name]).toEqual([
    'sample',
    'timestep',
    'class_labels',
    'out_sample',
  ])
  expect(signature.image.shape.slice(1)).toEqual([1, 28, 28])
  expect(signature.timestep.dtype).toBe('int64')
  const t = trainingOf(model.info)
  expect(t.assumed).toEqual([])
  expect(t.schedule).toMatchObject({ trainSteps: 1000, schedule: 'linear', betaStart: 0.0001, betaEnd: 0.02 })
  expect(t.sampler.predictionType).toBe('epsilon')
  expect(t.classes).toEqual({ names: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], nullClassId: 10 })
  expect(metadata.origin.beta_schedule).toBe('onnx-metadata')
  await model.release()
})
