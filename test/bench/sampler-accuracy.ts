/**
 * npm run bench, quality per model call:
 * 1. On the default model (class 3, guidance 1, 32 seeds), the RMS distance of each deterministic sampler's
 *    final samples to the near-exact ODE solution (odeReference: DPM++ 3M at every timestep, from the same
 *    x_T), at 5, 10, 20, 30 and 50 model calls. A markdown table on stdout. Then #12's bar (10 calls against DDIM at 30) there and on
 *    256 other seeds, sample by sample, with a bootstrap interval: 32 seeds alone decide little.
 * 2. The default model's evaluation at 10 model calls (DDIM, DPM++ 2M Karras, UniPC) and at the default run
 *    (DPM++ 2M Karras, 20 steps): guided samples (guidance 3, 100 a digit) made by the Stepwise CLI, classified
 *    by the held-out-font classifier (tools/train: `train.py accuracy`, Debian's /usr/bin/python3 with torch).
 *    Skipped with a line where that Python has no torch or the classifier was not trained here.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

import { defaultModelPath } from '../../src-main/engine/model/default-model'
import { loadModel } from '../../src-main/engine/model/load'
import { SAMPLER_INFO } from '../../src-shared/names'
import type { SamplerSettings } from '../../src-shared/parameters'
import {
  finalSamples,
  modelCalls,
  odePath,
  odeSolution,
  pairedRatio,
  perSample,
  rms,
  sampleDistances,
  type Setting,
} from '../fixtures/ode-distance'

const model = await loadModel(defaultModelPath(), { providers: ['cpu'] })
// 32 seeds: with 8, one sample that lands on another stroke decides a cell (UniPC at 10 calls: 0.055 on
// seeds 100-107, 0.045 on 100-131).
const setting: Setting = { seed: 100, batch: 32, classLabel: 3, guidance: 1 }
/** Where the last model call of a linspace run of 10, 20, 30 and 50 steps is (DPM-Solver, UniPC, DEIS). */
const LAST_CALLS = [100, 50, 33, 20]
const path = await odePath(model, setting, LAST_CALLS)
const exact = path.samples

/** Model calls a run may make; a sampler that calls the model more than once a step gets the most steps that fit. */
const CALLS = [5, 10, 20, 30, 50]
const rows: [string, SamplerSettings][] = [
  ['DDIM', { sampler: 'ddim', eta: 0 }],
  ['DDIM trailing', { sampler: 'ddim', eta: 0, timestepSpacing: 'trailing' }],
  ['DPM++ 2M', { sampler: 'dpmpp-2m' }],
  ['DPM++ 2M Karras', { sampler: 'dpmpp-2m', sigmas: 'karras' }],
  ['DPM++ 3M', { sampler: 'dpmpp-3m' }],
  ['DPM++ 3M Karras', { sampler: 'dpmpp-3m', sigmas: 'karras' }],
  ['DPM++ 2S', { sampler: 'dpmpp-2s' }],
  ['DPM++ 2S Karras', { sampler: 'dpmpp-2s', sigmas: 'karras' }],
  ['UniPC', { sampler: 'unipc' }],
  ['UniPC Karras', { sampler: 'unipc', sigmas: 'karras' }],
  ['UniPC order 3', { sampler: 'unipc', solverOrder: 3 }],
  ['UniPC order 3 bh1', { sampler: 'unipc', solverOrder: 3, solverType: 'bh1', finalSigmas: 'sigma_min' }],
  // bh1 with a final sigma of 0 ends in NaN in diffusers (samplerProblem): it ends at sigma_min instead.
  ['UniPC bh1', { sampler: 'unipc', solverType: 'bh1', finalSigmas: 'sigma_min' }],
  ['DEIS', { sampler: 'deis' }],
  ['DEIS Karras', { sampler: 'deis', sigmas: 'karras' }],
  ['Euler', { sampler: 'euler' }],
  ['Euler Karras', { sampler: 'euler', sigmas: 'karras' }],
  // Heun makes 2N - 1 model calls for N steps.
  ['Heun', { sampler: 'heun' }],
  ['Heun Karras', { sampler: 'heun', sigmas: 'karras' }],
  // DPM2 too makes 2N - 1 calls.
  ['DPM2', { sampler: 'dpm2' }],
  ['DPM2 Karras', { sampler: 'dpm2', sigmas: 'karras' }],
  ['LMS', { sampler: 'lms' }],
  ['LMS Karras', { sampler: 'lms', sigmas: 'karras' }],
  // PNDM's Runge-Kutta warm-up makes N + 9 calls (N >= 4); PLMS's improved Euler start, N + 1.
  ['PNDM', { sampler: 'pndm' }],
  ['PLMS', { sampler: 'pndm', skipPrkSteps: true }],
]

