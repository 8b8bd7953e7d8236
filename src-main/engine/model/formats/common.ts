/** What every source format gives the loader, and the small file helpers they share. */
import { readFile, stat } from 'node:fs/promises'

import type { ModelFormatName, ModelLayout, SourceFact } from '../../../../src-shared/model'
import { EngineError } from '../../errors'
import { type Metadata, type MetadataSource, validateMetadata } from '../metadata'
import type { Signature } from '../signature'

export type { ModelLayout }

/** What the model was made from: its format, files, size, and the facts of its config with their origins. */
export interface ModelSource {
  format: ModelFormatName
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
  name: string
  signature: Signature
  /** Metadata sources in the order they win. */
  sources: [MetadataSource, Metadata][]
  source: ModelSource
}

export interface OpenOptions {
  /** Where built graphs are kept between opens; none: built on every open. */
  cacheDir?: string
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

export const readMetadataJson = async (path: string) => validated(await readJson(path), path)
