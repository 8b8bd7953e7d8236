/**
 * Stepwise's command line: parse arguments, call the engine, write files. Nothing the engine does not do.
 *   npm run -s cli -- inspect|schedule|timesteps|sample|compare|noise|fit-timesteps ...   (see README.md)
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'

import { FIT_BATCH } from '../src-shared/fit'
import { CHECKPOINT_WEIGHTS, sourceLabel } from '../src-shared/model'
import { GIF_VIEWS, NAMED_SCHEDULES, SAMPLER_INFO, samplerReads, SAMPLERS } from '../src-shared/names'
import { DEFAULT_SCHEDULE, defaultRun } from '../src-shared/parameters'
import { compareCommand, noiseCommand } from './cli/explore'
import { fitCommand } from './cli/fit'
import { inspectCommand, modelNotes } from './cli/inspect'
import { SAMPLER_OPTION_ROWS } from './cli/option-table'
import {
  bad,
  fileWriter,
  generationFrom,
  gifOptionsFrom,
  int,
  loadOptionsFrom,
  over,
  parse,
  print,
  progressPrinter,
  refuseExisting,
  samplerSettingsFrom,
  scaleFrom,
  scheduleSettingsFrom,
  type Values,
} from './cli/options'
import { EngineError, toErrorData } from './engine/errors'
import { encodeExport, exportFileNames } from './engine/export/runs'
import { ensureFolder, writeFileAtomic } from './engine/files'
import { imageForModel } from './engine/image-input'
import { defaultModelPath } from './engine/model/default-model'
import { modelName, openModel } from './engine/model/formats'
import { type Denoiser, loadModel } from './engine/model/load'
import { mergeMetadata, withOnnxMetadata } from './engine/model/metadata'
import { readNpy, writeNpy } from './engine/npy'
import {
  modelFacts,
  type PlanRequest,
  planRun,
  requestedSampler,
  type RunPlan,
  scheduleWith,
  shapeOf,
} from './engine/plan'
import { runSampling } from './engine/run'
import { makeSampler } from './engine/samplers/sampler'
import { makeSchedule } from './engine/schedule'
import { finishTimeline, recordStep, startTimeline, type Timeline } from './engine/timeline'

/** One line a sampler option of the table: its flag, its values, the samplers that read it. */
const samplerOptionsUsage = SAMPLER_OPTION_ROWS.map(
  (r) => `           --${`${r.flag} ${r.values}`.padEnd(46)} ${r.readers}`,
).join('\n')

