/**
 * Writing ONNX models: graphs as plain data (inputs, outputs, nodes, initializers) encoded with the same
 * protobufjs schema Stepwise reads them with (onnx-proto.ts). The weights are most of a model's bytes, so
 * they are not handed to protobufjs (whose writer grows its buffer by doubling and copies it once more at
 * the end): the small messages are encoded with it, and the model is assembled in one allocation with
 * each initializer's raw_data copied once, straight from its typed array. Or the weights go to a file of
 * their own beside the model (ONNX external data), written straight from the typed arrays.
 */
import { open, rename, rm } from 'node:fs/promises'
import { basename } from 'node:path'

import { writeFileAtomic } from '../../files'
import { DTYPE_CODE, GraphProto, ModelProto, TensorProto } from '../onnx-proto'

/** The opset every graph Stepwise writes uses: ops in it run on every execution provider. */
export const OPSET = 17
/** ONNX IR version 8 goes with opset 17 (onnx/onnx docs/Versioning.md). */
export const IR_VERSION = 8

export type OnnxDType = keyof typeof DTYPE_CODE | 'float64' | 'int8' | 'bool'
const CODE: Record<OnnxDType, number> = { ...DTYPE_CODE, float64: 11, int8: 3, bool: 9 }

export interface OnnxValue {
  name: string
  dtype: OnnxDType
  /** Numbers are fixed sizes; strings name a dynamic dimension. */
  shape: (number | string)[]
}

/** An attribute: an integer, a float ({ float: x }), a list of integers, or a string. */
export type OnnxAttr = number | { float: number } | number[] | string

export interface OnnxNode {
  op: string
  inputs: string[]
  outputs: string[]
  attrs?: Record<string, OnnxAttr>
  name?: string
}

export interface OnnxInitializer {
  name: string
  dims: number[]
  /** The values, or (float32 weights) how to read them: called once, when the model is written. */
  data: Float32Array | BigInt64Array | (() => Float32Array)
}

export interface OnnxGraph {
  inputs: OnnxValue[]
  outputs: OnnxValue[]
  nodes: OnnxNode[]
  initializers?: OnnxInitializer[]
  /** metadata_props, as ONNX keeps them: strings. */
  metadata?: Record<string, string>
  producer?: string
  docString?: string
}

// AttributeProto.AttributeType values.
const FLOAT = 1
const INT = 2
const STRING = 3
const INTS = 7
// Field numbers of onnx.proto, for the parts assembled by hand.
const MODEL_GRAPH = 7
const GRAPH_INITIALIZER = 5
const TENSOR_RAW_DATA = 9

const valueInfo = (v: OnnxValue) => ({
  name: v.name,
  type: {
    tensorType: {
      elemType: CODE[v.dtype],
      shape: { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
    },
  },
})

function attribute(name: string, v: OnnxAttr) {
  if (typeof v === 'number') return { name, type: INT, i: v }
  if (typeof v === 'string') return { name, type: STRING, s: new TextEncoder().encode(v) }
  if (Array.isArray(v)) return { name, type: INTS, ints: v }
  return { name, type: FLOAT, f: v.float }
}

/** A length-delimited field: its key, its length as a varint, then `length` bytes (written by the caller). */
function fieldHeader(field: number, length: number): Uint8Array {
  const out = [(field << 3) | 2]
  for (let n = length; ; n = Math.floor(n / 128)) {
    if (n < 128) {
      out.push(n)
      break
    }
    out.push((n % 128) | 128)
  }
  return Uint8Array.from(out)
}

const modelHeader = (g: OnnxGraph) =>
  ModelProto.encode({
    irVersion: IR_VERSION,
    producerName: g.producer ?? 'stepwise',
    opsetImport: [{ domain: '', version: OPSET }],
    docString: g.docString,
    metadataProps: Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value })),
  }).finish()

