/**
 * The command line's options, once for every command, and what turns them into engine settings: parsing,
 * checks with one-line errors, the sampler and schedule a set of options describes, progress and files.
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

import { EngineError } from '../engine/errors'
import { writeFileAtomic } from '../engine/files'
import type { Denoiser } from '../engine/model/load'
import { type ProviderName, PROVIDERS } from '../engine/model/providers'
import { classLabelProblem, trainingOf } from '../engine/model/training'
import type { Progress } from '../engine/run'
import { PREDICTION_TYPES, type SamplerConfig, SAMPLERS, samplerWith, SPACINGS } from '../engine/samplers/config'
import { parseScheduleName, type ScheduleConfig } from '../engine/schedule'

/** Every option of every command, once. */
export const OPTIONS = {
  model: { type: 'string' },
  sampler: { type: 'string' },
  steps: { type: 'string' },
  eta: { type: 'string' },
  schedule: { type: 'string' },
  'train-steps': { type: 'string' },
  'beta-start': { type: 'string' },
  'beta-end': { type: 'string' },
  prediction: { type: 'string' },
  spacing: { type: 'string' },
  'steps-offset': { type: 'string' },
  'clip-sample': { type: 'string' },
  'set-alpha-to-one': { type: 'string' },
  seed: { type: 'string' },
  batch: { type: 'string' },
  class: { type: 'string' },
  height: { type: 'string' },
  width: { type: 'string' },
  guidance: { type: 'string' },
  'init-noise': { type: 'string' },
  out: { type: 'string' },
  gif: { type: 'boolean' },
  sheet: { type: 'boolean' },
  'gif-of': { type: 'string' },
  'gif-count': { type: 'string' },
  'gif-every': { type: 'string' },
  'gif-delay': { type: 'string' },
  'save-npy': { type: 'boolean' },
  json: { type: 'boolean' },
  overwrite: { type: 'boolean' },
  provider: { type: 'string' },
  variant: { type: 'string', multiple: true },
  index: { type: 'string' },
  'from-step': { type: 'string' },
  then: { type: 'string' },
  'init-image': { type: 'string' },
  t: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

export type Values = ReturnType<typeof parse>['values']
export const parse = (args: string[]) => parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true })

/** GIF frames when neither --gif-count nor --gif-every is given. */
export const DEFAULT_GIF_FRAMES = 40

export const bad = (message: string) => new EngineError('bad-argument', message)

export function num(v: Values, key: keyof Values, check: (n: number) => boolean = Number.isFinite): number | undefined {
  const raw = v[key]
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (raw === '' || !check(n)) throw bad(`--${key}: "${raw}" is not a valid value`)
  return n
}
export const int = (v: Values, key: keyof Values, min = 0) => num(v, key, (n) => Number.isInteger(n) && n >= min)
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

/** Schedule options over a base (the model's training schedule, or the defaults). */
export function scheduleFrom(v: Values, base: ScheduleConfig): ScheduleConfig {
  const name = v.schedule === undefined ? base.schedule : parseScheduleName(v.schedule)
  if (!name) throw bad(`--schedule: "${v.schedule}" is not one of linear, scaled_linear, cosine, quadratic, sigmoid`)
  return {
    ...base,
    schedule: name,
    trainSteps: int(v, 'train-steps', 1) ?? base.trainSteps,
    betaStart: num(v, 'beta-start', (n) => n > 0 && n < 1) ?? base.betaStart,
    betaEnd: num(v, 'beta-end', (n) => n > 0 && n < 1) ?? base.betaEnd,
  }
}

export function samplerFrom(v: Values, base: SamplerConfig): SamplerConfig {
  return samplerWith(base, {
    sampler: oneOf(v, 'sampler', SAMPLERS),
    steps: int(v, 'steps', 1),
    eta: num(v, 'eta', (n) => n >= 0 && n <= 1),
    timestepSpacing: oneOf(v, 'spacing', SPACINGS),
    stepsOffset: int(v, 'steps-offset'),
    predictionType: oneOf(v, 'prediction', PREDICTION_TYPES),
    clipSample: bool(v, 'clip-sample'),
    setAlphaToOne: bool(v, 'set-alpha-to-one'),
  })
}

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
  const args = extra
    .trim()
    .split(/\s+/)
    .flatMap((pair) => {
      const m = /^([a-z-]+)=(.+)$/.exec(pair)
      if (!m) throw bad(`${what}: "${pair}" is not name=value (e.g. "sampler=ddpm steps=100")`)
      return [`--${m[1]}`, m[2]]
    })
  return { ...v, ...parse(args).values }
}

/** The settings sample options describe, over the model's training defaults. */
export function runSettings(v: Values, model: Denoiser) {
  const t = trainingOf(model.info)
  const classLabel = int(v, 'class')
  const classProblem = classLabel === undefined ? undefined : classLabelProblem(t, classLabel, model.info.name)
  if (classProblem) throw bad(`--class: ${classProblem}`)
  return {
    sampler: samplerFrom(v, t.sampler),
    schedule: scheduleFrom(v, t.schedule),
    batch: int(v, 'batch', 1) ?? 1,
    height: int(v, 'height', 1) ?? t.size.height,
    width: int(v, 'width', 1) ?? t.size.width,
    classLabel,
    guidance: num(v, 'guidance', (n) => n >= 0),
    nullClassId: t.classes?.nullClassId,
  }
}

/** Progress on stderr: a bar on a terminal, JSON lines with --json, nothing otherwise. */
export function progressPrinter(v: Values, label = '') {
  const isTty = process.stderr.isTTY && !v.json
  return (p: Progress) => {
    if (v.json) process.stderr.write(JSON.stringify({ event: 'progress', ...p }) + '\n')
    else if (isTty) {
      const w = 30,
        done = Math.round((p.step / p.total) * w)
      process.stderr.write(
        `\r${label}[${'#'.repeat(done)}${'.'.repeat(w - done)}] ${p.step}/${p.total} t=${p.timestep} ${(p.elapsedMs / 1000).toFixed(1)}s`,
      )
      if (p.step === p.total) process.stderr.write('\n')
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
