/**
 * Compare: 2 to 4 variants of the current settings (each row overrides sampler, steps, eta, the sigma
 * schedule, schedule, guidance) sampled from the same seed, so the same x_T and the same noise (the engine's rule: same seed,
 * same noise), shown side by side with one scrubber aligned by fraction of each run's steps.
 * One image a variant (batch 1): each step's timestep is kept here, its images in the step cache (those
 * the events brought, others fetched when the scrubber shows them). Events are applied once a display frame.
 */
import type { Events, ModelCard, RunSummary, SampleStartRequest } from '../../../src-preload/contract'
import { MAX_VARIANTS, MIN_VARIANTS } from '../../../src-shared/limits'
import { LIVE_UPDATE_MS } from '../../../src-shared/limits'
import { compareLabels, imageSeedLabel } from '../../../src-shared/parameters'
import { api } from './api'
import { onceAFrame } from './display-frame'
import {
  type AppOptions,
  COMPARE_OPTIONS,
  type Parameters,
  type SamplerName,
  SAMPLERS,
  type ScheduleName,
  settingsFor,
} from './parameters.svelte'
import type { Shape } from './run.svelte'
import { cancelRuns, startRuns, updateRun } from './side-runs'
import { pixelsOf, steps } from './steps.svelte'
import { toasts } from './toasts.svelte'

export { MAX_VARIANTS, MIN_VARIANTS }

export interface Variant {
  sampler: SamplerName
  steps: number
  eta: number
  schedule: ScheduleName
  guidance: number
  /** The table's options a row sets for its own sampler (COMPARE_OPTIONS: the sigma schedule). */
  options?: AppOptions
}

export interface CompareRun {
  runId: string
  label: string
  shape: Shape
  total: number
  /** Each step's timestep so far (its images: the step cache). */
  frames: { timestep: number }[]
  /** The newest step whose images came with its event (shown while following a sampling run). */
  latest: number
  samples: Float32Array | null
  status: 'running' | 'done' | 'failed'
}

/** The scrubber's resolution: positions 0..SCRUB_MAX are fractions 0..1 of each run. */
export const SCRUB_MAX = 1000

function variantOf(p: Parameters): Variant {
  const set = COMPARE_OPTIONS.filter((o) => p.options[o] !== undefined)
  const options = Object.fromEntries(set.map((o) => [o, p.options[o]]))
  return {
    sampler: p.sampler,
    steps: p.steps,
    eta: p.eta,
    schedule: p.schedule,
    guidance: p.guidance,
    ...(set.length > 0 && { options }),
  }
}

/** Index into a run's frames plus its final sample (total + 1 positions) at fraction f of it. */
export const indexAt = (f: number, total: number) => Math.round(f * total)

class Compare {
  variants = $state<Variant[]>([])
  runs = $state.raw<CompareRun[]>([])
  /** The shared scrubber, 0..SCRUB_MAX. */
  position = $state(SCRUB_MAX)
  of = $state<'xt' | 'x0'>('x0')
  /** The seed and class the runs shown were sampled with (the sidebar may have moved on since). */
  seed = $state<string | null>(null)
  className = $state<string | null>(null)
  starting = $state(false)
  exporting = $state(false)

  running = $derived(this.starting || this.runs.some((r) => r.status === 'running'))
  ready = $derived(this.runs.length >= MIN_VARIANTS && this.runs.every((r) => r.status === 'done') && !this.exporting)

  /** First use: the current settings, and the same with the other sampler. */
  ensureVariants(p: Parameters) {
    if (this.variants.length) return
    const current = variantOf(p)
    const other = SAMPLERS.find((s) => s !== current.sampler) ?? current.sampler
    this.variants = [current, { ...current, sampler: other }]
  }

  /** "Compare with" an image: its run's settings as the first variant (the others stay). */
  adoptFirst(v: Variant) {
    if (this.variants.length === 0) {
      const other = SAMPLERS.find((s) => s !== v.sampler) ?? v.sampler
      this.variants = [v, { ...v, sampler: other }]
    } else this.variants[0] = v
  }

  add(p: Parameters) {
    if (this.variants.length >= MAX_VARIANTS) return
    this.variants.push({ ...(this.variants.at(-1) ?? variantOf(p)) })
  }

  remove(i: number) {
    if (this.variants.length > MIN_VARIANTS) this.variants.splice(i, 1)
  }