/** The graph's message without its initializers: those are appended as fields of their own. */
const graphBody = (g: OnnxGraph, initializer: object[] = []) =>
  GraphProto.encode({
    name: 'stepwise',
    input: g.inputs.map(valueInfo),
    output: g.outputs.map(valueInfo),
    node: g.nodes.map((n, i) => ({
      name: n.name ?? `n${i}`,
      opType: n.op,
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs ?? {}).map(([name, v]) => attribute(name, v)),
    })),
    initializer,
  }).finish()

const dataType = (t: OnnxInitializer) => (t.data instanceof BigInt64Array ? CODE.int64 : CODE.float32)
const byteLengthOf = (t: OnnxInitializer) => t.dims.reduce((a, b) => a * b, 1) * (dataType(t) === CODE.int64 ? 8 : 4)
export const valuesOf = (t: OnnxInitializer) => (typeof t.data === 'function' ? t.data() : t.data)
const rawOf = (t: OnnxInitializer) => {
  const data = valuesOf(t)
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
}

function assemble(pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of pieces) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** One self-contained .onnx: what `convert` writes and a model without a cache runs. */
export function encodeOnnx(g: OnnxGraph): Uint8Array {
  // Each initializer: a TensorProto of its name, dims and type, then its raw_data field.
  const pieces: Uint8Array[] = [graphBody(g)]
  for (const t of g.initializers ?? []) {
    const head = TensorProto.encode({ name: t.name, dims: t.dims, dataType: dataType(t) }).finish()
    const raw = rawOf(t)
    const rawHeader = fieldHeader(TENSOR_RAW_DATA, raw.length)
    pieces.push(fieldHeader(GRAPH_INITIALIZER, head.length + rawHeader.length + raw.length), head, rawHeader, raw)
  }
  const graphLength = pieces.reduce((n, p) => n + p.length, 0)
  return assemble([modelHeader(g), fieldHeader(MODEL_GRAPH, graphLength), ...pieces])
}

/**
 * Windows maps files at 64 KiB boundaries (its allocation granularity; pages elsewhere): onnxruntime maps
 * external data that starts on one instead of reading it into memory. Smaller tensors stay inline.
 */
export const EXTERNAL_DATA_ALIGN = 65536

/**
 * The model as `path` (the graph, small) and `path.data` (the initializers of 64 KiB and more, each
 * aligned), as ONNX external data: onnxruntime maps the weights from the file rather than parsing them
 * out of a protobuf. The data is written straight from the typed arrays, fsynced before the model names it.
 */
export async function writeOnnxExternal(g: OnnxGraph, path: string): Promise<void> {
  const dataPath = `${path}.data`
  const tmp = `${dataPath}.${process.pid}.tmp`
  const initializer: object[] = []
  const file = await open(tmp, 'w')
  try {
    let offset = 0
    for (const t of g.initializers ?? []) {
      if (byteLengthOf(t) < EXTERNAL_DATA_ALIGN) {
        initializer.push({ name: t.name, dims: t.dims, dataType: dataType(t), rawData: rawOf(t) })
        continue
      }
      // One tensor read (from the weights file) at a time, written, and let go.
      const raw = rawOf(t)
      offset = Math.ceil(offset / EXTERNAL_DATA_ALIGN) * EXTERNAL_DATA_ALIGN
      await file.write(raw, 0, raw.length, offset)
      initializer.push({
        name: t.name,
        dims: t.dims,
        dataType: dataType(t),
        dataLocation: 1, // EXTERNAL
        externalData: [
          { key: 'location', value: basename(dataPath) },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(raw.length) },
        ],
      })
      offset += raw.length
    }
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    await rename(tmp, dataPath)
  } finally {
    await rm(tmp, { force: true })
  }
  const body = graphBody(g, initializer)
  await writeFileAtomic(path, assemble([modelHeader(g), fieldHeader(MODEL_GRAPH, body.length), body]), {
    overwrite: true,
  })
}