const USAGE = `usage: stepwise <command> [options]
  inspect [<model>] [--weights ${CHECKPOINT_WEIGHTS.join('|')}] [--json]
  convert <model> --out model.onnx [--weights ${CHECKPOINT_WEIGHTS.join('|')}] [--overwrite]
           the ONNX graph Stepwise runs for a model (a diffusers folder, weights file or lucidrains checkpoint
           built into one), with its training config as stepwise.* metadata: one file to share
           --weights: a lucidrains checkpoint's EMA weights (the default, what its Trainer samples with) or online ones
  schedule --schedule ${NAMED_SCHEDULES.join('|')} [--train-steps T] [--beta-start x] [--beta-end y] --json
  timesteps [--model <path>] [--sampler ${SAMPLERS.join('|')}] --steps N [<sampler options>] [--train-steps T] [--json]
           one timestep a step, and the timestep of every model call; the model's schedule and defaults with --model
  sample [--model <path>] [--sampler ${SAMPLERS.join('|')}] [--steps N] [<sampler options>] [--schedule s] [--train-steps T]
         [--beta-start x] [--beta-end y] [--seed n] [--batch n] [--variation-strength s] [--variation-seed n] [--walk]
         [--class k] [--height h] [--width w] [--guidance g] [--guidance-rescale phi] [--apg-eta e] [--apg-norm-threshold r] [--apg-momentum b]
         [--init-noise x.npy] [--channels C] [--provider p[,p...]] [--weights ${CHECKPOINT_WEIGHTS.join('|')}] --out <dir> [--gif] [--apng] [--gif-of ${GIF_VIEWS.join('|')}] [--gif-count N | --gif-every k] [--gif-delay ms]
         [--sheet] [--steps-sheet] [--scale 1-16] [--save-npy] [--json] [--overwrite]
         [--from-step K [--then "name=value ..."] | --from-step K --init-image <png|jpg>]
           fork: run to step K, then go on with --then's settings (the same by default) and the same noise;
           with --init-image: noise the image to the sampler's K-th timestep and denoise from there (SDEdit)
           --variation-strength: every image from --seed's noise moved toward --variation-seed + k's (random if
           not given) by s, 0-1, along the great circle between them (A1111's variation seed); --walk: image k
           toward the variation seed itself by s k / (batch - 1) (s: 1 unless given), and walk-seed-S-to-V.gif
           --apg-eta, --apg-norm-threshold: adaptive projected guidance (APG): the guidance update's part along
           the conditional output kept at e (0 unless given; 1 is plain guidance), its norm limited to r (0: none);
           --apg-momentum b: a running sum of the updates in their place, each plus b times the sum so far (-0.5)
           --steps-sheet: steps-seed-N.png for each image, its x_t, predicted x0 and predicted noise at 10 steps
           (or --gif-count N, --gif-every k), a column a step
           --guidance, --guidance-rescale, --apg-eta left out: the model's own where it states them (its
           guidance_scale, guidance_rescale, apg_eta), else 1, 0 and no APG
         sampler options (diffusers' config under its names; a sampler ignores those it does not read;
         left out, they come from the model's config, else diffusers' default for the sampler):
${samplerOptionsUsage}
  compare [<sample options>] --variant "name=value ..." --variant "..." [--index k] --out <dir> [--gif-of ${GIF_VIEWS.join('|')}] [--gif-count N]
           2 to 4 variants of one run from the same seed and noise: compare-seed-N.png and compare-xt-seed-N.gif
  noise <png|jpg> [--model <path>] [--t 0,100,...] [--schedule s[,s...]] [--seed n] --out <dir> [--json]
           forward noising q(x_t|x_0) of an image under each schedule, one noise: a sheet, alpha_bar and SNR
  fit-timesteps [--model <path>] [--sampler s] [--steps N] [<sampler options>] [--seed n] [--batch n] [--class k] [--guidance g]
                [--guidance-rescale phi] [--json]
           the timesteps where a deterministic solver with timesteps of its own (${SAMPLERS.filter((s) => samplerReads(s, 'timesteps')).join(', ')})
           lands closest to the ODE's solution on this model (RMS to DPM++ 3M at every timestep from the same x_T,
           on the probe batch, ${FIT_BATCH} by default): a few minutes on a small model; Ctrl-C stops with the best
           so far; sample with --timesteps
  samplers: ${SAMPLERS.map((s) => `${s} (${SAMPLER_INFO[s].label}, ${SAMPLER_INFO[s].defaultSteps} steps)`).join(', ')}`

/** Batch, channels and size from an --init-noise array [B, C, H, W], where the options leave them out. */
function shapeFromNoise(v: Values, shape: number[] | undefined) {
  const channels = int(v, 'channels', 1)
  if (!shape) return { channels }
  if (shape.length !== 4)
    throw bad(`--init-noise: the array is [${shape.join(', ')}]; expected [batch, channels, height, width]`)
  const [batch, c, height, width] = shape
  return {
    ...(v.batch === undefined && { batch }),
    ...(v.height === undefined && { height }),
    ...(v.width === undefined && { width }),
    channels: channels ?? c,
  }
}

