/**
 * npm run bench, quality per model call: on the default model (class 3, guidance 1, 8 seeds), the RMS
 * distance of each deterministic sampler's final samples to the near-exact ODE solution (DDIM with 1000
 * steps from the same x_T), by the model calls each made. A table on stdout.
 */
import { defaultModelPath } from '../../src-main/engine/model/default-model'
import { loadModel } from '../../src-main/engine/model/load'
import type { SamplerSettings } from '../../src-shared/parameters'
import { finalSamples, odeSolution, rms, type Setting } from '../fixtures/ode-distance'

const model = await loadModel(defaultModelPath(), { providers: ['cpu'] })
const setting: Setting = { seed: 100, batch: 8, classLabel: 3, guidance: 1 }
const exact = await odeSolution(model, setting)

const rows: [string, SamplerSettings, number[]][] = [
  ['DDIM', { sampler: 'ddim', eta: 0 }, [5, 10, 20, 30, 50]],
  ['DDIM trailing', { sampler: 'ddim', eta: 0, timestepSpacing: 'trailing' }, [5, 10, 20, 30, 50]],
  ['DPM++ 2M', { sampler: 'dpmpp-2m' }, [5, 10, 20, 50]],
  ['DPM++ 2M Karras', { sampler: 'dpmpp-2m', sigmas: 'karras' }, [5, 10, 20, 50]],
  ['Euler', { sampler: 'euler' }, [5, 10, 20, 50]],
  ['Euler Karras', { sampler: 'euler', sigmas: 'karras' }, [5, 10, 20, 50]],
  // Heun makes 2N - 1 model calls for N steps.
  ['Heun', { sampler: 'heun' }, [3, 5, 6, 10, 11, 25]],
  ['Heun Karras', { sampler: 'heun', sigmas: 'karras' }, [3, 5, 6, 10, 11, 25]],
  // DPM2 too makes 2N - 1 calls.
  ['DPM2', { sampler: 'dpm2' }, [3, 5, 6, 10, 11, 25]],
  ['DPM2 Karras', { sampler: 'dpm2', sigmas: 'karras' }, [3, 5, 6, 10, 11, 25]],
  ['LMS', { sampler: 'lms' }, [5, 10, 20, 50]],
  ['LMS Karras', { sampler: 'lms', sigmas: 'karras' }, [5, 10, 20, 50]],
  // PNDM's Runge-Kutta warm-up makes N + 9 calls (N >= 4); PLMS's improved Euler start, N + 1.
  ['PNDM', { sampler: 'pndm' }, [4, 11, 41]],
  ['PLMS', { sampler: 'pndm', skipPrkSteps: true }, [4, 9, 19, 49]],
]
console.log(`RMS distance to DDIM 1000 steps (default model, class 3, guidance 1, seeds 100-107)`)
console.log(`${'sampler'.padEnd(18)} ${'steps'.padStart(5)} ${'calls'.padStart(5)}   RMS`)
for (const [name, sampler, stepCounts] of rows) {
  for (const steps of stepCounts) {
    const r = await finalSamples(model, { ...sampler, steps }, setting)
    console.log(
      `${name.padEnd(18)} ${String(steps).padStart(5)} ${String(r.calls).padStart(5)}   ${rms(r.samples, exact).toFixed(4)}`,
    )
  }
}
await model.release()
