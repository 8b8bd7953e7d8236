/**
 * Stepwise's command line: parse arguments, call the engine, write files. Nothing the engine does not do.
 *   npm run -s cli -- inspect|schedule|timesteps|sample ...   (see README.md)
 */
import { mkdir, readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { EngineError, toErrorData } from './engine/errors'
import { encodeGif, selectFrames } from './engine/export/gif'
import { encodePng } from './engine/export/png'
import { contactSheet, encodeSheetPng } from './engine/export/sheet'
import { tileBatch } from './engine/export/tile'
import { writeFileAtomic } from './engine/files'
import { defaultModelPath } from './engine/model/default-model'
import { loadModel } from './engine/model/load'
import { defaultProviderOrder, PROVIDERS, type ProviderName, unavailableReason } from './engine/model/providers'
import { classLabelProblem, trainingOf } from './engine/model/training'
import { readNpy, writeNpy } from './engine/npy'
import { type GenerationParameters, summarize } from './engine/parameters'
import { runSampling } from './engine/run'
import { PREDICTION_TYPES, SAMPLERS, SPACINGS, type SamplerConfig, samplerWith } from './engine/samplers/config'
import { spacedTimesteps } from './engine/samplers/common'
import { DEFAULT_SCHEDULE, makeSchedule, parseScheduleName, type ScheduleConfig } from './engine/schedule'
import { imageOf } from './engine/tensor'

/** Every option of every command, once. */
const OPTIONS = {
  model: { type: 'string' }, sampler: { type: 'string' }, steps: { type: 'string' }, eta: { type: 'string' },
  schedule: { type: 'string' }, 'train-steps': { type: 'string' }, 'beta-start': { type: 'string' }, 'beta-end': { type: 'string' },
  prediction: { type: 'string' }, spacing: { type: 'string' }, 'steps-offset': { type: 'string' },
  'clip-sample': { type: 'string' }, 'set-alpha-to-one': { type: 'string' }, seed: { type: 'string' }, batch: { type: 'string' },
  class: { type: 'string' }, height: { type: 'string' }, width: { type: 'string' }, guidance: { type: 'string' },
  'init-noise': { type: 'string' }, out: { type: 'string' }, gif: { type: 'boolean' }, sheet: { type: 'boolean' },
  'gif-of': { type: 'string' }, 'gif-count': { type: 'string' }, 'gif-every': { type: 'string' }, 'gif-delay': { type: 'string' },
  'save-npy': { type: 'boolean' }, json: { type: 'boolean' }, overwrite: { type: 'boolean' }, provider: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const

const USAGE = `usage: stepwise <command> [options]
  inspect [<model>] [--json]
  schedule --schedule <name> [--train-steps T] [--beta-start x] [--beta-end y] --json
  timesteps --sampler ddim|ddpm --steps N [--spacing leading|trailing|linspace] [--steps-offset k] [--train-steps T] --json
  sample [--model <path>] [--sampler ddim|ddpm] [--steps N] [--eta e] [--schedule s] [--train-steps T]
         [--beta-start x] [--beta-end y] [--prediction p] [--spacing s] [--steps-offset k] [--clip-sample true|false]
         [--set-alpha-to-one true|false] [--seed n] [--batch n] [--class k] [--height h] [--width w] [--guidance g]
         [--init-noise x.npy] [--provider p[,p...]] --out <dir> [--gif [--gif-of xt|x0] [--gif-count N | --gif-every k] [--gif-delay ms]]
         [--sheet] [--save-npy] [--json] [--overwrite]`

type Values = ReturnType<typeof parse>['values']
const parse = (args: string[]) => parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true })

/** GIF frames when neither --gif-count nor --gif-every is given. */
const DEFAULT_GIF_FRAMES = 40

const bad = (message: string) => new EngineError('bad-argument', message)

function num(v: Values, key: keyof Values, check: (n: number) => boolean = Number.isFinite): number | undefined {
  const raw = v[key]
  if (raw === undefined) return undefined
  const n = Number(raw)
  if (raw === '' || !check(n)) throw bad(`--${key}: "${raw}" is not a valid value`)
  return n
}
const int = (v: Values, key: keyof Values, min = 0) => num(v, key, (n) => Number.isInteger(n) && n >= min)
function bool(v: Values, key: keyof Values): boolean | undefined {
  const raw = v[key]
  if (raw === undefined) return undefined
  if (raw === 'true' || raw === 'false') return raw === 'true'
  throw bad(`--${key}: expected true or false, got "${raw}"`)
}
function oneOf<T extends string>(v: Values, key: keyof Values, allowed: readonly T[]): T | undefined {
  const raw = v[key] as string | undefined
  if (raw === undefined) return undefined
  if (!(allowed as readonly string[]).includes(raw)) throw bad(`--${key}: "${raw}" is not one of ${allowed.join(', ')}`)
  return raw as T
}

