/**
 * The diffusers format: what `DDPMPipeline.save_pretrained` writes (model_index.json, unet/config.json +
 * unet/diffusion_pytorch_model.safetensors or .bin, scheduler/scheduler_config.json), its unet folder
 * alone, a weights file alone beside its config.json, or a checkpoint-N folder of diffusers' training
 * scripts (unet/ and unet_ema/). The U-Net is built as an ONNX graph from the config and weights
 * (graph/unet2d.ts) and cached by content; a folder holding unet/model.onnx (an export) runs that file instead.
 */
import { basename, dirname, join } from 'node:path'

import type { SourceFact } from '../../../../src-shared/model'
import { EngineError } from '../../errors'
import { encodeOnnx, type OnnxValue } from '../graph/onnx-graph'
import { UNet2DModel } from '../graph/unet2d'
import { parseUNet2DConfig, type UNet2DKey } from '../graph/unet2d-config'
import { graphCache } from '../graph-cache'
import { type Metadata, METADATA_KEYS, type MetadataSource } from '../metadata'
import { findSignature, type TensorSig } from '../signature'
import { isWeightsFile, openWeightsFile, readFileBytes } from '../weights/read'
import {
  alphasNpySource,
  exists,
  jsonSource,
  type ModelFormat,
  type ModelLayout,
  type OpenedModel,
  type OpenOptions,
  readJson,
  validated,
} from './common'
import { openOnnxFile } from './onnx'

/** The weights file names save_pretrained writes, in the order diffusers' from_pretrained prefers them. */
export const DIFFUSERS_WEIGHTS = [
  'diffusion_pytorch_model.safetensors',
  'diffusion_pytorch_model.bin',
  'diffusion_pytorch_model.fp16.safetensors',
  'diffusion_pytorch_model.fp16.bin',
]

/** Bump when graph/unet2d.ts (with unet2d-time.ts) builds a different graph from the same files: cached graphs are then rebuilt. */
export const UNET2D_BUILDER = 'diffusers-unet2d/1'

/** A diffusers weights file dropped without its config.json: the error names the file it needs. */
export const needsConfig = (weights: string) =>
  new EngineError(
    'file-not-found',
    `${weights}: a weights file needs the config.json saved with it (${join(dirname(weights), 'config.json')}); drop the folder holding both`,
  )

/**
 * The keys EMAModel.save_pretrained adds to a unet_ema/config.json (its own state, register_to_config'd):
 * not UNet2DModel's, and not worth a note.
 */
const EMA_STATE_KEYS = [
  'decay',
  'min_decay',
  'optimization_step',
  'update_after_step',
  'use_ema_warmup',
  'inv_gamma',
  'power',
]

/** The pipeline components that make a pipeline latent or text-conditioned. */
const LATENT_PARTS = ['vae', 'vqvae', 'text_encoder', 'tokenizer']

const notSupportedYet = (file: string, what: string) =>
  new EngineError('unsupported-model', `${file}: ${what}: text-conditioned and latent models are not supported yet`)

async function checkPipeline(indexPath: string) {
  const index = await readJson(indexPath)
  const parts = LATENT_PARTS.filter((k) => k in index)
  if (parts.length)
    throw notSupportedYet(indexPath, `a ${String(index._class_name ?? 'pipeline')} with ${parts.join(', ')}`)
  const unet = index.unet
  if (Array.isArray(unet) && typeof unet[1] === 'string' && unet[1] !== 'UNet2DModel')
    throw notSupportedYet(indexPath, `its unet is a ${unet[1]}`)
}

async function firstWeights(folder: string): Promise<string | undefined> {
  for (const name of DIFFUSERS_WEIGHTS) if (await exists(join(folder, name))) return join(folder, name)
  if (await exists(join(folder, 'diffusion_pytorch_model.safetensors.index.json')))
    throw new EngineError(
      'unsupported-model',
      `${folder}: the weights are sharded (diffusion_pytorch_model.safetensors.index.json); save them as one file`,
    )
  return undefined
}

