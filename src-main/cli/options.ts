/**
 * The command line's options, once for every command, and what turns them into engine settings: parsing,
 * checks with one-line errors, the sampler and schedule a set of options describes, progress and files.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import type { ExportRequest } from '../../src-shared/exports'
import { MAX_EXPORT_SCALE, randomSeed } from '../../src-shared/limits'
import { CHECKPOINT_WEIGHTS, type GuidanceDefaults } from '../../src-shared/model'
import {
  GIF_VIEWS,
  type OptionSpec,
  type ProviderName,
  PROVIDERS,
  SAMPLER_OPTIONS,
  type SamplerOptionName,
  SAMPLERS,
  timestepsProblem,
} from '../../src-shared/names'
import { parseScheduleName, SCHEDULES } from '../../src-shared/names'
import type { Apg, GenerationRequest, SamplerSettings, ScheduleSettings, Variation } from '../../src-shared/parameters'
import { EngineError } from '../engine/errors'
import { writeFileAtomic } from '../engine/files'
import { defaultCacheDir } from '../engine/model/graph-cache'
import type { LoadOptions } from '../engine/model/load'
import type { Progress } from '../engine/run'

/** A sampler option's flag (SAMPLER_OPTIONS: --spacing is timestepSpacing is diffusers' timestep_spacing). */
type SamplerFlag = (typeof SAMPLER_OPTIONS)[SamplerOptionName]['flag']
const SAMPLER_FLAGS = Object.fromEntries(
  Object.values(SAMPLER_OPTIONS).map((o) => [o.flag, { type: 'string' }]),
) as Record<SamplerFlag, { type: 'string' }>

/** Every option of every command, once; a flag for each sampler option of the table. */
export const OPTIONS = {
  model: { type: 'string' },
  sampler: { type: 'string' },
  steps: { type: 'string' },
  ...SAMPLER_FLAGS,
  schedule: { type: 'string' },
  'train-steps': { type: 'string' },
  'beta-start': { type: 'string' },
  'beta-end': { type: 'string' },
  seed: { type: 'string' },
  'variation-seed': { type: 'string' },
  'variation-strength': { type: 'string' },
  walk: { type: 'boolean' },
  batch: { type: 'string' },
  class: { type: 'string' },
  height: { type: 'string' },
  width: { type: 'string' },
  guidance: { type: 'string' },
  'guidance-rescale': { type: 'string' },
  'apg-eta': { type: 'string' },
  'apg-norm-threshold': { type: 'string' },
  'apg-momentum': { type: 'string' },
  'init-noise': { type: 'string' },
  channels: { type: 'string' },
  out: { type: 'string' },
  gif: { type: 'boolean' },
  apng: { type: 'boolean' },
  sheet: { type: 'boolean' },
  'steps-sheet': { type: 'boolean' },
  'gif-of': { type: 'string' },
  'gif-count': { type: 'string' },
  'gif-every': { type: 'string' },
  'gif-delay': { type: 'string' },
  scale: { type: 'string' },
  'save-npy': { type: 'boolean' },
  json: { type: 'boolean' },
  overwrite: { type: 'boolean' },
  provider: { type: 'string' },
  weights: { type: 'string' },
  variant: { type: 'string', multiple: true },
  index: { type: 'string' },
  'from-step': { type: 'string' },
  then: { type: 'string' },
  'init-image': { type: 'string' },
  t: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

export type Values = ReturnType<typeof parse>['values']
export const parse = (args: string[]) =>
  parseArgs({ args: negativeValues(args), options: OPTIONS, allowPositionals: true, strict: true })

/**
 * "--apg-momentum -0.5" as "--apg-momentum=-0.5": a negative number after an option that takes a value is that
 * value (no option starts with a digit); parseArgs alone calls it ambiguous.
 */
function negativeValues(args: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const name = /^--([a-z-]+)$/.exec(args[i])?.[1]
    const takesValue = name !== undefined && OPTIONS[name as keyof typeof OPTIONS]?.type === 'string'
    if (takesValue && /^-\.?\d/.test(args[i + 1] ?? '')) out.push(`${args[i]}=${args[++i]}`)
    else out.push(args[i])
  }
  return out
}

export const bad = (message: string) => new EngineError('bad-argument', message)

/** A number option, or undefined when not given; `expected` says what `check` accepts. */
export function num(
  v: Values,
  key: keyof Values,
  check: (n: number) => boolean = Number.isFinite,
  expected = 'a number',
): number | undefined {
  const raw = v[key]
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (raw === '' || !check(n)) throw bad(`--${key}: "${raw}" is not ${expected}`)
  return n
}
export const int = (v: Values, key: keyof Values, min = 0) =>
  num(v, key, (n) => Number.isInteger(n) && n >= min, `a whole number of ${min} or more`)
export function bool(v: Values, key: keyof Values): boolean | undefined {
  const raw = v[key]
  if (raw === undefined) return undefined
  if (raw === 'true' || raw === 'false') return raw === 'true'
  throw bad(`--${key}: expected true or false, got "${raw}"`)
}
export function oneOf<T extends string>(v: Values, key: keyof Values, allowed: readonly T[]): T | undefined {
  const raw = v[key] as string | undefined
  if (raw === undefined) return undefined
  if (!(allowed as readonly string[]).includes(raw)) throw bad(`--${key}: "${raw}" is not one of ${allowed.join(', ')}`)
  return raw as T
}