/** The most steps whose run makes at most `calls` model calls, or undefined where none does (PNDM's warm-up). */
function stepsFor(sampler: SamplerSettings, calls: number): number | undefined {
  for (let steps = calls; steps >= 1; steps--) {
    try {
      if (modelCalls(model, { ...sampler, steps }) <= calls) return steps
    } catch {
      return undefined // too few steps for this sampler
    }
  }
  return undefined
}

console.log(
  "RMS distance to the ODE's solution (DPM++ 3M, 1000 steps; default model, class 3, guidance 1, seeds 100-131), by model calls",
)
console.log('(a cell made with fewer calls names them: Heun and DPM2 make 2N - 1 calls for N steps, PNDM N + 9)\n')
console.log(`| sampler | ${CALLS.join(' | ')} |\n|---|${CALLS.map(() => '---:').join('|')}|`)
const measured = new Map<string, number>()
/** Each sample's distance, sorted, for the cells of the bar below. */
const spread = new Map<string, number[]>()
for (const [name, sampler] of rows) {
  const cells: string[] = []
  for (const calls of CALLS) {
    const steps = stepsFor(sampler, calls)
    if (steps === undefined) {
      cells.push('—')
      continue
    }
    const r = await finalSamples(model, { ...sampler, steps }, setting)
    const distance = rms(r.samples, exact)
    measured.set(`${name} ${calls}`, distance)
    spread.set(`${name} ${calls}`, perSample(r.samples, exact, setting.batch))
    cells.push(`${distance.toFixed(4)}${r.calls === calls ? '' : ` (${r.calls})`}`)
  }
  console.log(`| ${name} | ${cells.join(' | ')} |`)
}
// Timesteps fitted to this model by `stepwise fit-timesteps` on other seeds (test/fixtures/fitted-timesteps.json).
const fitted = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/fitted-timesteps.json'), 'utf8')) as {
  sampler: SamplerSettings
  probe: { seed: number; batch: number }
}
const fittedName = `${SAMPLER_INFO[fitted.sampler.sampler!].label} with timesteps fitted on seeds ${fitted.probe.seed}-${fitted.probe.seed + fitted.probe.batch - 1}`
const fittedRun = await finalSamples(model, fitted.sampler, setting)
measured.set(`${fittedName} ${fittedRun.calls}`, rms(fittedRun.samples, exact))
spread.set(`${fittedName} ${fittedRun.calls}`, perSample(fittedRun.samples, exact, setting.batch))
// #12's bar again on 256 seeds that neither the table nor any fit used: 32 decide little (one sample that
// lands on another stroke moves a cell by a tenth). Sample by sample against DDIM at 30.
const barSetting: Setting = { seed: 2000, batch: 256, classLabel: 3, guidance: 1 }
const barExact = await odeSolution(model, barSetting)
const barDistances = async (sampler: SamplerSettings) =>
  sampleDistances((await finalSamples(model, sampler, barSetting)).samples, barExact, barSetting.batch)
const barDdim = await barDistances({ sampler: 'ddim', steps: 30, eta: 0 })
const barRows: [string, SamplerSettings][] = [
  [fittedName, fitted.sampler],
  ['UniPC', { sampler: 'unipc', steps: 10 }],
  ['DPM++ 2M Karras', { sampler: 'dpmpp-2m', sigmas: 'karras', steps: 10 }],
]
/** The pooled RMS of samples' distances. */
const pooled = (d: number[]) => Math.sqrt(d.reduce((s, v) => s + v * v, 0) / d.length)
const barLines: string[] = []
for (const [name, sampler] of barRows) {
  const distances = await barDistances(sampler)
  const r = pairedRatio(distances, barDdim)
  barLines.push(
    `${name} at 10 calls ${pooled(distances).toFixed(4)}: ${r.ratio.toFixed(3)} times DDIM at 30's (90% interval ${r.low.toFixed(3)}-${r.high.toFixed(3)}), closer on ${r.closer} of ${barDdim.length} samples`,
  )
}
await model.release()
// #12's bar: a few-step sampler at 10 model calls as close to the ODE's solution as DDIM at 30.
// Beside each, its samples' own distances: the pooled RMS weighs heavily the few that land on another stroke.
const ddim30 = measured.get('DDIM 30')!
const quantiles = (key: string) => {
  const d = spread.get(key)!
  const at = (q: number) => d[Math.min(d.length - 1, Math.floor(q * d.length))].toFixed(4)
  return `(samples: median ${at(0.5)}, 90th percentile ${at(0.9)}, largest ${at(1)})`
}
console.log(`\nDDIM at 30 calls ${ddim30.toFixed(4)} ${quantiles('DDIM 30')}`)
for (const name of [...rows.map(([n]) => n).filter((n) => /^(DPM\+\+ 2M|UniPC)/.test(n)), fittedName]) {
  const at10 = measured.get(`${name} 10`)!
  console.log(
    `${name} at 10 calls ${at10.toFixed(4)} ${at10 <= ddim30 ? '<=' : '>'} DDIM at 30 ${ddim30.toFixed(4)} ${quantiles(`${name} 10`)}`,
  )
}