/** The scheduler config of a pipeline the unet folder sits in, or beside the weights. */
async function schedulerConfig(unetFolder: string): Promise<string | undefined> {
  for (const p of [
    join(unetFolder, '..', 'scheduler', 'scheduler_config.json'),
    join(unetFolder, 'scheduler_config.json'),
  ])
    if (await exists(p)) return p
  return undefined
}

/**
 * The unet config's source between the schedule's: the scheduler config before it (its ignored keys noted),
 * an alphas_cumprod.npy in the scheduler folder or beside the unet config after it.
 */
async function withSchedule(
  unet: { folder: string; config?: [MetadataSource, Metadata] },
  schedulerPath: string | undefined,
  notes: string[],
): Promise<[MetadataSource, Metadata][]> {
  const sources: [MetadataSource, Metadata][] = []
  if (schedulerPath) {
    const { source, note } = await jsonSource('scheduler-config', schedulerPath)
    sources.push(source)
    if (note) notes.push(note)
  }
  if (unet.config) sources.push(unet.config)
  const npy = (schedulerPath && (await alphasNpySource(dirname(schedulerPath)))) || (await alphasNpySource(unet.folder))
  if (npy) sources.push(npy)
  return sources
}

/** What the cache keeps beside a built graph: what the build learnt from the weights. */
interface BuiltInfo {
  inputs: OnnxValue[]
  outputs: OnnxValue[]
  parameters: number
  unused: string[]
  dtypes: string[]
}

const sigOf = (v: OnnxValue): TensorSig => ({ name: v.name, dtype: v.dtype, shape: v.shape })

/** Build (or find in the cache) the UNet2DModel of `config` + `weights`. */
async function builtUNet(
  configPath: string,
  weightsPath: string,
  options: OpenOptions,
  opened: {
    layout: ModelLayout
    name: string
    schedulerPath?: string
    weightsNote?: string
    weights?: OpenedModel['weights']
    facts?: SourceFact[]
  },
): Promise<OpenedModel> {
  const configBytes = await readFileBytes(configPath)
  let raw: Record<string, unknown>
  try {
    raw = JSON.parse(new TextDecoder().decode(configBytes))
  } catch (e) {
    throw new EngineError('bad-metadata', `${configPath}: not valid JSON (${(e as Error).message})`)
  }
  const parsed = parseUNet2DConfig(raw, configPath)
  const { config } = parsed
  if (config.class_embed_type === 'identity')
    throw new EngineError(
      'unsupported-model',
      `${configPath}: class_embed_type "identity" adds a caller-made vector to the time embedding, not a class id; Stepwise cannot give one yet`,
    )

  const cache = options.cacheDir ? graphCache(options.cacheDir) : undefined
  const key = { builder: UNET2D_BUILDER, files: [configPath, weightsPath] }

  let onnx: Uint8Array | string
  let onnxPath: string
  let info: BuiltInfo
  const hit = await cache?.find<BuiltInfo>(key)
  if (hit) {
    onnx = onnxPath = hit.path
    info = hit.info
  } else {
    // The weights are read from the file tensor by tensor as the graph is written: never all in memory.
    const file = openWeightsFile(weightsPath)
    try {
      const { weights } = file
      const built = UNet2DModel(config, weights, { weights: weightsPath, config: configPath })
      info = {
        inputs: built.graph.inputs,
        outputs: built.graph.outputs,
        parameters: built.parameters,
        unused: built.unused,
        dtypes: [...new Set([...weights.values()].map((w) => w.dtype))],
      }
      const graph = { ...built.graph, producer: 'stepwise', docString: `diffusers UNet2DModel from ${weightsPath}` }
      const stored = await cache?.store(key, graph, info)
      // Cached: onnxruntime maps the weights from the cache's data file; else they go into the model's bytes.
      onnx = onnxPath = stored ?? ''
      if (!stored) onnx = encodeOnnx(graph)
    } finally {
      file.close()
    }
  }

  const notes: string[] = []
  const unet: [MetadataSource, Metadata] = ['unet-config', validated(raw, configPath)]
  const sources = await withSchedule({ folder: dirname(configPath), config: unet }, opened.schedulerPath, notes)

  const fact = (key: UNet2DKey): SourceFact => ({
    key,
    value: JSON.stringify(config[key]),
    from: parsed.given.includes(key) ? 'config' : 'assumed',
  })
  // Keys Stepwise reads as metadata (class_names, name...) are not ignored, though UNet2DModel does not take them.
  const ignored = parsed.ignored.filter(
    (k) => !(METADATA_KEYS as readonly string[]).includes(k) && !EMA_STATE_KEYS.includes(k),
  )
  if (ignored.length)
    notes.push(`${basename(configPath)}: ignored keys UNet2DModel does not take: ${ignored.join(', ')}`)
  if (info.unused.length)
    notes.push(
      `${basename(weightsPath)}: ${info.unused.length} weights the config does not use: ${info.unused.slice(0, 5).join(', ')}${info.unused.length > 5 ? ', ...' : ''}`,
    )
  const upcast = info.dtypes.filter((d) => d !== 'F32')
  if (upcast.length) notes.push(`${basename(weightsPath)}: ${upcast.join(', ')} weights upcast to float32`)
  return {
    onnx,
    onnxPath,
    layout: opened.layout,
    name: opened.name,
    ...(opened.weightsNote && { weightsNote: opened.weightsNote }),
    ...(opened.weights && { weights: opened.weights }),
    // Every down block but the last halves the image (UNet2DModel's add_downsample).
    signature: {
      ...findSignature(info.inputs.map(sigOf), info.outputs.map(sigOf), weightsPath),
      sizeMultiple: 2 ** (config.down_block_types.length - 1),
    },
    sources,
    source: {
      format: 'diffusers',
      files: [weightsPath, configPath, ...(opened.schedulerPath ? [opened.schedulerPath] : [])],
      parameters: info.parameters,
      facts: [...(opened.facts ?? []), ...(Object.keys(config) as UNet2DKey[]).map(fact)],
      notes,
      graph: hit ? 'cached' : 'built',
    },
  }
}

