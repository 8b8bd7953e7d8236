/**
 * The lucidrains format: what denoising-diffusion-pytorch's Trainer.save writes (`results/model-N.pt`: step,
 * model, opt, ema, scaler, version), or a GaussianDiffusion's or ElucidatedDiffusion's own state_dict saved
 * with torch.save. Read with the restricted unpickler (weights/torch.ts). A checkpoint holds no config: the
 * Unet is inferred from its weights (graph/lucidrains-unet-config.ts). A GaussianDiffusion's schedule is its
 * alphas_cumprod buffer as it is, the objective follows from its loss_weight buffer, and sampling defaults to
 * what its ddim_sample does (lucidrains-diffusion.ts); an ElucidatedDiffusion (its Unet under net.) is EDM's
 * preconditioned denoiser over a virtual schedule (lucidrains-elucidated.ts), a ContinuousTimeGaussianDiffusion
 * its Unet over a virtual schedule of its log SNR (lucidrains-continuous.ts). The EMA's weights are used when
 * there are any, as the Trainer samples with them.
 */
import { readdir } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

import { type CheckpointWeights, type SourceFact, sourceFact, TRAINER_CHECKPOINT } from '../../../../src-shared/model'
import { EngineError } from '../../errors'
import { readPngSize } from '../../export/png'
import { Unet } from '../graph/lucidrains-unet'
import { type LucidrainsUnetConfig } from '../graph/lucidrains-unet-config'
import { encodeOnnx, type OnnxValue } from '../graph/onnx-graph'
import { graphCache } from '../graph-cache'
import { type Metadata, type MetadataSource } from '../metadata'
import { findSignature } from '../signature'
import { isDict, type PyDict, type PyValue } from '../weights/pickle'
import { readFileBytes } from '../weights/read'
import { fileSource } from '../weights/source'
import { type StoredTensor, type Weights } from '../weights/tensor'
import { isTensor, readTorchArchive, typeName } from '../weights/torch'
import {
  alphasNpySource,
  exists,
  ignoredNote,
  type ModelFormat,
  type OpenedModel,
  type OpenOptions,
  readJson,
  validated,
} from './common'
import { needsConfig } from './diffusers'
import { continuousPart } from './lucidrains-continuous'
import { type DiffusionPart, gaussianPart, unetAlonePart } from './lucidrains-diffusion'
import { elucidatedPart } from './lucidrains-elucidated'

/** Bump when graph/lucidrains-unet.ts builds a different graph from the same checkpoint. */
export const LUCIDRAINS_BUILDER = 'lucidrains-unet/1'

/** The files Trainer.save writes; a GaussianDiffusion's state dict saved by hand has the same endings. */
const CHECKPOINT = /\.(pt|pth|ckpt)$/i

const tensorIn = (dict: PyDict, key: string): StoredTensor | undefined => {
  const v = dict.get(key)
  return isTensor(v) ? v.stored() : undefined
}
const fmt = (shape: number[]) => `[${shape.join(', ')}]`

/** The GaussianDiffusion state dict a checkpoint holds (its EMA's, or the online model's), and its name in the file. */
interface Diffusion {
  dict: PyDict
  /** Where its keys start: 'ema_model.' in an EMA's state dict, '' otherwise. */
  prefix: string
  /** Where the Unet's keys start after that: `model.`, ElucidatedDiffusion's `net.`, or '' (the Unet alone). */
  unet: 'model.' | 'net.' | ''
  /** Which weights, and where they came from. */
  weights: CheckpointWeights
  from: string
  /** Taken over the EMA's the file holds too (asked for): the model's name says so. */
  overEma?: true
  /** The file holds both sets, the EMA's and the online model's. */
  both?: true
}

function describeKeys(dict: PyDict): string {
  const keys = [...dict.keys()].map(String)
  return keys.length
    ? `${keys.slice(0, 8).join(', ')}${keys.length > 8 ? `, ... (${keys.length} keys)` : ''}`
    : 'nothing'
}

