/** A step's predicted noise from x_t and x0: what the page and the history show for every step. */
import { describe, expect, it } from 'vitest'

import { defaultModelPath } from '../../../src-main/engine/model/default-model'
import { loadModel } from '../../../src-main/engine/model/load'
import { modelFacts, planRun } from '../../../src-main/engine/plan'
import { runSampling } from '../../../src-main/engine/run'
import { noiseFromX0 } from '../../../src-shared/noise'

describe('the predicted noise from x_t and x0', () => {
  it('solves x_t = sqrt(ab) x0 + sqrt(1 - ab) eps for eps', () => {
    const n = 64
    const x0 = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1.2)
    const eps = Float32Array.from({ length: n }, (_, i) => Math.cos(3 * i) * 2)
    for (const alphaBar of [0.9999, 0.5, 1e-4]) {
      const a = Math.sqrt(alphaBar)
      const b = Math.sqrt(1 - alphaBar)
      const sample = x0.map((v, i) => a * v + b * eps[i])
      const got = noiseFromX0(sample, x0, alphaBar)
      got.forEach((v, i) => expect(v, `alpha_bar ${alphaBar}`).toBeCloseTo(eps[i], 3))
    }
  })

  // Every sampler family hands the loop the model's own x0 and noise at x_t (sigma-space ones included: x_t is
  // the variance-preserving sample the model is given, and alpha_bar = 1 / (1 + sigma^2)).
  const SAMPLERS = [
    { sampler: 'ddim', steps: 10, eta: 0 },
    { sampler: 'ddpm', steps: 10 },
    { sampler: 'euler', steps: 10 },
    { sampler: 'dpmpp-2m', steps: 10, sigmas: 'karras' },
    { sampler: 'unipc', steps: 10 },
    { sampler: 'heun', steps: 5 },
  ] as const
  it.each(SAMPLERS)(
    'is, at every step of an epsilon model’s run, the noise the model predicted: $sampler',
    async (sampler) => {
      const model = await loadModel(defaultModelPath(), { providers: ['cpu'] })
      try {
        const plan = planRun(modelFacts(model.info), { sampler, seed: 5, batch: 2, classLabel: 3 })
        let steps = 0
        let worst = 0
        await runSampling(model, plan.run, {
          onStep: (f) => {
            steps++
            const derived = noiseFromX0(f.sample, f.predictedX0, f.alphaBar)
            derived.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - f.predictedNoise[i]))))
          },
        })
        expect(steps).toBe(sampler.steps)
        expect(worst).toBeLessThan(1e-4)
      } finally {
        await model.release()
      }
    },
  )
})
