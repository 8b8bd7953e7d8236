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
import { noiseImage, previewNoise, startFromImage } from './engine/forward'
import { imageForModel } from './engine/image-input'
import type { Denoiser } from './engine/model/load'
import { type Progress, type RunRequest, type RunStart, type StepFrame, forkPoint, runSampling } from './engine/run'
import { makeSampler } from './engine/samplers/sampler'
import { compareLabels, encodeExport, type HeldRun } from './service/run-exports'
import { PREDICTION_TYPES, SAMPLERS, SPACINGS, type SamplerConfig, samplerWith } from './engine/samplers/config'
import { spacedTimesteps } from './engine/samplers/common'
import { DEFAULT_SCHEDULE, makeSchedule, parseScheduleName, SCHEDULES, type ScheduleConfig } from './engine/schedule'
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
  variant: { type: 'string', multiple: true }, index: { type: 'string' }, 'from-step': { type: 'string' }, then: { type: 'string' },
  'init-image': { type: 'string' }, t: { type: 'string' },
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
         [--sheet] [--save-npy] [--json] [--overwrite]
         [--from-step K [--then "name=value ..."] | --from-step K --init-image <png|jpg>]
           fork: run to step K, then go on with --then's settings (the same by default) and the same noise;
           with --init-image: noise the image to the sampler's K-th timestep and denoise from there (SDEdit)
  compare [<sample options>] --variant "name=value ..." --variant "..." [--index k] --out <dir> [--gif-of xt|x0] [--gif-count N]
           2 to 4 variants of one run from the same seed and noise: compare-seed-N.png and compare-xt-seed-N.gif
  noise <png|jpg> [--model <path>] [--t 0,100,...] [--schedule s[,s...]] [--seed n] --out <dir> [--json]
           forward noising q(x_t|x_0) of an image under each schedule, one noise: a sheet, alpha_bar and SNR`

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

/**
 * Settings given inside --then / --variant as "name=value" pairs of sample options ("sampler=ddpm
 * steps=100"), over the command's own: only what they name changes.
 */
function over(v: Values, extra: string | undefined, what: string): Values {
  if (!extra) return v
  const args = extra.trim().split(/\s+/).flatMap((pair) => {
    const m = /^([a-z-]+)=(.+)$/.exec(pair)
    if (!m) throw bad(`${what}: "${pair}" is not name=value (e.g. "sampler=ddpm steps=100")`)
    return [`--${m[1]}`, m[2]]
  })
  return { ...v, ...parse(args).values }
}

/** The settings sample options describe, over the model's training defaults. */
function runSettings(v: Values, model: Denoiser) {
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
function progressPrinter(v: Values, label = '') {
  const isTty = process.stderr.isTTY && !v.json
  return (p: Progress) => {
    if (v.json) process.stderr.write(JSON.stringify({ event: 'progress', ...p }) + '\n')
    else if (isTty) {
      const w = 30, done = Math.round((p.step / p.total) * w)
      process.stderr.write(`\r${label}[${'#'.repeat(done)}${'.'.repeat(w - done)}] ${p.step}/${p.total} t=${p.timestep} ${(p.elapsedMs / 1000).toFixed(1)}s`)
      if (p.step === p.total) process.stderr.write('\n')
    }
  }
}

/** Refuse before sampling, not after: nothing of an earlier run is touched, nothing is half-written. */
async function refuseExisting(v: Values, names: string[]) {
  if (v.overwrite) return
  for (const name of names) {
    if (await stat(join(v.out!, name)).then(() => true, () => false)) {
      throw new EngineError('file-exists', `${join(v.out!, name)} already exists; choose another --out or pass --overwrite`)
    }
  }
}

function fileWriter(v: Values) {
  const files: string[] = []
  const write = async (name: string, bytes: Uint8Array) => {
    const path = join(v.out!, name)
    await writeFileAtomic(path, bytes, { overwrite: v.overwrite })
    files.push(path)
  }
  return { files, write }
}

/** Run to the sample entering step `k` (then stop): a fork's starting point and its first frames. */
async function runUntil(model: Denoiser, req: RunRequest, k: number, keep: (f: StepFrame) => void): Promise<Float32Array> {
  const stop = new AbortController()
  let at: Float32Array | undefined
  try {
    await runSampling(model, req, {
      signal: stop.signal,
      onStep: (f) => {
        if (f.index === k) {
          at = f.sample.slice()
          stop.abort()
        } else keep(f)
      },
    })
  } catch (e) {
    if (!(e instanceof EngineError && e.code === 'cancelled')) throw e
  }
  if (!at) throw bad(`--from-step: ${k} is beyond the ${req.sampler.steps} steps of the run`)
  return at
}

async function sampleCommand(v: Values) {
  if (!v.out) throw bad('--out <dir> is required')
  const modelPath = v.model ?? defaultModelPath()
  const model = await loadModel(modelPath, { providers: providersFrom(v) })
  try {
    const seed = int(v, 'seed') ?? Math.floor(Math.random() * 2 ** 31)
    const fromStep = int(v, 'from-step')
    if (fromStep === undefined && (v.then || v['init-image'])) throw bad(`--${v.then ? 'then' : 'init-image'} needs --from-step`)
    if (v.then && v['init-image']) throw bad('--then (a fork) and --init-image cannot be combined')
    const first = runSettings(v, model)
    const settings = v.then ? { ...runSettings(over(v, v.then, '--then'), model), batch: first.batch, height: first.height, width: first.width, classLabel: first.classLabel } : first
    const { sampler, batch, height, width, classLabel, guidance } = settings
    const schedule = makeSchedule(settings.schedule)
    const channels = model.info.signature.channels
    let initNoise: Float32Array | undefined
    if (v['init-noise']) initNoise = readNpy(new Uint8Array(await readFile(v['init-noise'])), v['init-noise']).data
    await mkdir(v.out, { recursive: true })
    await refuseExisting(v, [
      ...Array.from({ length: batch }, (_, k) => `seed-${seed + k}.png`),
      ...(v.sheet ? ['sheet.png'] : []), ...(v.gif ? ['denoising.gif'] : []), ...(v['save-npy'] ? ['samples.npy'] : []),
    ])
    const gifOf = oneOf(v, 'gif-of', ['xt', 'x0'] as const) ?? 'xt'
    const gifEvery = int(v, 'gif-every', 1)
    const gifCount = int(v, 'gif-count', 2) ?? (gifEvery ? undefined : DEFAULT_GIF_FRAMES)
    const gifDelay = int(v, 'gif-delay', 10)
    const frames: Float32Array[] = []
    const keepFrame = v.gif ? (f: StepFrame) => frames.push((gifOf === 'x0' ? f.predictedX0 : f.sample).slice()) : () => {}
    const base = { seed, batch, height, width, classLabel, guidance, nullClassId: settings.nullClassId, initNoise }
    const parameters: GenerationParameters = { model: basename(modelPath), sampler, schedule: settings.schedule, seed, height, width, classLabel, guidance }

    let start: RunStart | undefined
    if (fromStep !== undefined && v['init-image']) {
      const path = v['init-image']
      const image = imageForModel(new Uint8Array(await readFile(path).catch(() => { throw new EngineError('file-not-found', `${path}: no such file`) })), basename(path), { channels, height, width })
      const timesteps = makeSampler(sampler, schedule).timesteps
      if (fromStep >= timesteps.length) throw bad(`--from-step: ${fromStep} is beyond the ${timesteps.length} steps of the run`)
      start = startFromImage(image.data, { batch, seed, timestep: timesteps[fromStep], schedule })
      parameters.fromImageAt = start.timestep
    } else if (fromStep !== undefined) {
      // The parent: the command's own settings, run to the fork step; the fork goes on with --then's.
      const parentSchedule = makeSchedule(first.schedule)
      const sample = await runUntil(model, { ...base, sampler: first.sampler, schedule: parentSchedule, guidance: first.guidance }, fromStep, keepFrame)
      start = { ...forkPoint({ sampler: first.sampler, schedule: parentSchedule }, fromStep), sample }
      parameters.forkedFrom = { step: fromStep, parameters: { ...parameters, sampler: first.sampler, schedule: first.schedule, guidance: first.guidance } }
    }
    const result = await runSampling(model, { ...base, sampler, schedule, start }, { onStep: keepFrame, onProgress: progressPrinter(v) })
    const { files, write } = fileWriter(v)
    const paramsFor = (k: number): GenerationParameters => ({ ...parameters, seed: seed + k })
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
    const summary = {
      model: model.info.onnxPath, provider: model.info.provider, sampler: sampler.sampler, steps: sampler.steps, seed, batch, height, width,
      timesteps: result.timesteps, elapsedMs: Math.round(result.elapsedMs), files,
    }
    print(v.json ? summary : `${batch} image(s) in ${(result.elapsedMs / 1000).toFixed(2)} s on ${model.info.provider}:\n  ${files.join('\n  ')}`)
  } finally {
    await model.release()
  }
}

/** 2 to 4 variants of one run, from the same seed (the same x_T and noise), side by side. */
async function compareCommand(v: Values) {
  if (!v.out) throw bad('--out <dir> is required')
  const variants = v.variant ?? []
  if (variants.length < 2 || variants.length > 4) throw bad(`--variant: give 2 to 4 variants, got ${variants.length}`)
  const modelPath = v.model ?? defaultModelPath()
  const model = await loadModel(modelPath, { providers: providersFrom(v) })
  try {
    const seed = int(v, 'seed') ?? Math.floor(Math.random() * 2 ** 31)
    const index = int(v, 'index') ?? 0
    const settings = variants.map((text) => runSettings(over(v, text, '--variant'), model))
    const { batch, height, width, classLabel } = settings[0]
    if (index >= batch) throw bad(`--index: ${index} is outside the batch of ${batch}`)
    const gifOf = oneOf(v, 'gif-of', ['xt', 'x0'] as const) ?? 'xt'
    const request = { runId: 'variant-0', with: settings.slice(1).map((_, i) => `variant-${i + 1}`), index, gifOf, gifFrames: int(v, 'gif-count', 2), gifDelayMs: int(v, 'gif-delay', 10) }
    await mkdir(v.out, { recursive: true })
    await refuseExisting(v, [`compare-seed-${seed + index}.png`, `compare-${gifOf}-seed-${seed + index}.gif`])
    const runs: HeldRun[] = []
    for (const [i, s] of settings.entries()) {
      const frames: HeldRun['frames'] = []
      const schedule = makeSchedule(s.schedule)
      // Batch, size and class are the first variant's: the runs differ only in how they sample.
      const result = await runSampling(model, { ...s, batch, height, width, classLabel, seed, schedule }, {
        onStep: (f) => frames.push({ sample: f.sample.slice(), predictedX0: f.predictedX0.slice() }),
        onProgress: progressPrinter(v, `variant ${i + 1}/${settings.length} `),
      })
      runs.push({
        parameters: { model: basename(modelPath), sampler: s.sampler, schedule: s.schedule, seed, height, width, classLabel, guidance: s.guidance },
        shape: result.shape, frames, samples: result.samples, bytes: 0, modelKey: modelPath, timesteps: result.timesteps,
      })
    }
    const { files, write } = fileWriter(v)
    for (const kind of ['compare-sheet', 'compare-gif'] as const) {
      for (const f of encodeExport(runs, { ...request, kind })) await write(f.name, f.bytes)
    }
    const summary = { seed, index, variants: compareLabels(runs.map((r) => r.parameters)), files }
    print(v.json ? summary : `${runs.length} variants of seed ${seed + index}: ${summary.variants.join(' | ')}\n  ${files.join('\n  ')}`)
  } finally {
    await model.release()
  }
}

/** The timesteps a forward-noising preview shows when --t is not given. */
const DEFAULT_NOISE_TIMESTEPS = [0, 50, 100, 250, 500, 750, 999]

/** Forward noising of an image under each schedule with one noise: a sheet and the alpha_bar / SNR table. */
async function noiseCommand(v: Values, positionals: string[]) {
  const path = positionals[0]
  if (!path) throw bad('noise: give an image (PNG or JPEG)')
  if (!v.out) throw bad('--out <dir> is required')
  const model = await loadModel(v.model ?? defaultModelPath(), { providers: providersFrom(v) })
  try {
    const t = trainingOf(model.info)
    const size = { channels: model.info.signature.channels, height: t.size.height, width: t.size.width }
    const bytes = await readFile(path).catch(() => { throw new EngineError('file-not-found', `${path}: no such file`) })
    const x0 = imageForModel(new Uint8Array(bytes), basename(path), size).data
    const T = t.schedule.trainSteps
    const timesteps = v.t === undefined ? DEFAULT_NOISE_TIMESTEPS.map((s) => Math.min(s, T - 1)) : v.t.split(',').map((s) => {
      const n = Number(s)
      if (s === '' || !Number.isInteger(n) || n < 0 || n >= T) throw bad(`--t: "${s}" is not a timestep in [0, ${T - 1}]`)
      return n
    })
    const schedules = v.schedule === undefined ? SCHEDULES.filter((s) => s !== 'scaled_linear') : v.schedule.split(',').map((s) => {
      const name = parseScheduleName(s)
      if (!name) throw bad(`--schedule: "${s}" is not one of ${SCHEDULES.join(', ')}`)
      return name
    })
    const seed = int(v, 'seed') ?? 0
    const noise = previewNoise(x0.length, seed)
    const rows = schedules.map((schedule) => ({ schedule, frames: noiseImage(x0, noise, makeSchedule({ ...t.schedule, schedule }), timesteps) }))
    const name = `noise-${basename(path).replace(/\.[^.]+$/, '')}.png`
    await mkdir(v.out, { recursive: true })
    await refuseExisting(v, [name])
    const sheet = contactSheet(rows.flatMap((r) => r.frames.map((f) => ({ ...size, data: f.sample }))), {
      columns: timesteps.length, rowLabels: schedules, columnLabels: timesteps.map((s) => `t=${s}`), scale: Math.max(1, Math.ceil(64 / size.width)),
    })
    const { files, write } = fileWriter(v)
    await write(name, encodeSheetPng(sheet, { parameters: `forward noising of ${basename(path)}, seed: ${seed}, T=${T}`, stepwise: { noise: { image: basename(path), seed, timesteps, schedules } } }))
    const table = rows.map((r) => ({ schedule: r.schedule, alphaBar: r.frames.map((f) => f.alphaBar), snr: r.frames.map((f) => f.snr) }))
    if (v.json) return print({ timesteps, rows: table, files })
    const cell = (x: number) => (x >= 0.01 || x === 0 ? x.toFixed(3) : x.toExponential(1)).padStart(9)
    print([
      `${'t'.padEnd(14)}${timesteps.map((s) => String(s).padStart(9)).join('')}`,
      ...table.flatMap((r) => [`${(r.schedule + ' ab').padEnd(14)}${r.alphaBar.map(cell).join('')}`, `${(r.schedule + ' snr').padEnd(14)}${r.snr.map(cell).join('')}`]),
      `  ${files.join('\n  ')}`,
    ].join('\n'))
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
    else if (command === 'compare') await compareCommand(values)
    else if (command === 'noise') await noiseCommand(values, rest)
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
