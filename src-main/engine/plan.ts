/**
 * The one planner: what a request means for a model. From the model's facts, a request (over the model's
 * training defaults) and, for a fork, the run it continues, to the run the sampling loop executes, the
 * parameters its images record and every step's timestep. The CLI and the service call this and plan
 * nothing themselves, so the same request gives the same parameters wherever it is made.
 */
import { optionProblem, optionsOf, SAMPLER_OPTIONS, type SamplerName, samplerReads } from '../../src-shared/names'
import {
  type Apg,
  configOf,
  type GenerationParameters,
  type GenerationRequest,
  type SamplerConfig,
  type SamplerSettings,
  type ScheduleConfig,
  type ScheduleSettings,
  type Shape,
} from '../../src-shared/parameters'
import { checkRequest } from './checks'
import { EngineError } from './errors'
import { startFromImage } from './forward'
import type { ModelInfo } from './model/load'
import { channelsOf, classLabelProblem, type Training, trainingOf } from './model/training'
import type { RunRequest, RunStart } from './run'
import { makeSampler } from './samplers/sampler'
import { makeSchedule } from './schedule'
import { imageSize } from './tensor'
import { forkStart, type Timeline } from './timeline'

/** What a plan needs to know of the model. */
export interface ModelFacts {
  name: string
  /** Its weights file's model hash, recorded in the parameters of its runs. */
  hash?: string
  /** Fixed in the graph, else the metadata's in_channels; undefined when neither gives them. */
  channels?: number
  training: Training
  /** The height and width the graph fixes (undefined where dynamic), and what dynamic ones are multiples of. */
  graph: { height?: number; width?: number; sizeMultiple?: number }
}

export const modelFacts = (info: ModelInfo): ModelFacts => ({
  name: info.name,
  ...(info.hash && { hash: info.hash }),
  channels: channelsOf(info),
  training: trainingOf(info),
  graph: { height: info.signature.height, width: info.signature.width, sizeMultiple: info.signature.sizeMultiple },
})

export interface PlanRequest extends GenerationRequest {
  /**
   * Continue the parent run (passed beside the request) from its step `step`: x_t entering that step,
   * with its seed, batch, size, class and noise, so a fork with the parent's own settings reproduces it.
   */
  fork?: { step: number }
  /**
   * Denoise an image (SDEdit): float32 [channels, height, width] in [-1, 1], noised with each image's
   * seed to `timestep`, or to the sampler's own timestep at `step`; every image of the batch starts there.
   */
  fromImage?: { image: Float32Array; timestep: number } | { image: Float32Array; step: number }
  /** x_T for the whole batch instead of seeded noise (e.g. from a .npy file). */
  initNoise?: Float32Array
  /** The image channels, for a model whose graph leaves them dynamic and whose metadata does not say. */
  channels?: number
}

export interface RunPlan {
  /** What runSampling executes. */
  run: RunRequest
  /** What the images record (PNG parameters), and what sample.start answers. */
  parameters: GenerationParameters
  shape: Shape
  /** Every step's timestep; a fork's first `startStep` are its parent's. */
  timesteps: number[]
  /** The first step this run computes (the steps before it are its parent's); 0 unless forked. */
  startStep: number
}

const bad = (message: string) => new EngineError('bad-argument', message)