async function openFolder(path: string, options: OpenOptions): Promise<OpenedModel> {
  const index = join(path, 'model_index.json')
  if (await exists(index)) {
    await checkPipeline(index)
    const unet = join(path, 'unet')
    const schedulerPath = await schedulerConfig(unet)
    const exported = join(unet, 'model.onnx')
    if (await exists(exported)) {
      const notes: string[] = []
      const unetConfig = join(unet, 'config.json')
      const config = (await exists(unetConfig))
        ? (['unet-config', validated(await readJson(unetConfig), unetConfig)] as [MetadataSource, Metadata])
        : undefined
      const sources = await withSchedule({ folder: unet, config }, schedulerPath, notes)
      return openOnnxFile(exported, { layout: 'diffusers-folder', name: basename(path), sources, notes })
    }
    const weights = await firstWeights(unet)
    if (!(await exists(join(unet, 'config.json'))) || !weights)
      throw new EngineError(
        'file-not-found',
        `${path}: a diffusers folder without its U-Net: needs unet/config.json and unet/${DIFFUSERS_WEIGHTS[0]} (or .bin), or unet/model.onnx`,
      )
    return builtUNet(join(unet, 'config.json'), weights, options, {
      layout: 'diffusers-folder',
      name: basename(path),
      schedulerPath,
    })
  }
  const checkpoint = await openTrainingCheckpoint(path, options)
  if (checkpoint) return checkpoint
  // A training checkpoint's unet_ema/ or unet/ itself: that set of the checkpoint's weights.
  const part = basename(path)
  if (TRAINING_CHECKPOINT.test(basename(dirname(path))) && (part === 'unet_ema' || part === 'unet')) {
    const whole = await openTrainingCheckpoint(dirname(path), {
      ...options,
      weights: part === 'unet' ? 'online' : 'ema',
    })
    if (whole) return whole
  }
  // The unet folder itself (config.json + weights), maybe inside its pipeline.
  const weights = await firstWeights(path)
  if ((await exists(join(path, 'config.json'))) && weights) {
    const pipeline = join(path, '..', 'model_index.json')
    if (await exists(pipeline)) await checkPipeline(pipeline)
    const name = (await exists(pipeline)) ? basename(dirname(path)) : basename(path)
    return builtUNet(join(path, 'config.json'), weights, options, {
      layout: 'diffusers-folder',
      name,
      schedulerPath: await schedulerConfig(path),
    })
  }
  throw new EngineError(
    'file-not-found',
    `${path}: not a diffusers folder (needs model_index.json with unet/config.json and unet/${DIFFUSERS_WEIGHTS[0]} or .bin, or unet/model.onnx)`,
  )
}