/** The diffusion weights to use, or an error saying what the file holds instead. */
function diffusionOf(root: PyValue, file: string, wanted: CheckpointWeights | undefined): Diffusion {
  const notOurs = (found: string) =>
    new EngineError(
      'unsupported-model',
      `${file}: not a lucidrains Trainer checkpoint (a dict with model and ema, from Trainer.save) or a GaussianDiffusion state_dict; found ${found}`,
    )
  if (!isDict(root)) throw notOurs(`a ${typeName(root)}`)
  // GaussianDiffusion (and its variants) hold the Unet as `model`, ElucidatedDiffusion as `net`.
  const unetOf = (d: PyDict, prefix: string): 'model.' | 'net.' | undefined =>
    (['model.', 'net.'] as const).find(
      (u) => isTensor(d.get(`${prefix}${u}init_conv.weight`)) || isTensor(d.get(`${prefix}${u}final_conv.weight`)),
    )
  const hasDiffusion = (d: PyDict, prefix: string) => unetOf(d, prefix) !== undefined
  const model = root.get('model')
  const ema = root.get('ema')
  if (isDict(model) && hasDiffusion(model, '')) {
    // Trainer.save: the EMA's state dict holds ema_model.<GaussianDiffusion keys> (and online_model.<...>).
    if (wanted !== 'online' && isDict(ema) && hasDiffusion(ema, 'ema_model.'))
      return {
        dict: ema,
        prefix: 'ema_model.',
        unet: unetOf(ema, 'ema_model.')!,
        weights: 'ema',
        from: "ema.ema_model.*: the EMA's, what Trainer samples with",
        both: true,
      }
    if (wanted === 'ema') throw new EngineError('bad-argument', `${file}: holds no EMA weights (no ema.ema_model.*)`)
    const overEma = isDict(ema) && hasDiffusion(ema, 'ema_model.')
    return {
      dict: model,
      prefix: '',
      unet: unetOf(model, '')!,
      weights: 'online',
      from: "model.*: the online model's",
      ...(overEma && { overEma, both: overEma }),
    }
  }
  if (hasDiffusion(root, '')) {
    if (wanted === 'ema')
      throw new EngineError('bad-argument', `${file}: a state_dict with one set of weights, no EMA's`)
    const unet = unetOf(root, '')!
    const what =
      unet === 'net.' ? 'an ElucidatedDiffusion state_dict' : 'a state_dict saved by hand (its Unet as model.*)'
    return { dict: root, prefix: '', unet, weights: 'online', from: what }
  }
  // The Unet alone: its schedule and objective must come from a sidecar (unetAlonePart).
  if (isTensor(root.get('init_conv.weight'))) {
    if (wanted === 'ema')
      throw new EngineError('bad-argument', `${file}: a state_dict with one set of weights, no EMA's`)
    return { dict: root, prefix: '', unet: '', weights: 'online', from: "a Unet's state_dict, alone" }
  }
  // A diffusers UNet2DModel's state dict saved as .pt.
  if (isTensor(root.get('conv_in.weight')) && isTensor(root.get('time_embedding.linear_1.weight')))
    throw needsConfig(file)
  const found = [...root.entries()]
    .slice(0, 8)
    .map(([k, v]) => `${String(k)} (${isTensor(v) ? fmt(v.shape) : typeName(v)})`)
  throw notOurs(`keys ${found.join(', ')}${root.size > 8 ? ', ...' : ''}`)
}

/** The Unet's weights under their own names (the diffusion's `model.` or `net.` taken off). */
function unetWeights(d: Diffusion): Weights {
  const weights: Weights = new Map()
  const prefix = `${d.prefix}${d.unet}`
  for (const [key, value] of d.dict)
    if (typeof key === 'string' && key.startsWith(prefix) && isTensor(value))
      weights.set(key.slice(prefix.length), value.stored())
  return weights
}

/** What the cache keeps beside a built graph. */
interface BuiltInfo {
  inputs: OnnxValue[]
  outputs: OnnxValue[]
  parameters: number
}

/**
 * The image size the Trainer's samples beside the checkpoint show: sample-N.png is a k x k grid
 * (num_samples = k^2) of H x W images with 2 px padding (torchvision's make_grid), so (size - 2) / k - 2;
 * k = 5, the Trainer's default num_samples of 25, when that divides evenly.
 */
