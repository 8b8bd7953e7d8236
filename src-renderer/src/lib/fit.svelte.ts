/**
 * "Fit to this model": the timesteps field fitted to the loaded model by the engine (fit.timesteps). The
 * probe is the run Generate would make (sampler, its options, steps or timesteps, schedule, class, guidance,
 * the seed shown) with `probe` images (FIT_BATCH unless the user says: more carry over better to other
 * seeds, fewer are quicker); the search starts from the field's timesteps where it has some (a refinement),
 * else from the spacing's. Its result fills the field if the model and the sampler are still those it was
 * fitted for. Stop keeps the best timesteps found by then. Fits that filled the field are kept in the
 * settings for their model, and offered again when it runs that sampler at as many steps.
 */
import { type Events, type KeptFit, MAX_KEPT_FITS, type ModelCard } from '../../../src-preload/contract'
import { FIT_BATCH, MAX_FIT_BATCH } from '../../../src-shared/fit'
import type { SamplerName } from '../../../src-shared/names'
import { count } from '../../../src-shared/text'
import { api } from './api'
import { model } from './model.svelte'
import { parameters as p } from './parameters.svelte'
import { toasts } from './toasts.svelte'

class Fit {
  /** Probe images: the batch each run of the search makes. */
  probe = $state(FIT_BATCH)
  status = $state<'idle' | 'fitting' | 'stopping'>('idle')
  /** The share of the reference run (DPM++ 3M at every timestep) done, 0 to 1. */
  reference = $state(0)
  /** The start's distance to the ODE's solution, then the best yet, and the runs of the search so far. */
  startDistance = $state<number | null>(null)
  distance = $state<number | null>(null)
  evaluations = $state(0)
  /** Why the last fit could not run, shown under its button until the next one. */
  problem = $state<string | null>(null)
  /** The last fit's outcome, as the line under the button says it. */
  outcome = $state<string | null>(null)
  /** Fits kept from earlier (the settings'), newest first. */
  kept = $state.raw<KeptFit[]>([])

  get running() {
    return this.status !== 'idle'
  }

  async start(card: ModelCard) {
    if (this.running) return
    const req = p.request(card, { redraw: false })
    const probe = Math.min(MAX_FIT_BATCH, Math.max(1, Math.round(this.probe) || FIT_BATCH))
    this.probe = probe
    const sampler = p.sampler
    Object.assign(this, { status: 'fitting', reference: 0, startDistance: null, distance: null, evaluations: 0 })
    this.problem = this.outcome = null
    const r = await api.invoke('fit.timesteps', {
      ...req,
      sampler: { ...req.sampler, sampler },
      batch: probe,
    })
    this.status = 'idle'
    if (!r.ok) {
      if (r.error.code === 'cancelled') this.outcome = 'Stopped before the reference run ended: nothing to keep'
      else this.problem = r.error.message
      return
    }
    const fit = r.value
    const summary =
      `RMS to the ODE's solution ${fit.distance.toFixed(4)}, from ${fit.startDistance.toFixed(4)} ` +
      `(${count(probe, 'probe image')}, ${count(fit.evaluations, 'run')}, ${(fit.elapsedMs / 1000).toFixed(0)} s` +
      `${fit.stopped ? ', stopped' : ''})`
    if (model.card?.path !== card.path || p.sampler !== sampler) {
      this.outcome = `Not applied (the model or sampler changed meanwhile): ${fit.timesteps.join(', ')}; ${summary}`
      return
    }
    p.setOption('timesteps', fit.timesteps)
    this.outcome = summary
    void this.#keep({
      model: card.path,
      ...(card.hash && { modelHash: card.hash }),
      sampler,
      timesteps: fit.timesteps,
      distance: fit.distance,
      startDistance: fit.startDistance,
      probe,
      savedAt: new Date().toISOString(),
    })
    toasts.info(`Timesteps fitted to ${card.name}: ${summary}`)
  }

  /**
   * The fit kept for this model, sampler and step count, if any: the model known by its hash where both have
   * one (the same weights moved, or uploaded again), else by its path.
   */
  keptFor(card: Pick<ModelCard, 'path' | 'hash'>, sampler: SamplerName, steps: number): KeptFit | undefined {
    const same = (k: KeptFit) => (k.modelHash && card.hash ? k.modelHash === card.hash : k.model === card.path)
    return this.kept.find((k) => same(k) && k.sampler === sampler && k.timesteps.length === steps)
  }

  /** Keep a fit first, in place of the one for its model, sampler and step count, and save the list. */
  async #keep(fit: KeptFit) {
    const model = { path: fit.model, hash: fit.modelHash ?? null }
    const replaced = this.keptFor(model, fit.sampler, fit.timesteps.length)
    const others = this.kept.filter((k) => k !== replaced)
    this.kept = [fit, ...others].slice(0, MAX_KEPT_FITS)
    const r = await api.invoke('settings.set', { fits: this.kept })
    if (!r.ok) toasts.error(`The fit could not be kept for next time: ${r.error.message}`)
  }

  async stop() {
    if (this.status !== 'fitting') return
    this.status = 'stopping'
    const r = await api.invoke('fit.cancel', {})
    if (!r.ok) toasts.error(r.error)
  }

  #event(e: Events['fit']) {
    if (!this.running) return
    if (e.phase === 'reference') this.reference = e.calls / e.totalCalls
    else {
      this.reference = 1
      this.startDistance ??= e.distance
      this.distance = e.distance
      this.evaluations = e.evaluations
    }
  }

  /** Subscribe to the fit's events; returns the unsubscribe (call from an $effect). */
  listen(): () => void {
    return api.on('fit', (e) => this.#event(e))
  }
}

export const fit = new Fit()