/** The folders accelerate's save_state writes for diffusers' training scripts: checkpoint-<step>. */
const TRAINING_CHECKPOINT = /^checkpoint-\d+$/

/**
 * A checkpoint-N folder that diffusers' training scripts write (accelerator.save_state with their save hook,
 * e.g. examples/unconditional_image_generation/train_unconditional.py): unet/ and, trained with --use_ema,
 * unet_ema/, whose weights the script's pipeline samples with; the default here too (`weights: 'online'`
 * takes unet/). The schedule is the pipeline's the script saves beside the checkpoints, where there is one.
 */
async function openTrainingCheckpoint(path: string, options: OpenOptions): Promise<OpenedModel | undefined> {
  const unetIn = async (folder: string) => {
    const weights = await firstWeights(folder)
    return weights && (await exists(join(folder, 'config.json'))) ? weights : undefined
  }
  const [ema, online] = [await unetIn(join(path, 'unet_ema')), await unetIn(join(path, 'unet'))]
  if (!ema && !online) return undefined
  if (options.weights === 'ema' && !ema)
    throw new EngineError('bad-argument', `${path}: holds no EMA weights (no unet_ema/: trained without --use_ema)`)
  const takeEma = ema !== undefined && (options.weights !== 'online' || online === undefined)
  const weights = (takeEma ? ema : online)!
  const why = takeEma
    ? "unet_ema/: the EMA's, what the training script's pipeline samples with"
    : ema
      ? "unet/: the online weights, as asked (unet_ema/ holds the EMA's)"
      : 'unet/: no unet_ema/ (trained without --use_ema)'
  const pipeline = join(path, '..', 'model_index.json')
  if (await exists(pipeline)) await checkPipeline(pipeline)
  const scheduler = join(path, '..', 'scheduler', 'scheduler_config.json')
  return builtUNet(join(dirname(weights), 'config.json'), weights, options, {
    layout: 'diffusers-folder',
    name: basename(path),
    schedulerPath: (await exists(scheduler)) ? scheduler : undefined,
    facts: [{ key: 'weights', value: takeEma ? 'ema' : 'online', from: 'checkpoint', why }],
    // The one of the folder's two models that is not the default is named apart.
    ...(!takeEma && ema && { weightsNote: 'online weights' }),
    weights: { taken: takeEma ? 'ema' : 'online', both: ema !== undefined && online !== undefined },
  })
}

async function openLoneWeights(path: string, options: OpenOptions): Promise<OpenedModel> {
  const folder = dirname(path)
  const configPath = join(folder, 'config.json')
  if (!(await exists(configPath))) throw needsConfig(path)
  const pipeline = join(folder, '..', 'model_index.json')
  const inPipeline = !!(await exists(pipeline))
  if (inPipeline) await checkPipeline(pipeline)
  return builtUNet(configPath, path, options, {
    layout: 'diffusers-weights',
    name: inPipeline ? basename(dirname(folder)) : basename(path),
    schedulerPath: await schedulerConfig(folder),
  })
}

export const diffusersFormat: ModelFormat = {
  name: 'diffusers',
  claims: async (path, isDirectory) => isDirectory || isWeightsFile(path),
  open: async (path, options) => {
    const s = await exists(path)
    return s?.isDirectory() ? openFolder(path, options) : openLoneWeights(path, options)
  },
}