const BETWEEN_0_AND_1 = 'a number between 0 and 1'

/** The schedule options given (over the model's training schedule). */
export function scheduleSettingsFrom(v: Values): ScheduleSettings {
  const schedule = v.schedule === undefined ? undefined : parseScheduleName(v.schedule)
  if (v.schedule !== undefined && !schedule)
    throw bad(`--schedule: "${v.schedule}" is not one of ${SCHEDULES.join(', ')}`)
  return {
    schedule,
    trainSteps: int(v, 'train-steps', 1),
    betaStart: num(v, 'beta-start', (n) => n > 0 && n < 1, BETWEEN_0_AND_1),
    betaEnd: num(v, 'beta-end', (n) => n > 0 && n < 1, BETWEEN_0_AND_1),
  }
}

/** A sampler option's value from its flag: true or false, a number in its range, or one of its names. */
function optionFrom(v: Values, spec: OptionSpec): SamplerSettings[SamplerOptionName] {
  const key = spec.flag as keyof Values
  if (spec.kind === 'boolean') return bool(v, key)
  if (spec.kind === 'choice') return oneOf(v, key, spec.values) as SamplerSettings[SamplerOptionName]
  if (spec.kind === 'timesteps') return timestepList(v, key, spec.max)
  const inRange = (n: number) => n >= spec.min && n <= spec.max && (spec.kind === 'number' || Number.isInteger(n))
  const what = spec.kind === 'number' ? 'a number' : 'a whole number'
  return num(v, key, (n) => Number.isFinite(n) && inRange(n), `${what} from ${spec.min} to ${spec.max}`)
}

/** --timesteps 999,893,...: descending integers, comma-separated (an empty list: from the spacing). */
function timestepList(v: Values, key: keyof Values, max: number): number[] | undefined {
  const raw = v[key] as string | undefined
  if (raw === undefined) return undefined
  const list = raw.trim() === '' ? [] : raw.split(',').map((t) => (t.trim() === '' ? NaN : Number(t)))
  const problem = timestepsProblem(list, max)
  if (problem) throw bad(`--${key}: "${raw}": ${problem}, comma-separated`)
  return list
}

/** The sampler options given (over the model's training defaults); each sampler reads its own (SAMPLER_INFO). */
export function samplerSettingsFrom(v: Values): SamplerSettings {
  const settings: Record<string, unknown> = { sampler: oneOf(v, 'sampler', SAMPLERS), steps: int(v, 'steps', 1) }
  for (const [name, spec] of Object.entries(SAMPLER_OPTIONS)) settings[name] = optionFrom(v, spec)
  return settings as SamplerSettings
}

/**
 * What the sample options ask for: the same request the app's Generate sends (the engine plans it). Guidance,
 * its rescale and APG not given are the model's own where it says how it is meant to be guided (`model`: its
 * guidance_scale & co.; a lucidrains classifier_free_guidance.py model: 6, 0.7, APG eta 0), as the app starts.
 */
export const generationFrom = (v: Values, model?: GuidanceDefaults): GenerationRequest => ({
  sampler: samplerSettingsFrom(v),
  schedule: scheduleSettingsFrom(v),
  seed: int(v, 'seed') ?? randomSeed(),
  batch: int(v, 'batch', 1) ?? 1,
  variation: variationFrom(v),
  classLabel: int(v, 'class'),
  guidance: num(v, 'guidance', (n) => Number.isFinite(n) && n >= 0, 'a number of 0 or more') ?? model?.scale,
  guidanceRescale: num(v, 'guidance-rescale', (n) => n >= 0 && n <= 1, 'a number from 0 to 1') ?? model?.rescale,
  apg: apgFrom(v) ?? (model && model.apgEta !== 1 ? { eta: model.apgEta, normThreshold: 0 } : undefined),
  height: int(v, 'height', 1),
  width: int(v, 'width', 1),
})

/**
 * --variation-strength, with --variation-seed or a random one (A1111's variation seed of -1); --walk: a walk
 * to the variation seed (all the way, strength 1, unless given).
 */
function variationFrom(v: Values): Variation | undefined {
  const strength =
    num(v, 'variation-strength', (n) => n >= 0 && n <= 1, 'a number from 0 to 1') ?? (v.walk ? 1 : undefined)
  const seed = int(v, 'variation-seed')
  if (strength === undefined) {
    if (seed !== undefined)
      throw bad('--variation-seed needs --variation-strength (0 to 1: how far toward its noise image k goes) or --walk')
    return undefined
  }
  return { seed: seed ?? randomSeed(), strength, ...(v.walk && { walk: true }) }
}

/**
 * --apg-eta, --apg-norm-threshold and --apg-momentum: adaptive projected guidance, eta 0 (APG's own), no
 * threshold and no momentum unless given.
 */