/** Write the ONNX graph Stepwise runs for a model, its resolved training config as stepwise.* metadata. */
async function convertCommand(v: Values, positionals: string[]) {
  const path = positionals[0] ?? v.model
  if (!path) throw bad('convert: which model? (convert <model> --out model.onnx)')
  if (!v.out) throw bad('convert: --out model.onnx is required')
  // Not from the cache: there the weights lie in a file of their own; the shared file holds them inline.
  const opened = await openModel(path, { weights: loadOptionsFrom(v).weights })
  const onnx = typeof opened.onnx === 'string' ? await readInput(opened.onnx) : opened.onnx
  const values = mergeMetadata(opened.sources).values
  const bytes = withOnnxMetadata(onnx, {
    ...values,
    name: modelName(opened, values.name),
    ...(opened.signature.sizeMultiple && { size_multiple: opened.signature.sizeMultiple }),
  })
  await writeFileAtomic(v.out, bytes, { overwrite: v.overwrite })
  const what = `${sourceLabel(opened.source)}${opened.source.parameters !== undefined ? `, ${opened.source.parameters.toLocaleString('en-US')} parameters` : ''}`
  print(
    v.json
      ? { model: path, out: v.out, bytes: bytes.length, format: opened.source.format }
      : `${v.out}: ${what} (${bytes.length} bytes)`,
  )
}

function scheduleCommand(v: Values) {
  const sched = makeSchedule(scheduleWith(DEFAULT_SCHEDULE, scheduleSettingsFrom(v)))
  print({ betas: Array.from(sched.betas), alphas_cumprod: Array.from(sched.alphasCumprod) })
}

/**
 * A run's timesteps, one a step as diffusers' `scheduler.timesteps`, and the timestep of every model call
 * (Heun, DPM2 and PNDM's warm-up call the model more than once a step). With --model, the model's own
 * schedule and default sampler; without, a named sampler's diffusers defaults (else the default run) on
 * the default schedule.
 */
async function timestepsCommand(v: Values) {
  const steps = int(v, 'steps', 1)
  if (steps === undefined) throw bad('--steps is required')
  let own: ReturnType<typeof makeSampler>
  if (v.model) {
    const model = await loadModel(v.model, loadOptionsFrom(v))
    try {
      const { run } = planRun(modelFacts(model.info), generationFrom(v))
      own = makeSampler(run.sampler, run.schedule)
    } finally {
      await model.release()
    }
  } else {
    const sampler = requestedSampler(
      { sampler: defaultRun({}), samplerOptions: {} },
      { ...samplerSettingsFrom(v), steps },
    )
    const trainSteps = int(v, 'train-steps', 1) ?? DEFAULT_SCHEDULE.trainSteps
    own = makeSampler(sampler, makeSchedule({ ...DEFAULT_SCHEDULE, trainSteps }))
  }
  const calls = own.timesteps.flatMap((_, i) => Array.from({ length: own.callsAt(i) }, (_, c) => own.timestepAt(i, c)))
  const { timesteps } = own
  print(v.json ? { timesteps, calls } : `${timesteps.join(' ')}\nmodel calls (${calls.length}): ${calls.join(' ')}`)
}

/** Run a plan to the sample entering step `k`, then stop: a fork's parent, its first k + 1 steps kept. */
async function runUntil(model: Denoiser, plan: RunPlan, k: number): Promise<Timeline> {
  const timeline = startTimeline(plan)
  const stop = new AbortController()
  try {
    await runSampling(model, plan.run, {
      signal: stop.signal,
      onStep: (f) => {
        recordStep(timeline, f)
        if (f.index === k) stop.abort()
      },
    })
  } catch (e) {
    if (!(e instanceof EngineError && e.code === 'cancelled')) throw e
  }
  if (timeline.frames.length <= k)
    throw bad(`--from-step: ${k} is beyond the ${plan.timesteps.length} steps of the run`)
  return timeline
}

async function readInput(path: string): Promise<Uint8Array> {
  return new Uint8Array(
    await readFile(path).catch(() => {
      throw new EngineError('file-not-found', `${path}: no such file`)
    }),
  )
}