  /** Sample every variant from the sidebar's seed and class, one image each. */
  async start(card: ModelCard, p: Parameters) {
    if (this.running) return
    const base = p.request(card, { redraw: false })
    // One image a variant: a walk's first is the seed's own image, so a walk compares as no variation.
    if (base.variation?.walk) delete base.variation
    const variants = $state.snapshot(this.variants)
    const requests = variants.map((v): SampleStartRequest => {
      const steps = Number.isFinite(v.steps) ? Math.min(p.trainSteps, Math.max(1, Math.round(v.steps))) : p.steps
      const eta = Number.isFinite(v.eta) ? Math.min(1, Math.max(0, v.eta)) : 0
      // The sidebar's timesteps of one's own go to the rows with as many steps; the others space theirs.
      const own = base.sampler?.timesteps?.length === steps ? base.sampler.timesteps : []
      const sampler = settingsFor({ ...base.sampler, ...v.options, sampler: v.sampler, steps, eta, timesteps: own })
      const req: SampleStartRequest = {
        ...base,
        batch: 1,
        sampler,
        schedule: { ...base.schedule, schedule: v.schedule },
      }
      // Guidance applies where the sidebar's class is guided at all.
      if (req.guidance !== undefined) req.guidance = Number.isFinite(v.guidance) ? Math.max(0, v.guidance) : p.guidance
      return req
    })
    this.starting = true
    this.runs = []
    this.seed = imageSeedLabel(base, 0, 1)
    const label = base.classLabel
    this.className =
      label === undefined || label === card.classes?.nullClassId
        ? null
        : (card.classes?.names[label] ?? `class ${label}`)
    try {
      const runs = (await startRuns(requests, 'compare')).map((r) => r.started)
      // The engine's labels (what the exported sheet says too), from the parameters it resolved.
      const labels = compareLabels(runs.map((r) => r.parameters))
      this.runs = runs.map((started, i) => ({
        runId: started.runId,
        label: labels[i],
        shape: started.shape,
        total: started.timesteps.length,
        frames: [],
        latest: -1,
        samples: null,
        status: 'running' as const,
      }))
      this.position = SCRUB_MAX
    } finally {
      this.starting = false
    }
  }

  /** Show a comparison of the history again (its steps' images fetched as the scrubber shows them). */
  async reopen(runs: RunSummary[]) {
    if (this.running) return
    const answers = await Promise.all(runs.map((r) => api.invoke('runs.frames', { runId: r.runId })))
    const labels = compareLabels(runs.map((r) => r.parameters))
    this.seed = runs[0] ? imageSeedLabel(runs[0].parameters, 0, 1) : null
    this.runs = runs.map((r, i) => {
      const a = answers[i]
      const frames = a.ok && a.value.timeline ? a.value.frames.map((f) => ({ timestep: f.timestep })) : []
      const samples = a.ok ? a.value.samples : null
      return {
        runId: r.runId,
        label: labels[i],
        shape: r.shape,
        total: r.steps,
        frames,
        latest: -1,
        samples: samples ? new Float32Array(samples) : null,
        status: samples ? 'done' : 'failed',
      }
    })
    this.position = SCRUB_MAX
  }

  #update(runId: string, change: (r: CompareRun) => CompareRun) {
    this.runs = updateRun(this.runs, runId, change)
  }

  /** Frame events not yet applied, by run. */
  #pending = new Map<string, Events['frame'][]>()
  #schedule = onceAFrame(() => this.flush(), LIVE_UPDATE_MS)

  /** Apply the frame events that came since the last display frame. */
  flush() {
    const pending = this.#pending
    this.#pending = new Map()
    for (const [runId, events] of pending) {
      this.#update(runId, (r) => ({
        ...r,
        total: events.at(-1)!.total,
        frames: r.frames.concat(events.map((e) => ({ timestep: e.timestep }))),
        latest: Math.max(r.latest, ...events.filter((e) => e.pixels).map((e) => e.index)),
      }))
    }
    if (pending.size) steps.version++
  }

  listen(): () => void {
    const offs = [
      api.on('frame', (e: Events['frame']) => {
        if (!this.runs.some((r) => r.runId === e.runId)) return
        if (e.pixels) steps.put(e.runId, e.index, pixelsOf(e.pixels, e.alphaBar), false)
        this.#pending.set(e.runId, [...(this.#pending.get(e.runId) ?? []), e])
        this.#schedule()
      }),
      api.on('done', (e) => {
        this.flush()
        this.#update(e.runId, (r) => ({ ...r, samples: new Float32Array(e.samples), status: 'done' }))
      }),
      api.on('failed', (e) =>
        this.#update(e.runId, (r) => {
          if (e.error.code !== 'cancelled') toasts.error(e.error)
          return { ...r, status: 'failed' }
        }),
      ),
    ]
    return () => offs.forEach((off) => off())
  }

  /** What a run shows at the scrubber: the values, and which step (total = the final sample). */
  shownOf(r: CompareRun): { values: Float32Array | null; step: number; timestep: number | null } {
    const at = indexAt(this.position / SCRUB_MAX, r.total)
    if (at >= r.total && r.samples) return { values: r.samples, step: r.total, timestep: null }
    // Following a sampling run: its newest step that came with images (nothing to fetch).
    const step = r.status === 'running' && at >= r.frames.length - 1 ? r.latest : Math.min(at, r.frames.length - 1)
    const f = r.frames[step]
    if (!f) return { values: null, step: 0, timestep: null }
    const p = steps.get(r.runId, step)
    return { values: p ? (this.of === 'x0' ? p.predictedX0 : p.sample) : null, step, timestep: f.timestep }
  }

  async cancel() {
    await cancelRuns(this.runs)
  }

  async save(kind: 'compare-sheet' | 'compare-gif') {
    if (!this.ready) return
    const [first, ...rest] = this.runs
    this.exporting = true
    try {
      const r = await api.invoke('export.save', {
        runId: first.runId,
        with: rest.map((x) => x.runId),
        kind,
        index: 0,
        gifOf: this.of,
      })
      if (!r.ok) toasts.error(r.error)
      else if (r.value.paths.length) toasts.info(`Saved ${r.value.paths.join(', ')}`)
    } finally {
      this.exporting = false
    }
  }
}

export const compare = new Compare()