function apgFrom(v: Values): Apg | undefined {
  const eta = num(v, 'apg-eta', (n) => n >= 0 && n <= 1, 'a number from 0 to 1')
  const normThreshold = num(v, 'apg-norm-threshold', (n) => Number.isFinite(n) && n >= 0, 'a number of 0 or more')
  const momentum = num(v, 'apg-momentum', (n) => n > -1 && n < 1, 'a number between -1 and 1')
  return eta === undefined && normThreshold === undefined && momentum === undefined
    ? undefined
    : { eta: eta ?? 0, normThreshold: normThreshold ?? 0, ...(momentum !== undefined && { momentum }) }
}

/** --scale: each image pixel as scale x scale pixels in the PNGs, the sheet and the GIF (nearest neighbour). */
export const scaleFrom = (v: Values): Pick<ExportRequest, 'scale'> => ({
  scale: num(
    v,
    'scale',
    (n) => Number.isInteger(n) && n >= 1 && n <= MAX_EXPORT_SCALE,
    `a whole number from 1 to ${MAX_EXPORT_SCALE}`,
  ),
})

/** The GIF options, as an export request's (which view, how many frames, how fast). */
export const gifOptionsFrom = (v: Values): Pick<ExportRequest, 'gifOf' | 'gifFrames' | 'gifEvery' | 'gifDelayMs'> => ({
  gifOf: oneOf(v, 'gif-of', GIF_VIEWS),
  gifFrames: int(v, 'gif-count', 2),
  gifEvery: int(v, 'gif-every', 1),
  gifDelayMs: int(v, 'gif-delay', 10),
})

/** How a command loads its model: the providers asked for, the per-user graph cache, which checkpoint weights. */
export const loadOptionsFrom = (v: Values): LoadOptions => ({
  providers: providersFrom(v),
  cacheDir: defaultCacheDir(),
  weights: oneOf(v, 'weights', CHECKPOINT_WEIGHTS),
})

export function providersFrom(v: Values): ProviderName[] | undefined {
  if (!v.provider) return undefined
  const list = v.provider.split(',')
  for (const p of list)
    if (!(PROVIDERS as readonly string[]).includes(p))
      throw bad(`--provider: "${p}" is not one of ${PROVIDERS.join(', ')}`)
  return list as ProviderName[]
}

export const print = (x: unknown) => process.stdout.write(typeof x === 'string' ? x + '\n' : JSON.stringify(x) + '\n')
/**
 * Settings given inside --then / --variant as "name=value" pairs of sample options ("sampler=ddpm
 * steps=100"), over the command's own: only what they name changes.
 */
export function over(v: Values, extra: string | undefined, what: string): Values {
  if (!extra) return v
  const switches: Values = {}
  const args = extra
    .trim()
    .split(/\s+/)
    .flatMap((pair) => {
      const m = /^([a-z-]+)=(.+)$/.exec(pair)
      if (!m) throw bad(`${what}: "${pair}" is not name=value (e.g. "sampler=ddpm steps=100")`)
      const [, name, value] = m
      // A switch (walk=true, walk=false) is set or cleared; any other value joins its name (one that starts
      // with a dash, "steps-offset=-x", is no option of its own).
      if (OPTIONS[name as keyof typeof OPTIONS]?.type !== 'boolean') return [`--${name}=${value}`]
      if (value !== 'true' && value !== 'false') throw bad(`${what}: "${pair}": ${name} is true or false`)
      Object.assign(switches, { [name]: value === 'true' })
      return []
    })
  return { ...v, ...parse(args).values, ...switches }
}

/** Progress on stderr: a bar on a terminal, JSON lines with --json, nothing otherwise. */
export function progressPrinter(v: Values, label = '') {
  const isTty = process.stderr.isTTY && !v.json
  return (p: Progress) => {
    if (v.json) process.stderr.write(JSON.stringify({ event: 'progress', ...p }) + '\n')
    else if (isTty) {
      const w = 30,
        done = Math.round((p.calls / p.totalCalls) * w)
      const calls = p.totalCalls !== p.total ? ` (${p.calls}/${p.totalCalls} model calls)` : ''
      process.stderr.write(
        `\r${label}[${'#'.repeat(done)}${'.'.repeat(w - done)}] ${p.step}/${p.total}${calls} t=${p.timestep} ${(p.elapsedMs / 1000).toFixed(1)}s`,
      )
      if (p.calls === p.totalCalls) process.stderr.write('\n')
    }
  }
}

/** Refuse before sampling, not after: nothing of an earlier run is touched, nothing is half-written. */
export async function refuseExisting(v: Values, names: string[]) {
  if (v.overwrite) return
  for (const name of names) {
    if (
      await stat(join(v.out!, name)).then(
        () => true,
        () => false,
      )
    ) {
      throw new EngineError(
        'file-exists',
        `${join(v.out!, name)} already exists; choose another --out or pass --overwrite`,
      )
    }
  }
}

export function fileWriter(v: Values) {
  const files: string[] = []
  const write = async (name: string, bytes: Uint8Array) => {
    const path = join(v.out!, name)
    await writeFileAtomic(path, bytes, { overwrite: v.overwrite })
    files.push(path)
  }
  return { files, write }
}