async function sampleCommand(v: Values) {
  if (!v.out) throw bad('--out <dir> is required')
  const fromStep = int(v, 'from-step')
  if (fromStep === undefined && (v.then || v['init-image']))
    throw bad(`--${v.then ? 'then' : 'init-image'} needs --from-step`)
  if (v.then && v['init-image']) throw bad('--then (a fork) and --init-image cannot be combined')
  const model = await loadModel(v.model ?? defaultModelPath(), loadOptionsFrom(v))
  try {
    const facts = modelFacts(model.info)
    const noisePath = v['init-noise']
    const noise = noisePath ? readNpy(await readInput(noisePath), noisePath) : undefined
    const request = { ...generationFrom(v, facts.training.guidance), ...shapeFromNoise(v, noise?.shape) }
    const initNoise = noise?.data
    // The plain run (a fork's parent): its seed and batch name the files, checked before anything runs.
    const first = planRun(facts, { ...request, initNoise })
    const exports = [
      { kind: 'png' as const },
      ...(v.sheet ? [{ kind: 'sheet' as const }] : []),
      ...(v['steps-sheet'] ? [{ kind: 'steps-sheet' as const, ...gifOptionsFrom(v) }] : []),
      ...(v.gif ? [{ kind: 'gif' as const, ...gifOptionsFrom(v) }] : []),
      ...(v.apng ? [{ kind: 'apng' as const, ...gifOptionsFrom(v) }] : []),
      ...(first.parameters.variation?.walk ? [{ kind: 'walk-gif' as const, ...gifOptionsFrom(v) }] : []),
    ].map((e) => ({ ...e, ...scaleFrom(v), runId: 'cli' }))
    const npy = v['save-npy'] ? ['samples.npy'] : []
    await ensureFolder(v.out)
    await refuseExisting(v, [...exports.flatMap((e) => exportFileNames(e, first.parameters, request.batch)), ...npy])

    let plan = first
    let parent: Timeline | undefined
    if (fromStep !== undefined && v['init-image']) {
      const path = v['init-image']
      const image = imageForModel(await readInput(path), basename(path), shapeOf(facts, request)).data
      plan = planRun(facts, { ...request, fromImage: { image, step: fromStep } })
    } else if (fromStep !== undefined) {
      // The parent runs to the fork step with the command's settings; the fork goes on with --then's.
      parent = await runUntil(model, first, fromStep)
      const fork: PlanRequest = {
        ...generationFrom(over(v, v.then, '--then'), facts.training.guidance),
        channels: request.channels,
        fork: { step: fromStep },
      }
      plan = planRun(facts, fork, parent)
    }
    const timeline = startTimeline(plan, parent)
    const result = await runSampling(model, plan.run, {
      onStep: (f) => recordStep(timeline, f),
      onProgress: progressPrinter(v),
    })
    finishTimeline(timeline, result.samples)
    const { files, write } = fileWriter(v)
    for (const e of exports) for (const f of encodeExport([timeline], e)) await write(f.name, f.bytes)
    if (npy.length) {
      const { batch, channels, height, width } = plan.shape
      await write('samples.npy', writeNpy(result.samples, [batch, channels, height, width]))
    }
    // After the run, so that an error stays the one line it is.
    const notes = modelNotes(model.info, facts.training, request)
    if (!v.json) for (const note of notes) process.stderr.write(`stepwise: note: ${note}\n`)
    const { sampler, seed, variation } = plan.parameters
    const summary = {
      model: model.info.onnxPath || model.info.path,
      provider: model.info.provider,
      sampler: sampler.sampler,
      steps: sampler.steps,
      seed,
      ...(variation && { variation }),
      ...plan.shape,
      timesteps: result.timesteps,
      elapsedMs: Math.round(result.elapsedMs),
      files,
      notes,
    }
    const took = `${plan.shape.batch} image(s) in ${(result.elapsedMs / 1000).toFixed(2)} s on ${model.info.provider}`
    print(v.json ? summary : `${took}:\n  ${files.join('\n  ')}`)
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
    if (command === 'inspect') await inspectCommand(values, rest)
    else if (command === 'convert') await convertCommand(values, rest)
    else if (command === 'schedule') scheduleCommand(values)
    else if (command === 'timesteps') await timestepsCommand(values)
    else if (command === 'sample') await sampleCommand(values)
    else if (command === 'compare') await compareCommand(values)
    else if (command === 'noise') await noiseCommand(values, rest)
    else if (command === 'fit-timesteps') await fitCommand(values)
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
