/**
 * The ONNX format: an `.onnx` file, with a sidecar `<name>.json` beside it when there is one. Also what
 * reads the graph of any ONNX model (its signature and `stepwise.*` metadata_props), wherever it lies.
 */
import { basename, dirname } from 'node:path'

import { EngineError } from '../../errors'
import { ignoredKeys, METADATA_PREFIX, metadataFromOnnxProps } from '../metadata'
import { type DecodedModel, ModelProto } from '../onnx-proto'
import { findSignature, tensorSigOf } from '../signature'
import { readFileBytes } from '../weights/read'
import { alphasNpySource, exists, jsonSource, type ModelFormat, type OpenedModel, validated } from './common'

/** Decode the ModelProto, turning protobuf failures into errors a user can act on. */
function decodeModel(bytes: Uint8Array, file: string): DecodedModel & { graph: NonNullable<DecodedModel['graph']> } {
  if (bytes.length === 0) throw new EngineError('not-onnx', `${file}: the file is empty`)
  let model: DecodedModel
  try {
    model = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as DecodedModel
  } catch (e) {
    const msg = (e as Error).message
    if (/index out of range/.test(msg))
      throw new EngineError('truncated', `${file}: the file ends early (truncated download or copy?)`)
    throw new EngineError('not-onnx', `${file}: not an ONNX model (${msg})`)
  }
  if (!model.graph || !model.irVersion || !model.opsetImport?.length) {
    throw new EngineError('not-onnx', `${file}: not an ONNX model (no graph or opset)`)
  }
  return { ...model, graph: model.graph }
}

/** An ONNX model's denoiser signature and its `stepwise.*` metadata. */
export function inspectOnnx(bytes: Uint8Array, file: string) {
  const model = decodeModel(bytes, file)
  const initializers = new Set((model.graph.initializer ?? []).map((t) => t.name))
  const inputs = (model.graph.input ?? []).filter((v) => !initializers.has(v.name)).map(tensorSigOf)
  const outputs = (model.graph.output ?? []).map(tensorSigOf)
  const signature = findSignature(inputs, outputs, file)
  const props = metadataFromOnnxProps(model.metadataProps ?? [])
  const ignored = ignoredKeys(props)
  const notes = ignored.length
    ? [
        `${basename(file)}: ignored metadata Stepwise does not read: ${ignored.map((k) => METADATA_PREFIX + k).join(', ')}`,
      ]
    : []
  return { signature, metadata: validated(props, `${file} (metadata_props)`), notes }
}

/**
 * An ONNX file as an opened model; `opened` says how it was found (layout, name, the JSON sources before it,
 * notes on them). An alphas_cumprod.npy beside it is a source after its own metadata.
 */
export async function openOnnxFile(
  onnxPath: string,
  opened: Pick<OpenedModel, 'layout' | 'name' | 'sources'> & { notes?: string[] },
): Promise<OpenedModel> {
  const s = await exists(onnxPath)
  if (!s || !s.isFile()) throw new EngineError('file-not-found', `${onnxPath}: no such file`)
  const bytes = await readFileBytes(onnxPath)
  const { signature, metadata, notes } = inspectOnnx(bytes, onnxPath)
  const npy = await alphasNpySource(dirname(onnxPath))
  return {
    layout: opened.layout,
    name: opened.name,
    onnx: bytes,
    onnxPath,
    signature,
    sources: [...opened.sources, ['onnx-metadata', metadata], ...(npy ? [npy] : [])],
    source: { format: 'onnx', files: [onnxPath], facts: [], notes: [...(opened.notes ?? []), ...notes] },
  }
}

export const onnxFormat: ModelFormat = {
  name: 'onnx',
  // Any file no other format took: an .onnx, or something that will be told it is not one.
  claims: async (_path, isDirectory) => !isDirectory,
  async open(path) {
    const sidecar = path.replace(/\.onnx$/i, '') + '.json'
    if (sidecar !== path && (await exists(sidecar))) {
      const { source, note } = await jsonSource('sidecar', sidecar)
      const notes = note ? [note] : []
      return openOnnxFile(path, { layout: 'onnx+sidecar', name: basename(path), sources: [source], notes })
    }
    return openOnnxFile(path, { layout: 'onnx', name: basename(path), sources: [] })
  },
}
