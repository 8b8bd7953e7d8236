/**
 * Writing ONNX models: graphs as plain data (inputs, outputs, nodes, initializers) encoded with the same
 * protobufjs schema Stepwise reads them with (onnx-proto.ts). Initializers are written as raw_data
 * straight from their typed arrays: protobufjs copies each once, into the model's bytes.
 */
import { DTYPE_CODE, ModelProto } from '../onnx-proto'

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
  data: Float32Array | BigInt64Array
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

export function encodeOnnx(g: OnnxGraph): Uint8Array {
  const model = {
    irVersion: IR_VERSION,
    producerName: g.producer ?? 'stepwise',
    opsetImport: [{ domain: '', version: OPSET }],
    docString: g.docString,
    graph: {
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
      initializer: (g.initializers ?? []).map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: t.data instanceof Float32Array ? CODE.float32 : CODE.int64,
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
    },
    metadataProps: Object.entries(g.metadata ?? {}).map(([key, value]) => ({ key, value })),
  }
  // Plain objects of the schema's types encode as they are (fromObject would walk every array first).
  return ModelProto.encode(model).finish()
}
