/**
 * Stepwise's command line: parse arguments, call the engine, write files. Nothing the engine does not do.
 *   npm run -s cli -- inspect|schedule|timesteps|sample|compare|noise ...   (see README.md)
 */
import { mkdir, readFile } from 'node:fs/promises'
import { basename } from 'node:path'

import { compareCommand, noiseCommand } from './cli/explore'
import {
  bad,
  DEFAULT_GIF_FRAMES,
  fileWriter,
  int,
  oneOf,
  over,
  parse,
  print,
  progressPrinter,
  providersFrom,
  refuseExisting,
  runSettings,
  scheduleFrom,
  type Values,
} from './cli/options'
import { EngineError, toErrorData } from './engine/errors'
import { encodeGif, selectFrames } from './engine/export/gif'
import { encodePng } from './engine/export/png'
import { contactSheet, encodeSheetPng } from './engine/export/sheet'
import { tileBatch } from './engine/export/tile'
import { startFromImage } from './engine/forward'
import { imageForModel } from './engine/image-input'
import { defaultModelPath } from './engine/model/default-model'
import { type Denoiser, loadModel } from './engine/model/load'
import { defaultProviderOrder, unavailableReason } from './engine/model/providers'
import { trainingOf } from './engine/model/training'
import { readNpy, writeNpy } from './engine/npy'
import { type GenerationParameters, summarize } from './engine/parameters'
import { forkPoint, type RunRequest, runSampling, type RunStart, type StepFrame } from './engine/run'
import { spacedTimesteps } from './engine/samplers/common'
import { SAMPLERS, SPACINGS } from './engine/samplers/config'
import { makeSampler } from './engine/samplers/sampler'
import { DEFAULT_SCHEDULE, makeSchedule } from './engine/schedule'
import { imageOf } from './engine/tensor'

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