const barSeeds = `${barSetting.seed}-${barSetting.seed + barSetting.batch - 1}`
console.log(`\nThe bar on seeds ${barSeeds} (DDIM at 30 calls ${pooled(barDdim).toFixed(4)}):\n${barLines.join('\n')}`)

// A run ending with one first-order step to sigma 0 from its last model call at t ends on that call's x0
// estimate: on the exact path that estimate alone is this far from the ODE's end. Linspace spacing puts a
// 10-step run's last call at t = 100; DDIM's leading spacing and Karras sigmas end at t = 0.
console.log(
  `\nthe floor of a run whose last model call is at t (its predicted x0 on the exact path): ${LAST_CALLS.map(
    (t) => `t = ${t} ${rms(path.predictedX0.get(t)!, exact).toFixed(4)}`,
  ).join(', ')}`,
)

// ---- 2. the held-out classifier's accuracy at 10 model calls, and at the default run ----
const ROOT = join(import.meta.dirname, '..', '..')
const python = process.env.STEPWISE_TORCH_PYTHON ?? '/usr/bin/python3'
const accuracyRows: [string, string][] = [
  ['DDIM, 10 steps', '--sampler ddim --steps 10'],
  ['DPM++ 2M Karras, 10 steps', '--sampler dpmpp-2m --sigmas karras --steps 10'],
  ['UniPC, 10 steps', '--sampler unipc --steps 10'],
  ['DPM++ 2M Karras, 20 steps (the default)', '--sampler dpmpp-2m --sigmas karras --steps 20'],
]
const torch = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' })
if (process.env.STEPWISE_BENCH_CLASSIFIER === '0')
  console.log('\nclassifier accuracy skipped (STEPWISE_BENCH_CLASSIFIER=0)')
else if (torch.status !== 0)
  console.log(`\nclassifier accuracy skipped: ${python} has no torch (set STEPWISE_TORCH_PYTHON)`)
else if (!existsSync(join(ROOT, 'tools/train/.work/classifier.pt'))) {
  console.log(
    '\nclassifier accuracy skipped: no held-out classifier; make it with /usr/bin/python3 tools/train/train.py data, ' +
      'then classifier (the fonts of tools/train/README.md)',
  )
} else {
  // About 5 minutes a row on 2 cores; STEPWISE_BENCH_CLASSIFIER=0 skips it.
  console.log('\nheld-out classifier accuracy (guidance 3, 100 samples a digit from seed 1000 + digit, as the card)\n')
  console.log(`| sampler | ${[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].join(' | ')} | mean |\n|---|${'---:|'.repeat(11)}`)
  for (const [name, args] of accuracyRows) {
    const r = spawnSync(python, [join(ROOT, 'tools/train/train.py'), 'accuracy', '--cli-args', args], {
      encoding: 'utf8',
      cwd: ROOT,
    })
    const last = r.stdout.trim().split('\n').at(-1) ?? ''
    if (r.status !== 0 || !last.startsWith('{')) {
      console.log(`| ${name} | failed: ${(r.stderr || String(r.error)).trim().split('\n').at(-1)} |`)
      continue
    }
    const { accuracy, mean_accuracy: mean } = JSON.parse(last) as {
      accuracy: Record<string, number>
      mean_accuracy: number
    }
    const digits = Object.values(accuracy).map((a) => `${(100 * a).toFixed(0)}%`)
    console.log(`| ${name} | ${digits.join(' | ')} | ${(100 * mean).toFixed(1)}% |`)
  }
}
