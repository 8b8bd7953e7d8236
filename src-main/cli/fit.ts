/**
 * `fit-timesteps`: the timesteps a few-step solver should use on a model (engine/fit-timesteps.ts), fitted on
 * a probe batch and printed as the --timesteps that `sample` (and the app's Timesteps field) take.
 */
import { FIT_BATCH, type FitEvent } from '../../src-shared/fit'
import { optionDefault, optionsOf, SAMPLER_OPTIONS } from '../../src-shared/names'
import { samplerLabel } from '../../src-shared/parameters'
import { count } from '../../src-shared/text'
import { EngineError } from '../engine/errors'
import { fitTimesteps } from '../engine/fit-timesteps'
import { defaultModelPath } from '../engine/model/default-model'
import { loadModel } from '../engine/model/load'
import { modelFacts } from '../engine/plan'
import { generationFrom, int, loadOptionsFrom, print, type Values } from './options'

export async function fitCommand(v: Values) {
  const model = await loadModel(v.model ?? defaultModelPath(), loadOptionsFrom(v))
  try {
    const generation = generationFrom(v, modelFacts(model.info).training.guidance)
    const request = { ...generation, sampler: generation.sampler ?? {}, batch: int(v, 'batch', 1) ?? FIT_BATCH }
    const started = performance.now()
    let reported = 0
    const onProgress = (e: FitEvent) => {
      if (v.json) process.stderr.write(JSON.stringify({ event: 'fit', ...e }) + '\n')
      else if (e.phase === 'reference' && e.calls - reported >= e.totalCalls / 10) {
        reported = e.calls
        process.stderr.write(`reference (DPM++ 3M, every timestep): ${e.calls}/${e.totalCalls} model calls\n`)
      } else if (e.phase === 'search')
        process.stderr.write(`${count(e.evaluations, 'run')}: ${e.distance.toFixed(4)} at ${e.timesteps.join(' ')}\n`)
    }
    // Ctrl-C stops the search and prints the best timesteps found so far (a second one quits).
    const stop = new AbortController()
    const onInterrupt = () => {
      process.stderr.write('stopping: the best timesteps so far follow (Ctrl-C again quits)\n')
      process.once('SIGINT', () => process.exit(130))
      stop.abort()
    }
    process.once('SIGINT', onInterrupt)
    const fit = await fitTimesteps(model, request, { onProgress, signal: stop.signal })
      .catch((e: unknown) => {
        if (!stop.signal.aborted) throw e
        throw new EngineError('cancelled', 'fit-timesteps: stopped during its reference run, before any fitting')
      })
      .finally(() => process.off('SIGINT', onInterrupt))
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
        `  ${fit.evaluations} runs, ${fit.modelCalls} model calls of the batch, ${seconds.toFixed(0)} s${fit.stopped ? ' (stopped before the search ended)' : ''}`,
        `  sample with: --sampler ${sampler.sampler}${flags.join('')} --timesteps ${fit.timesteps.join(',')}`,
      ].join('\n'),
    )
  } finally {
    await model.release()
  }
}
