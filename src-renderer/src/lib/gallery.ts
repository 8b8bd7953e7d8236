/**
 * The history as the gallery shows it: one entry a run, or a group of runs started together (a class x seed
 * grid, a comparison) as one entry; newest first; searched and filtered by model, sampler, seed, class and
 * date. Pure functions over runs.list's summaries.
 */
import type { RunStatus, RunSummary } from '../../../src-preload/contract'
import { samplerLabel } from '../../../src-shared/parameters'

/** How a run came to be, as the history names it. */
export type RunKind = 'run' | 'fork' | 'image' | 'compare' | 'grid'

export interface Entry {
  /** The run's id, or its group's. */
  id: string
  kind: RunKind
  /** The runs it stands for, oldest first (one, or a group's). */
  runs: RunSummary[]
  /** The run whose thumbnail and parameters the entry shows (a group's first). */
  first: RunSummary
  createdAt: number
  /** Sampling while any of its runs is; otherwise the first run's. */
  status: RunStatus
}

export const kindOf = (s: RunSummary): RunKind =>
  s.group?.kind ?? (s.parameters.forkedFrom ? 'fork' : s.parameters.fromImageAt !== undefined ? 'image' : 'run')

/** Entries, newest first, from runs oldest first. */
export function entriesOf(runs: RunSummary[]): Entry[] {
  const groups = new Map<string, RunSummary[]>()
  const order: string[] = []
  for (const r of runs) {
    const id = r.group?.id ?? r.runId
    const members = groups.get(id)
    if (members) members.push(r)
    else {
      groups.set(id, [r])
      order.push(id)
    }
  }
  return order.reverse().map((id) => {
    const members = groups.get(id)!
    const first = members[0]
    return {
      id,
      kind: kindOf(first),
      runs: members,
      first,
      createdAt: first.createdAt,
      status: members.some((m) => m.status === 'running') ? 'running' : first.status,
    }
  })
}

export const DATE_RANGES = [
  { id: 'all', label: 'Any time', days: Infinity },
  { id: 'today', label: 'Today', days: 0 },
  { id: 'week', label: 'Past 7 days', days: 7 },
  { id: 'month', label: 'Past 30 days', days: 30 },
] as const
export type DateRange = (typeof DATE_RANGES)[number]['id']

export interface Query {
  /** Words that must all appear: model, sampler, "seed 42" or just 42 (any seed of a batch), class, date, #n. */
  text: string
  /** '' for any. */
  model: string
  sampler: string
  /** A class id as a string, 'none' for unconditional runs, '' for any. */
  classLabel: string
  date: DateRange
}

export const EMPTY_QUERY: Query = { text: '', model: '', sampler: '', classLabel: '', date: 'all' }

export interface QueryContext {
  /** The model's class names (a class is searched by name and number). */
  classNames: string[]
  nullClassId: number | null
  /** The entry's number in the history (#3). */
  number: (runId: string) => number | undefined
  now: number
}

/** The class a run was conditioned on, or null (unconditional, or the null class). */
export const classOf = (s: RunSummary, nullClassId: number | null): number | null => {
  const c = s.parameters.classLabel
  return c === undefined || c === nullClassId ? null : c
}

const startOfDay = (t: number) => {
  const d = new Date(t)
  d.setHours(0, 0, 0, 0)
  return d.getTime()
}

/** "2025-03-14 09:26" in local time: what the gallery shows and the search matches. */
export const dateText = (t: number) => {
  const d = new Date(t)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`
}

/** What the search looks through for one run, lower case. */
function haystack(s: RunSummary, kind: RunKind, ctx: QueryContext): string {
  const p = s.parameters
  const c = classOf(s, ctx.nullClassId)
  return [
    `#${ctx.number(s.runId) ?? ''}`,
    p.model,
    p.modelHash ?? '',
    samplerLabel(p.sampler),
    p.sampler.sampler,
    `${p.sampler.steps} steps`,
    p.schedule.schedule,
    c === null ? 'unconditional' : `class ${c} ${ctx.classNames[c] ?? ''}`,
    dateText(s.createdAt),
    kind,
    s.status,
  ]
    .join(' ')
    .toLowerCase()
}

function matchesRun(s: RunSummary, kind: RunKind, words: string[], ctx: QueryContext): boolean {
  const text = haystack(s, kind, ctx)
  const tokens = new Set(text.split(' '))
  return words.every((w) => {
    // A number is any image's seed of the batch (image k has seed + k; a variation: the seed, or variation
    // seed + k), or a number the entry shows.
    if (/^\d+$/.test(w)) {
      const n = Number(w)
      const { seed, variation } = s.parameters
      const within = (first: number) => n >= first && n < first + s.shape.batch
      const varied = variation && (variation.walk ? n === variation.seed : within(variation.seed))
      return (variation ? n === seed || varied : within(seed)) || tokens.has(w)
    }
    return text.includes(w)
  })
}

export function matches(e: Entry, q: Query, ctx: QueryContext): boolean {
  const range = DATE_RANGES.find((d) => d.id === q.date)
  if (range && Number.isFinite(range.days) && e.createdAt < startOfDay(ctx.now) - range.days * 86_400_000) return false
  // "seed" is a word of the query's habit ("seed 42"), not of the runs.
  const words = q.text
    .toLowerCase()
    .split(/\s+/)
    .filter((w) => w && w !== 'seed')
  // A group matches when one of its runs does (a grid's rows differ in class).
  return e.runs.some((s) => {
    if (q.model && s.parameters.model !== q.model) return false
    if (q.sampler && s.parameters.sampler.sampler !== q.sampler) return false
    if (q.classLabel) {
      const c = classOf(s, ctx.nullClassId)
      if (q.classLabel === 'none' ? c !== null : String(c) !== q.classLabel) return false
    }
    return matchesRun(s, e.kind, words, ctx)
  })
}

/** The values the filters offer: those the history holds. */
export function filterChoices(runs: RunSummary[], nullClassId: number | null) {
  const sorted = <T>(xs: Iterable<T>) => [...new Set(xs)].sort()
  return {
    models: sorted(runs.map((r) => r.parameters.model)),
    samplers: sorted(runs.map((r) => r.parameters.sampler.sampler)),
    classes: sorted(runs.map((r) => classOf(r, nullClassId))).sort((a, b) => (a ?? -1) - (b ?? -1)),
  }
}
