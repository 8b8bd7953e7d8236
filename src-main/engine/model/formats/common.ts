/** What every source format gives the loader, and the small file helpers they share. */
import { readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'

import type { CheckpointWeights, ModelFormatName, ModelLayout, SourceFact } from '../../../../src-shared/model'
import { EngineError } from '../../errors'
import { readNpy } from '../../npy'
import { ignoredKeys, type Metadata, type MetadataSource, validateMetadata } from '../metadata'
import type { Signature } from '../signature'

export type { ModelLayout }

/** What the model was made from: its format, files, size, and the facts of its config with their origins. */
export interface ModelSource {
  format: ModelFormatName
  /** The model the network sits in, where that is not its format's usual one (a lucidrains ElucidatedDiffusion). */
  within?: string
  /**
   * The training schedule as the card and inspect say it, where the format knows more than "custom, T = 1000":
   * a virtual one that the model's own time was mapped onto ("EDM, σ 0.002–80, 1000 virtual timesteps").
   * A named schedule that a model's own alphas_cumprod matches is said by describedSchedule (training.ts),
   * whatever the format.
   */
  schedule?: string
  /** The files read (a built graph: the weights and the config). */
  files: string[]
  /** The state dict's parameter count, when the weights were read. */
  parameters?: number
  facts: SourceFact[]
  /** What was ignored or converted on the way (unknown config keys, unused weights, half-precision weights). */
  notes: string[]
  /** A graph built from weights: built by this open, or read back from the cache. */
  graph?: 'built' | 'cached'
}

export interface OpenedModel {
  /** What onnxruntime runs: the model's bytes, or the file holding them. */
  onnx: Uint8Array | string
  /** The .onnx file read, or where a built graph is cached ('' when it is not). */
  onnxPath: string
  layout: ModelLayout
  /** The file's or folder's name, where the metadata names none. */
  name: string
  /**
   * Which of a file's two sets of weights this is, after any name (the metadata's too): one file, two models,
   * told apart in their runs and PNGs, whose model hash is the file's, the same for both.
   */
  weightsNote?: string
  /** A checkpoint's: which set of weights was taken, and whether it holds the other too (EMA and online). */
  weights?: { taken: CheckpointWeights; both: boolean }
  signature: Signature
  /** Metadata sources in the order they win. */
  sources: [MetadataSource, Metadata][]
  source: ModelSource
}

/** A model's name: its metadata's, else its file's, and which weights of the file it took. */
export const modelName = (opened: OpenedModel, metadataName: string | undefined): string =>
  `${metadataName ?? opened.name}${opened.weightsNote ? ` (${opened.weightsNote})` : ''}`

export interface OpenOptions {
  /** Where built graphs are kept between opens; none: built on every open. */
  cacheDir?: string
  /** A checkpoint with EMA and online weights: which to sample with (default: the EMA's). */
  weights?: CheckpointWeights
}

/** One source format: which dropped paths it takes, and how it opens them. */
export interface ModelFormat {
  name: ModelFormatName
  claims(path: string, isDirectory: boolean): Promise<boolean>
  open(path: string, options: OpenOptions): Promise<OpenedModel>
}

export async function exists(p: string) {
  return stat(p).then(
    (s) => s,
    () => undefined,
  )
}

export async function readJson(path: string, shown: string = path): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new EngineError('file-not-found', `${shown}: no such file`)
  }
  try {
    const value = JSON.parse(text)
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a JSON object')
    return value
  } catch (e) {
    throw new EngineError('bad-metadata', `${shown}: not valid JSON (${(e as Error).message})`)
  }
}

export function validated(raw: Record<string, unknown>, shown: string): Metadata {
  try {
    return validateMetadata(raw, shown)
  } catch (e) {
    throw new EngineError('bad-metadata', (e as Error).message)
  }
}

/**
 * A JSON file of metadata as a source, and a note naming the keys of it Stepwise ignored (beside `known`,
 * keys another part of Stepwise reads from the same file).
 */
export async function jsonSource(
  kind: MetadataSource,
  path: string,
  known: readonly string[] = [],
): Promise<{ source: [MetadataSource, Metadata]; note?: string }> {
  const raw = await readJson(path)
  return { source: [kind, validated(raw, path)], note: ignoredNote(raw, path, known) }
}

/** A metadata source's keys Stepwise does not read, as a note for the card (undefined when there are none). */
export function ignoredNote(raw: Record<string, unknown>, file: string, known: readonly string[] = []) {
  const keys = ignoredKeys(raw, known)
  return keys.length ? `${basename(file)}: ignored keys Stepwise does not read: ${keys.join(', ')}` : undefined
}

/** The name of a schedule file beside a model: alphas_cumprod as a 1-D .npy array (float32 or float64). */
export const ALPHAS_NPY = 'alphas_cumprod.npy'

/** An alphas_cumprod.npy in `folder`, as a metadata source, when there is one. */
export async function alphasNpySource(folder: string): Promise<[MetadataSource, Metadata] | undefined> {
  const path = join(folder, ALPHAS_NPY)
  if (!(await exists(path))) return undefined
  const { data, shape } = readNpy(new Uint8Array(await readFile(path)), path)
  if (shape.length !== 1)
    throw new EngineError('bad-metadata', `${path}: alphas_cumprod must be a 1-D array, not [${shape.join(', ')}]`)
  return ['alphas-npy', validated({ alphas_cumprod: Array.from(data) }, path)]
}