async function sampleGridSize(
  path: string,
  factor: number,
): Promise<{ size: [number, number]; why: string } | undefined> {
  const milestone = /model-(.+)\.pt$/.exec(basename(path))?.[1]
  if (!milestone) return undefined
  const png = join(dirname(path), `sample-${milestone}.png`)
  if (!(await exists(png))) return undefined
  const { width, height } = readPngSize(await readFileBytes(png), png)
  const k = 5
  const [h, w] = [(height - 2) / k - 2, (width - 2) / k - 2]
  if (![h, w].every((d) => Number.isInteger(d) && d > 0 && d % factor === 0)) return undefined
  return {
    size: [h, w],
    why: `${basename(png)} is ${width} x ${height}: a ${k} x ${k} grid (Trainer's default num_samples 25) of ${h} x ${w}`,
  }
}

async function openCheckpoint(path: string, options: OpenOptions): Promise<OpenedModel> {
  const source = fileSource(path)
  try {
    const root = readTorchArchive(source, path)
    const d = diffusionOf(root, path, options.weights)
    const weights = unetWeights(d)
    const sidecar = sidecarOf(path)
    const sidecarRaw = (await exists(sidecar)) ? await readJson(sidecar) : undefined
    const buffer = (name: string) => tensorIn(d.dict, `${d.prefix}${name}`)
    // ElucidatedDiffusion names its Unet net; a Unet alone needs a sidecar; a continuous-time model has
    // learned sinusoidal time features and no schedule buffers; else a GaussianDiffusion, whose buffers say
    // the rest.
    const diffusion =
      d.unet === 'net.'
        ? elucidatedPart(weights, sidecarRaw, sidecar, path)
        : d.unet === ''
          ? unetAlonePart(weights, sidecarRaw, sidecar, path)
          : !buffer('alphas_cumprod') && weights.has('time_mlp.0.weights')
            ? continuousPart(weights, buffer, sidecarRaw, sidecar, path)
            : gaussianPart(buffer, weights, path, () => describeKeys(d.dict))
    const { config, notes } = diffusion

    const facts: SourceFact[] = []
    const fact = (key: string, value: unknown, from: SourceFact['from'], why?: string) =>
      facts.push(sourceFact(key, value, from, why))
    fact('weights', d.weights, 'checkpoint', d.from)
    for (const key of ['step', 'version']) {
      const v = isDict(root) ? root.get(key) : undefined
      if (typeof v === 'number' || typeof v === 'string') fact(key, v, 'checkpoint', `the checkpoint's ${key}`)
    }
    facts.push(...diffusion.facts)

    const factor = 2 ** (config.dimMults.length - 1)
    const grid = await sampleGridSize(path, factor)
    if (grid) fact('image_size', `(${grid.size.join(', ')})`, 'assumed', grid.why)
    else
      fact(
        'image_size',
        'unknown',
        'assumed',
        `not in the checkpoint: give the size (any multiple of ${factor}), or sample_size in a ${sidecarOf(path, true)}`,
      )
    fact('auto_normalize', true, 'assumed', 'images in [0, 1] trained as [-1, 1]: samples are shown as (x + 1) / 2')

    const checkpointMetadata = validated({ ...diffusion.metadata, ...(grid && { sample_size: grid.size }) }, path)
    const sources: [MetadataSource, Metadata][] = []
    if (sidecarRaw) {
      sources.push(['sidecar', validated(sidecarRaw, sidecar)])
      const ignored = ignoredNote(sidecarRaw, sidecar, diffusion.wrap?.sidecarKeys)
      if (ignored) notes.push(ignored)
    }
    const npy = await alphasNpySource(dirname(path))
    if (npy) sources.push(npy)
    sources.push(['checkpoint', checkpointMetadata])

    const built = await builtGraph(path, config, weights, options, d.weights, diffusion.wrap)
    return {
      ...built,
      // Every stage but the last halves the image (the Unet's Downsample).
      signature: { ...built.signature, sizeMultiple: factor },
      layout: 'lucidrains-checkpoint',
      name: basename(path),
      // The one of the file's two models that is not the default is named apart.
      ...(d.overEma && { weightsNote: 'online weights' }),
      weights: { taken: d.weights, both: d.both === true },
      sources,
      source: {
        format: 'lucidrains',
        ...(diffusion.within && { within: diffusion.within }),
        ...(diffusion.schedule && { schedule: diffusion.schedule }),
        files: [path],
        parameters: built.parameters,
        facts,
        notes,
        graph: built.graph,
      },
    }
  } finally {
    source.close()
  }
}