/** Schedule options over a base (the model's training schedule, or the defaults). */
function scheduleFrom(v: Values, base: ScheduleConfig): ScheduleConfig {
  const name = v.schedule === undefined ? base.schedule : parseScheduleName(v.schedule)
  if (!name) throw bad(`--schedule: "${v.schedule}" is not one of linear, scaled_linear, cosine, quadratic, sigmoid`)
  return {
    ...base, schedule: name,
    trainSteps: int(v, 'train-steps', 1) ?? base.trainSteps,
    betaStart: num(v, 'beta-start', (n) => n > 0 && n < 1) ?? base.betaStart,
    betaEnd: num(v, 'beta-end', (n) => n > 0 && n < 1) ?? base.betaEnd,
  }
}

function samplerFrom(v: Values, base: SamplerConfig): SamplerConfig {
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

function providersFrom(v: Values): ProviderName[] | undefined {
  if (!v.provider) return undefined
  const list = v.provider.split(',')
  for (const p of list) if (!(PROVIDERS as readonly string[]).includes(p)) throw bad(`--provider: "${p}" is not one of ${PROVIDERS.join(', ')}`)
  return list as ProviderName[]
}

const print = (x: unknown) => process.stdout.write(typeof x === 'string' ? x + '\n' : JSON.stringify(x) + '\n')

async function inspect(v: Values, positionals: string[]) {
  const path = positionals[0] ?? v.model ?? defaultModelPath()
  const model = await loadModel(path, { providers: providersFrom(v) })
  try {
    const t = trainingOf(model.info)
    const providers = defaultProviderOrder().map((p) => ({ provider: p, available: !unavailableReason(p), reason: unavailableReason(p) }))
    const out = { ...model.info, training: t, metadataOrigin: model.info.metadata.origin, providersAvailable: providers }
    if (v.json) return print(out)
    const s = model.info.signature
    const sig = (x: { name: string; dtype: string; shape: unknown[] }) => `${x.name} ${x.dtype} [${x.shape.join(', ')}]`
    print([
      `${model.info.name}  (${model.info.layout}: ${model.info.onnxPath})`,
      `  image input     ${sig(s.image)}`,
      `  timestep input  ${sig(s.timestep)}`,
      s.classLabels ? `  class input     ${sig(s.classLabels)}  classes: ${t.classes?.names.join(' ')}  null class: ${t.classes?.nullClassId ?? 'none'}` : '  class input     none',
      `  output          ${sig(s.output)}${s.learnedVariance ? '  (learned variance: first half used)' : ''}`,
      `  size            ${t.size.width}x${t.size.height} (from ${t.size.from})`,
      `  training        ${t.schedule.schedule}, T=${t.schedule.trainSteps}, beta ${t.schedule.betaStart}..${t.schedule.betaEnd}, ${t.sampler.predictionType}`,
      `  from            ${Object.entries(model.info.metadata.origin).map(([k, o]) => `${k}: ${o}`).join(', ') || 'nothing'}`,
      t.assumed.length ? `  assumed         ${t.assumed.join(', ')} (no source gave them; defaults used)` : '',
      `  provider        ${model.info.provider}${model.info.skippedProviders.map((p) => `\n    skipped ${p.provider}: ${p.reason}`).join('')}`,
    ].filter(Boolean).join('\n'))
  } finally {
    await model.release()
  }
}

function scheduleCommand(v: Values) {
  const sched = makeSchedule(scheduleFrom(v, DEFAULT_SCHEDULE))
  print({ betas: Array.from(sched.betas), alphas_cumprod: Array.from(sched.alphasCumprod) })
}

function timestepsCommand(v: Values) {
  const steps = int(v, 'steps', 1)
  if (steps === undefined) throw bad('--steps is required')
  oneOf(v, 'sampler', SAMPLERS)
  const timesteps = spacedTimesteps(int(v, 'train-steps', 1) ?? DEFAULT_SCHEDULE.trainSteps, steps, oneOf(v, 'spacing', SPACINGS) ?? 'leading', int(v, 'steps-offset') ?? 0)
  print(v.json ? { timesteps } : timesteps.join(' '))
}

async function sampleCommand(v: Values) {
  if (!v.out) throw bad('--out <dir> is required')
  const modelPath = v.model ?? defaultModelPath()
  const model = await loadModel(modelPath, { providers: providersFrom(v) })
  try {
    const t = trainingOf(model.info)
    const schedule = scheduleFrom(v, t.schedule)
    const sampler = samplerFrom(v, t.sampler)
    const batch = int(v, 'batch', 1) ?? 1
    const seed = int(v, 'seed') ?? Math.floor(Math.random() * 2 ** 31)
    const height = int(v, 'height', 1) ?? t.size.height
    const width = int(v, 'width', 1) ?? t.size.width
    const classLabel = int(v, 'class')
    const guidance = num(v, 'guidance', (n) => n >= 0)
    const classProblem = classLabel === undefined ? undefined : classLabelProblem(t, classLabel, model.info.name)
    if (classProblem) throw bad(`--class: ${classProblem}`)
    const channels = model.info.signature.channels
    let initNoise: Float32Array | undefined
    if (v['init-noise']) {
      const npy = readNpy(new Uint8Array(await readFile(v['init-noise'])), v['init-noise'])
      initNoise = npy.data
    }
    await mkdir(v.out, { recursive: true })
    // Refuse before sampling, not after: nothing of an earlier run is touched, nothing is half-written.
    const planned = [
      ...Array.from({ length: batch }, (_, k) => `seed-${seed + k}.png`),
      ...(v.sheet ? ['sheet.png'] : []), ...(v.gif ? ['denoising.gif'] : []), ...(v['save-npy'] ? ['samples.npy'] : []),
    ]
    if (!v.overwrite) {
      for (const name of planned) {
        if (await stat(join(v.out, name)).then(() => true, () => false)) {
          throw new EngineError('file-exists', `${join(v.out, name)} already exists; choose another --out or pass --overwrite`)
        }
      }
    }
    const frames: Float32Array[] = []
    const gifOf = oneOf(v, 'gif-of', ['xt', 'x0'] as const) ?? 'xt'
    const gifEvery = int(v, 'gif-every', 1)
    const gifCount = int(v, 'gif-count', 2) ?? (gifEvery ? undefined : DEFAULT_GIF_FRAMES)
    const gifDelay = int(v, 'gif-delay', 10)
    const isTty = process.stderr.isTTY && !v.json
    const result = await runSampling(model, {
      sampler, schedule: makeSchedule(schedule), seed, batch, height, width, classLabel, guidance, nullClassId: t.classes?.nullClassId, initNoise,
    }, {
      onStep: v.gif ? (f) => frames.push(gifOf === 'x0' ? f.predictedX0 : f.sample) : undefined,
      onProgress: (p) => {
        if (v.json) process.stderr.write(JSON.stringify({ event: 'progress', ...p }) + '\n')
        else if (isTty) {
          const w = 30, done = Math.round((p.step / p.total) * w)
          process.stderr.write(`\r[${'#'.repeat(done)}${'.'.repeat(w - done)}] ${p.step}/${p.total} t=${p.timestep} ${(p.elapsedMs / 1000).toFixed(1)}s`)
          if (p.step === p.total) process.stderr.write('\n')
        }
      },
    })
    const files: string[] = []
    const write = async (name: string, bytes: Uint8Array) => {
      const path = join(v.out!, name)
      await writeFileAtomic(path, bytes, { overwrite: v.overwrite })
      files.push(path)
    }
    const paramsFor = (k: number): GenerationParameters => ({ model: basename(modelPath), sampler, schedule, seed: seed + k, height, width, classLabel, guidance })
    for (let k = 0; k < batch; k++) {
      const p = paramsFor(k)
      await write(`seed-${seed + k}.png`, encodePng(imageOf(result.samples, result.shape, k), { parameters: summarize(p), stepwise: p }))
    }
    if (v.sheet) {
      const images = Array.from({ length: batch }, (_, k) => imageOf(result.samples, result.shape, k))
      await write('sheet.png', encodeSheetPng(contactSheet(images, { scale: Math.max(1, Math.ceil(96 / width)) }), { parameters: summarize(paramsFor(0)), stepwise: { ...paramsFor(0), batch } }))
    }
    if (v.gif) {
      // The last frame is the final sample, held (encodeGif's holdLastMs).
      const picked = selectFrames([...frames, result.samples], { count: gifCount, every: gifEvery })
      await write('denoising.gif', encodeGif(picked.map((x) => tileBatch(x, result.shape)), { delayMs: gifDelay }))
    }
    if (v['save-npy']) await write('samples.npy', writeNpy(result.samples, [batch, channels, height, width]))
    const summary = { model: model.info.onnxPath, provider: model.info.provider, sampler: sampler.sampler, steps: sampler.steps, seed, batch, height, width, elapsedMs: Math.round(result.elapsedMs), files }
    print(v.json ? summary : `${batch} image(s) in ${(result.elapsedMs / 1000).toFixed(2)} s on ${model.info.provider}:\n  ${files.join('\n  ')}`)
  } finally {
    await model.release()
  }
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { values, positionals } = parse(argv)
    const [command, ...rest] = positionals
    if (values.help || !command) {
      print(USAGE)
      return values.help ? 0 : 2
    }
    if (command === 'inspect') await inspect(values, rest)
    else if (command === 'schedule') scheduleCommand(values)
    else if (command === 'timesteps') timestepsCommand(values)
    else if (command === 'sample') await sampleCommand(values)
    else throw bad(`unknown command "${command}" (see --help)`)
    return 0
  } catch (e) {
    const err = e instanceof EngineError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')
      ? e as Error : undefined
    process.stderr.write(`stepwise: ${err ? err.message : toErrorData(e).message}\n`)
    return err ? 2 : 1
  }
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  process.exitCode = await main(process.argv.slice(2))
}
