/**
 * The fit under way in the engine (fit.timesteps, fit.cancel): one at a time, its progress as 'fit' events
 * (the reference's a hundred times at most, then the start's distance and each better one), and a stop that
 * keeps the best timesteps found by then.
 */
import type { FitRequest, ResponseOf } from '../../src-preload/contract'
import type { FitEvent } from '../../src-shared/fit'
import { EngineError } from '../engine/errors'
import { fitTimesteps } from '../engine/fit-timesteps'
import type { Denoiser } from '../engine/model/load'
import type { Emit } from './handlers'

export function createFitRunner(emit: Emit) {
  let fit: { controller: AbortController; finished: Promise<void> } | undefined
  return {
    async fit(model: Denoiser, req: FitRequest): Promise<ResponseOf<'fit.timesteps'>> {
      if (fit) throw new EngineError('bad-argument', 'fit.timesteps: a fit is already under way (fit.cancel stops it)')
      const controller = new AbortController()
      const started = performance.now()
      const elapsedMs = () => Math.round(performance.now() - started)
      const onProgress = (e: FitEvent) => {
        const every = e.phase === 'reference' ? Math.ceil(e.totalCalls / 100) : 1
        if (e.phase === 'search' || e.calls % every === 0 || e.calls === e.totalCalls)
          emit('fit', { ...e, elapsedMs: elapsedMs() })
      }
      const work = fitTimesteps(model, req, { onProgress, signal: controller.signal })
      const ignore = () => {}
      fit = { controller, finished: work.then(ignore, ignore) }
      try {
        return { ...(await work), elapsedMs: elapsedMs() }
      } finally {
        fit = undefined
      }
    },

    /** Stop the fit under way: it answers with the best found so far. */
    cancel(): { cancelled: boolean } {
      if (!fit || fit.controller.signal.aborted) return { cancelled: false }
      fit.controller.abort()
      return { cancelled: true }
    },

    /** Stop the fit under way, if any, and wait until it has stopped. */
    async stop(): Promise<void> {
      const stopping = fit
      stopping?.controller.abort()
      await stopping?.finished
    },
  }
}