async function inspect(v: Values, positionals: string[]) {
  const path = positionals[0] ?? v.model ?? defaultModelPath()
  const model = await loadModel(path, { providers: providersFrom(v) })
  try {
    const t = trainingOf(model.info)
    const providers = defaultProviderOrder().map((p) => ({
      provider: p,
      available: !unavailableReason(p),
      reason: unavailableReason(p),
    }))
    const out = {
      ...model.info,
      training: t,
      metadataOrigin: model.info.metadata.origin,
      providersAvailable: providers,
    }
    if (v.json) return print(out)
    const s = model.info.signature
    const sig = (x: { name: string; dtype: string; shape: unknown[] }) => `${x.name} ${x.dtype} [${x.shape.join(', ')}]`
    print(
      [
        `${model.info.name}  (${model.info.layout}: ${model.info.onnxPath})`,
        `  image input     ${sig(s.image)}`,
        `  timestep input  ${sig(s.timestep)}`,
        s.classLabels
          ? `  class input     ${sig(s.classLabels)}  classes: ${t.classes?.names.join(' ')}  null class: ${t.classes?.nullClassId ?? 'none'}`
          : '  class input     none',
        `  output          ${sig(s.output)}${s.learnedVariance ? '  (learned variance: first half used)' : ''}`,
        `  size            ${t.size.width}x${t.size.height} (from ${t.size.from})`,
        `  training        ${t.schedule.schedule}, T=${t.schedule.trainSteps}, beta ${t.schedule.betaStart}..${t.schedule.betaEnd}, ${t.sampler.predictionType}`,
        `  from            ${
          Object.entries(model.info.metadata.origin)
            .map(([k, o]) => `${k}: ${o}`)
            .join(', ') || 'nothing'
        }`,
        t.assumed.length ? `  assumed         ${t.assumed.join(', ')} (no source gave them; defaults used)` : '',
        `  provider        ${model.info.provider}${model.info.skippedProviders.map((p) => `\n    skipped ${p.provider}: ${p.reason}`).join('')}`,
      ]
        .filter(Boolean)
        .join('\n'),
    )
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
  const timesteps = spacedTimesteps(
    int(v, 'train-steps', 1) ?? DEFAULT_SCHEDULE.trainSteps,
    steps,
    oneOf(v, 'spacing', SPACINGS) ?? 'leading',
    int(v, 'steps-offset') ?? 0,
  )
  print(v.json ? { timesteps } : timesteps.join(' '))
}

/** Run to the sample entering step `k` (then stop): a fork's starting point and its first frames. */
async function runUntil(
  model: Denoiser,
  req: RunRequest,
  k: number,
  keep: (f: StepFrame) => void,
): Promise<Float32Array> {
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
    if (fromStep === undefined && (v.then || v['init-image']))
      throw bad(`--${v.then ? 'then' : 'init-image'} needs --from-step`)
    if (v.then && v['init-image']) throw bad('--then (a fork) and --init-image cannot be combined')
    const first = runSettings(v, model)
    const settings = v.then
      ? {
          ...runSettings(over(v, v.then, '--then'), model),
          batch: first.batch,
          height: first.height,
          width: first.width,
          classLabel: first.classLabel,
        }
      : first
    const { sampler, batch, height, width, classLabel, guidance } = settings
    const schedule = makeSchedule(settings.schedule)
    const channels = model.info.signature.channels
    let initNoise: Float32Array | undefined
    if (v['init-noise']) initNoise = readNpy(new Uint8Array(await readFile(v['init-noise'])), v['init-noise']).data
    await mkdir(v.out, { recursive: true })
    await refuseExisting(v, [
      ...Array.from({ length: batch }, (_, k) => `seed-${seed + k}.png`),
      ...(v.sheet ? ['sheet.png'] : []),
      ...(v.gif ? ['denoising.gif'] : []),
      ...(v['save-npy'] ? ['samples.npy'] : []),
    ])
    const gifOf = oneOf(v, 'gif-of', ['xt', 'x0'] as const) ?? 'xt'
    const gifEvery = int(v, 'gif-every', 1)
    const gifCount = int(v, 'gif-count', 2) ?? (gifEvery ? undefined : DEFAULT_GIF_FRAMES)
    const gifDelay = int(v, 'gif-delay', 10)
    const frames: Float32Array[] = []
    const keepFrame = v.gif
      ? (f: StepFrame) => frames.push((gifOf === 'x0' ? f.predictedX0 : f.sample).slice())
      : () => {}
    const base = { seed, batch, height, width, classLabel, guidance, nullClassId: settings.nullClassId, initNoise }
    const parameters: GenerationParameters = {
      model: basename(modelPath),
      sampler,
      schedule: settings.schedule,
      seed,
      height,
      width,
      classLabel,
      guidance,
    }

    let start: RunStart | undefined
    if (fromStep !== undefined && v['init-image']) {
      const path = v['init-image']
      const image = imageForModel(
        new Uint8Array(
          await readFile(path).catch(() => {
            throw new EngineError('file-not-found', `${path}: no such file`)
          }),
        ),
        basename(path),
        { channels, height, width },
      )
      const timesteps = makeSampler(sampler, schedule).timesteps
      if (fromStep >= timesteps.length)
        throw bad(`--from-step: ${fromStep} is beyond the ${timesteps.length} steps of the run`)
      start = startFromImage(image.data, { batch, seed, timestep: timesteps[fromStep], schedule })
      parameters.fromImageAt = start.timestep
    } else if (fromStep !== undefined) {
      // The parent: the command's own settings, run to the fork step; the fork goes on with --then's.
      const parentSchedule = makeSchedule(first.schedule)
      const sample = await runUntil(
        model,
        { ...base, sampler: first.sampler, schedule: parentSchedule, guidance: first.guidance },
        fromStep,
        keepFrame,
      )
      start = { ...forkPoint({ sampler: first.sampler, schedule: parentSchedule }, fromStep), sample }
      parameters.forkedFrom = {
        step: fromStep,
        parameters: { ...parameters, sampler: first.sampler, schedule: first.schedule, guidance: first.guidance },
      }
    }
    const result = await runSampling(
      model,
      { ...base, sampler, schedule, start },
      { onStep: keepFrame, onProgress: progressPrinter(v) },
    )
    const { files, write } = fileWriter(v)
    const paramsFor = (k: number): GenerationParameters => ({ ...parameters, seed: seed + k })
    for (let k = 0; k < batch; k++) {
      const p = paramsFor(k)
      await write(
        `seed-${seed + k}.png`,
        encodePng(imageOf(result.samples, result.shape, k), { parameters: summarize(p), stepwise: p }),
      )
    }
    if (v.sheet) {
      const images = Array.from({ length: batch }, (_, k) => imageOf(result.samples, result.shape, k))
      await write(
        'sheet.png',
        encodeSheetPng(contactSheet(images, { scale: Math.max(1, Math.ceil(96 / width)) }), {
          parameters: summarize(paramsFor(0)),
          stepwise: { ...paramsFor(0), batch },
        }),
      )
    }
    if (v.gif) {
      // The last frame is the final sample, held (encodeGif's holdLastMs).
      const picked = selectFrames([...frames, result.samples], { count: gifCount, every: gifEvery })
      await write(
        'denoising.gif',
        encodeGif(
          picked.map((x) => tileBatch(x, result.shape)),
          { delayMs: gifDelay },
        ),
      )
    }
    if (v['save-npy']) await write('samples.npy', writeNpy(result.samples, [batch, channels, height, width]))
    const summary = {
      model: model.info.onnxPath,
      provider: model.info.provider,
      sampler: sampler.sampler,
      steps: sampler.steps,
      seed,
      batch,
      height,
      width,
      timesteps: result.timesteps,
      elapsedMs: Math.round(result.elapsedMs),
      files,
    }
    print(
      v.json
        ? summary
        : `${batch} image(s) in ${(result.elapsedMs / 1000).toFixed(2)} s on ${model.info.provider}:\n  ${files.join('\n  ')}`,
    )
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
    const err =
      e instanceof EngineError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? (e as Error) : undefined
    process.stderr.write(`stepwise: ${err ? err.message : toErrorData(e).message}\n`)
    return err ? 2 : 1
  }
}

if (process.argv[1] && import.meta.url.endsWith(basename(process.argv[1]))) {
  process.exitCode = await main(process.argv.slice(2))
}