const given = <T extends object>(over: T | undefined): Partial<T> =>
  Object.fromEntries(Object.entries(over ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>

/**
 * Sampler settings over a base (the model's training config: the options it states, and the sampler it
 * samples with by default). The chosen sampler reads each of its options from the settings, else the base,
 * else diffusers' default for it (SAMPLER_INFO), as diffusers' `from_config` carries a config across
 * schedulers; steps default to the chosen sampler's own. Values a sampler does not take are refused.
 */
export function samplerWith(
  base: SamplerSettings & { sampler: SamplerName },
  over: SamplerSettings = {},
): SamplerConfig {
  const settings = given(over)
  const sampler = settings.sampler ?? base.sampler
  const own = samplerReads(sampler, 'timesteps') ? (settings.timesteps ?? base.timesteps) : undefined
  // Timesteps of one's own are the steps: their count unless steps are given (then they must agree).
  const steps = settings.steps ?? (own?.length ? own.length : undefined)
  const config = configOf(sampler, { ...base, ...settings, steps })
  for (const option of optionsOf(sampler)) {
    const problem = optionProblem(sampler, option, config[option as keyof typeof config])
    const value = String(config[option as keyof typeof config])
    if (problem) throw bad(`${sampler}: ${option} (--${SAMPLER_OPTIONS[option].flag}) ${value}: ${problem}`)
  }
  return config
}

/**
 * The sampler a request gets on a model: with no sampler named, the model's default run (DPM++ 2M Karras for
 * most: defaultRun) under the request's settings; a named sampler, dpmpp-2m too, starts from its own diffusers
 * defaults over the options the model states.
 */
export function requestedSampler(
  t: Pick<Training, 'sampler' | 'samplerOptions'>,
  over: SamplerSettings = {},
): SamplerConfig {
  const named = over.sampler
  return samplerWith(named ? { ...t.samplerOptions, sampler: named } : t.sampler, over)
}

export const scheduleWith = (base: ScheduleConfig, over: ScheduleSettings = {}): ScheduleConfig => ({
  ...base,
  ...given(over),
})

/** The images a request makes: its batch, the model's channels (or the request's), its size or the model's. */
export function shapeOf(model: ModelFacts, req: GenerationRequest & { channels?: number }): Shape {
  if (model.channels !== undefined && req.channels !== undefined && req.channels !== model.channels)
    throw bad(`channels: ${model.name} takes ${model.channels}, not ${req.channels}`)
  const channels = model.channels ?? req.channels
  if (channels === undefined)
    throw bad(
      `${model.name}: the graph leaves the channel count open and no metadata gives in_channels; give the channels (--channels, or an --init-noise array)`,
    )
  return {
    batch: req.batch,
    channels,
    height: req.height ?? model.training.size.height,
    width: req.width ?? model.training.size.width,
  }
}

/** APG as recorded: a momentum of 0 is none, and left out. */
const apgOf = ({ momentum, ...apg }: Apg): Apg => (momentum ? { ...apg, momentum } : apg)

export function planRun(model: ModelFacts, req: PlanRequest, parent?: Timeline): RunPlan {
  const t = model.training
  if (req.fork && req.fromImage) throw bad('a fork cannot also start from an image')
  if (req.fork && !parent) throw bad('fork: the run to continue is missing')
  const sampler = requestedSampler(t, req.sampler)
  const scheduleConfig = scheduleWith(t.schedule, req.schedule)
  const schedule = makeSchedule(scheduleConfig, t.alphasCumprod)
  // A fork keeps its parent's seed, variation, batch, size and class: it continues those images.
  const seed = parent ? parent.parameters.seed : req.seed
  // A strength of 0 is no variation, and recorded as none.
  const variation = parent ? parent.parameters.variation : req.variation?.strength ? req.variation : undefined
  if (variation && req.initNoise) throw bad('variation: it moves the seeded noise, and --init-noise gives its own')
  const classLabel = parent ? parent.parameters.classLabel : req.classLabel
  const shape = parent?.shape ?? shapeOf(model, req)
  const classProblem = classLabel === undefined ? undefined : classLabelProblem(t, classLabel, model.name)
  if (classProblem) throw bad(`class: ${classProblem}`)
  const guided = req.guidance !== undefined && req.guidance !== 1
  checkRequest(
    { name: model.name, graph: model.graph, trainedSize: t.size, trainSteps: scheduleConfig.trainSteps },
    {
      shape,
      seed,
      variation,
      sampler,
      guided: guided && t.classes !== undefined,
      guidanceRescale: req.guidanceRescale,
      apg: req.apg,
    },
  )
  // The null class is no class: recorded as none, so a PNG says nothing of "class 10" (the run gets it anyway).
  const recordedClass = classLabel === t.classes?.nullClassId ? undefined : classLabel
  const parameters: GenerationParameters = {
    model: model.name,
    ...(model.hash && { modelHash: model.hash }),
    sampler,
    schedule: scheduleConfig,
    seed,
    ...(variation && { variation }),
    height: shape.height,
    width: shape.width,
    ...(recordedClass !== undefined && { classLabel: recordedClass }),
    ...(req.guidance !== undefined && { guidance: req.guidance }),
    // Where the run is guided: a rescale or a projection of an unguided one would change nothing (nor would
    // APG at eta 1 without a threshold).
    ...(guided && req.guidanceRescale && { guidanceRescale: req.guidanceRescale }),
    ...(guided &&
      req.apg &&
      (req.apg.eta !== 1 || req.apg.normThreshold > 0 || req.apg.momentum) && { apg: apgOf(req.apg) }),
  }

  let start: RunStart | undefined
  let startStep = 0
  if (req.fork && parent) {
    const { step } = req.fork
    // The parent's x_t at the step, its noise so far and its sampler's state (a multistep history).
    start = forkStart(parent, step)
    startStep = step
    parameters.forkedFrom = { step, parameters: parent.parameters }
  } else if (req.fromImage) {
    const { image } = req.fromImage
    const per = imageSize(shape)
    if (image.length !== per) {
      throw bad(`image: it has ${image.length} values; ${shape.channels}x${shape.height}x${shape.width} needs ${per}`)
    }
    let at: { timestep: number; alphaBar?: number; sigma?: number }
    if ('step' in req.fromImage) {
      // The sampler's own step: its timestep and noise level (a sigma-space sampler's sigma need not be a
      // training timestep's), so the run is the tail of the sampler's full run.
      const own = makeSampler(sampler, schedule)
      const { step } = req.fromImage
      if (!Number.isInteger(step) || step < 0 || step >= own.timesteps.length) {
        throw bad(`image: step ${step} is outside the ${own.timesteps.length} steps of the run`)
      }
      at = { timestep: own.timesteps[step], alphaBar: own.alphaBars[step], sigma: own.sigmas?.[step] }
    } else at = { timestep: req.fromImage.timestep }
    start = startFromImage(image, { batch: shape.batch, seed, variation, schedule, ...at })
    parameters.fromImageAt = at.timestep
  }
  // The sampler refuses impossible settings (more steps than train steps...) here, before anything runs.
  const own = makeSampler(sampler, schedule, { startAt: start?.timestep, sigma: start?.sigma }).timesteps
  return {
    run: {
      sampler,
      schedule,
      seed,
      variation,
      batch: shape.batch,
      channels: shape.channels,
      height: shape.height,
      width: shape.width,
      classLabel,
      guidance: req.guidance,
      guidanceRescale: parameters.guidanceRescale,
      apg: parameters.apg,
      nullClassId: t.classes?.nullClassId,
      initNoise: req.initNoise,
      start,
    },
    parameters,
    shape,
    timesteps: parent ? [...parent.timesteps.slice(0, startStep), ...own] : own,
    startStep,
  }
}