/** `model-3.json` beside `model-3.pt`: metadata that wins over what the checkpoint implies. */
const sidecarOf = (path: string, nameOnly = false) => {
  const name = basename(path).replace(CHECKPOINT, '.json')
  return nameOnly ? name : join(dirname(path), name)
}

/** Build (or find in the cache) the Unet's graph. */
async function builtGraph(
  path: string,
  config: LucidrainsUnetConfig,
  weights: Weights,
  options: OpenOptions,
  which: CheckpointWeights,
  wrap: DiffusionPart['wrap'],
) {
  const cache = options.cacheDir ? graphCache(options.cacheDir) : undefined
  const key = { builder: `${LUCIDRAINS_BUILDER}:${which}${wrap ? `:${wrap.key}` : ''}`, files: [path] }
  const hit = await cache?.find<BuiltInfo>(key)
  let info: BuiltInfo
  let onnx: Uint8Array | string
  let onnxPath: string
  if (hit) {
    onnx = onnxPath = hit.path
    info = hit.info
  } else {
    const built = Unet(config, weights, { weights: path, config: 'the Unet its weights imply' }, wrap?.graph)
    if (built.unused.length)
      throw new EngineError(
        'unsupported-model',
        `${path}: ${built.unused.length} Unet weights the inferred Unet does not use (${built.unused.slice(0, 3).join(', ')}): a Unet variant not supported yet`,
      )
    info = { inputs: built.graph.inputs, outputs: built.graph.outputs, parameters: built.parameters }
    const what = wrap ? `lucidrains Unet (${wrap.key})` : 'lucidrains Unet'
    const graph = { ...built.graph, producer: 'stepwise', docString: `${what} from ${path} (${which} weights)` }
    const stored = await cache?.store(key, graph, info)
    onnx = onnxPath = stored ?? ''
    if (!stored) onnx = encodeOnnx(graph)
  }
  const sig = (v: OnnxValue) => ({ name: v.name, dtype: v.dtype, shape: v.shape })
  return {
    onnx,
    onnxPath,
    signature: findSignature(info.inputs.map(sig), info.outputs.map(sig), path),
    parameters: info.parameters,
    graph: (hit ? 'cached' : 'built') as 'cached' | 'built',
  }
}

/** Trainer.save's checkpoints in its results folder (model-<milestone>.pt), the newest (highest) first. */
async function milestones(folder: string): Promise<string[]> {
  const found = (await readdir(folder).catch(() => [] as string[]))
    .map((name) => TRAINER_CHECKPOINT.exec(name))
    .filter((m) => m !== null)
  return found.sort((a, b) => Number(b[1]) - Number(a[1])).map((m) => join(folder, m[0]))
}

/** A Trainer's results folder: the newest checkpoint in it, and a note of which. */
async function openResultsFolder(path: string, options: OpenOptions): Promise<OpenedModel> {
  const all = await milestones(path)
  const opened = await openCheckpoint(all[0], options)
  if (all.length > 1)
    opened.source.notes.push(
      `${basename(path)}: ${basename(all[0])}, the newest of its ${all.length} checkpoints (open another one by itself)`,
    )
  return opened
}

export const lucidrainsFormat: ModelFormat = {
  name: 'lucidrains',
  // Trainer.save's .pt (or a state_dict saved as .pth / .ckpt), unless a diffusers config.json lies beside it;
  // or the Trainer's results folder, of model-N.pt files (a diffusers folder has a config of its own).
  claims: async (path, isDirectory) =>
    isDirectory
      ? (await milestones(path)).length > 0 &&
        !(await exists(join(path, 'model_index.json'))) &&
        !(await exists(join(path, 'config.json')))
      : CHECKPOINT.test(path) && !(await exists(join(dirname(path), 'config.json'))),
  open: async (path, options) =>
    (await exists(path))?.isDirectory() ? openResultsFolder(path, options) : openCheckpoint(path, options),
}
