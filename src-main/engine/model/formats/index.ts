/**
 * The source formats, in the order they are asked: the first that claims what the user dropped opens
 * it. A format is one file here that turns a path into an OpenedModel (a graph to run, its signature,
 * metadata sources and where each fact came from). Add one by adding its file and its row.
 */
import { EngineError } from '../../errors'
import { exists, type ModelFormat, type OpenedModel, type OpenOptions } from './common'
import { diffusersFormat } from './diffusers'
import { lucidrainsFormat } from './lucidrains'
import { onnxFormat } from './onnx'

export type { ModelLayout, ModelSource, OpenedModel, OpenOptions } from './common'
export { modelName } from './common'

/** lucidrains first: diffusers also takes .pt files (beside a config.json, which lucidrains then leaves to it). */
export const FORMATS: readonly ModelFormat[] = [lucidrainsFormat, diffusersFormat, onnxFormat]

export async function openModel(path: string, options: OpenOptions = {}): Promise<OpenedModel> {
  const s = await exists(path)
  if (!s) throw new EngineError('file-not-found', `${path}: no such file or folder`)
  for (const format of FORMATS) if (await format.claims(path, s.isDirectory())) return format.open(path, options)
  throw new EngineError('not-onnx', `${path}: not a model Stepwise can open`)
}
