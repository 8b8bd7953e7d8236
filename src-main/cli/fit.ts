/**
 * `fit-timesteps`: the timesteps a few-step solver should use on a model (engine/fit-timesteps.ts), fitted on
 * a probe batch and printed as the --timesteps that `sample` (and the app's Timesteps field) take.
 */
import { optionDefault, optionsOf, SAMPLER_OPTIONS } from '../../src-shared/names'
import { samplerLabel } from '../../src-shared/parameters'
import { fitTimesteps } from '../engine/fit-timesteps'
import { defaultModelPath } from '../engine/model/default-model'
import { loadModel } from '../engine/model/load'
import { generationFrom, int, loadOptionsFrom, print, type Values } from './options'

/** Probe samples a fit measures on, unless --batch says: enough that one sample's stroke does not decide it. */
export const FIT_BATCH = 32

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`

export async function fitCommand(v: Values) {
  const model = await loadModel(v.model ?? defaultModelPath(), loadOptionsFrom(v))
  try {
    const generation = generationFrom(v)
    const request = { ...generation, sampler: generation.sampler ?? {}, batch: int(v, 'batch', 1) ?? FIT_BATCH }
    const started = performance.now()
    let reported = 0
    const fit = await fitTimesteps(model, request, (e) => {
      if (v.json) process.stderr.write(JSON.stringify({ event: 'fit', ...e }) + '\n')
      else if (e.phase === 'reference' && e.calls - reported >= e.totalCalls / 10) {
        reported = e.calls
        process.stderr.write(`reference (DDIM, every timestep): ${e.calls}/${e.totalCalls} model calls\n`)
      } else if (e.phase === 'search')
        process.stderr.write(`${e.evaluations} runs: ${e.distance.toFixed(4)} at ${e.timesteps.join(' ')}\n`)
    })
    const seconds = (performance.now() - started) / 1000
    if (v.json) return print({ probe: { seed: request.seed, batch: request.batch }, ...fit, seconds })
    const { sampler } = fit
    // The options the fit ran with where they are not the sampler's defaults, then its timesteps.
    const flags = optionsOf(sampler.sampler)
      .filter((o) => o !== 'timesteps' && sampler[o] !== optionDefault(sampler.sampler, o))
      .map((o) => ` --${SAMPLER_OPTIONS[o].flag} ${String(sampler[o])}`)
    print(
      [
        `${samplerLabel(sampler)}, ${count(fit.timesteps.length, 'step')}, fitted to ${model.info.name} on ${count(request.batch, 'probe sample')} from seed ${request.seed}:`,
        `  start    ${fit.start.join(' ')}  RMS to the ODE's solution ${fit.startDistance.toFixed(4)}${fit.leftOut ? ` (the farthest ${count(fit.leftOut, 'sample')} left out)` : ''}`,
        `  fitted   ${fit.timesteps.join(' ')}  RMS ${fit.distance.toFixed(4)}`,
        `  ${fit.evaluations} runs, ${fit.modelCalls} model calls of the batch, ${seconds.toFixed(0)} s`,
        `  sample with: --sampler ${sampler.sampler}${flags.join('')} --timesteps ${fit.timesteps.join(',')}`,
      ].join('\n'),
    )
  } finally {
    await model.release()
  }
}
