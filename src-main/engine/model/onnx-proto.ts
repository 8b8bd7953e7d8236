/**
 * The part of onnx.proto (github.com/onnx/onnx, onnx/onnx.proto) that Stepwise reads and writes (graphs
 * built from a config and weights, see graph/onnx-graph.ts), as a protobufjs schema. Field numbers are ONNX's.
 */
import protobuf from 'protobufjs'

const fields = (spec: Record<string, [number, string, ('repeated' | undefined)?]>) =>
  Object.fromEntries(
    Object.entries(spec).map(([name, [id, type, rule]]) => [name, rule ? { id, type, rule } : { id, type }]),
  )

export const onnxRoot = protobuf.Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: fields({
            irVersion: [1, 'int64'],
            producerName: [2, 'string'],
            producerVersion: [3, 'string'],
            domain: [4, 'string'],
            docString: [6, 'string'],
            graph: [7, 'GraphProto'],
            opsetImport: [8, 'OperatorSetIdProto', 'repeated'],
            metadataProps: [14, 'StringStringEntryProto', 'repeated'],
          }),
        },
        OperatorSetIdProto: { fields: fields({ domain: [1, 'string'], version: [2, 'int64'] }) },
        StringStringEntryProto: { fields: fields({ key: [1, 'string'], value: [2, 'string'] }) },
        GraphProto: {
          fields: fields({
            node: [1, 'NodeProto', 'repeated'],
            name: [2, 'string'],
            initializer: [5, 'TensorProto', 'repeated'],
            docString: [10, 'string'],
            input: [11, 'ValueInfoProto', 'repeated'],
            output: [12, 'ValueInfoProto', 'repeated'],
          }),
        },
        NodeProto: {
          fields: fields({
            input: [1, 'string', 'repeated'],
            output: [2, 'string', 'repeated'],
            name: [3, 'string'],
            opType: [4, 'string'],
            attribute: [5, 'AttributeProto', 'repeated'],
            domain: [7, 'string'],
          }),
        },
        AttributeProto: {
          fields: fields({
            name: [1, 'string'],
            f: [2, 'float'],
            i: [3, 'int64'],
            s: [4, 'bytes'],
            t: [5, 'TensorProto'],
            floats: [7, 'float', 'repeated'],
            ints: [8, 'int64', 'repeated'],
            type: [20, 'int32'],
          }),
        },
        TensorProto: {
          fields: fields({
            dims: [1, 'int64', 'repeated'],
            dataType: [2, 'int32'],
            floatData: [4, 'float', 'repeated'],
            int64Data: [7, 'int64', 'repeated'],
            name: [8, 'string'],
            rawData: [9, 'bytes'],
            externalData: [13, 'StringStringEntryProto', 'repeated'],
            dataLocation: [14, 'int32'],
          }),
        },
        ValueInfoProto: { fields: fields({ name: [1, 'string'], type: [2, 'TypeProto'] }) },
        TypeProto: {
          fields: fields({ tensorType: [1, 'TypeProtoTensor'] }),
        },
        TypeProtoTensor: { fields: fields({ elemType: [1, 'int32'], shape: [2, 'TensorShapeProto'] }) },
        TensorShapeProto: { fields: fields({ dim: [1, 'Dimension', 'repeated'] }) },
        Dimension: { fields: fields({ dimValue: [1, 'int64'], dimParam: [2, 'string'] }) },
      },
    },
  },
})

export const ModelProto = onnxRoot.lookupType('onnx.ModelProto')
export const GraphProto = onnxRoot.lookupType('onnx.GraphProto')
export const TensorProto = onnxRoot.lookupType('onnx.TensorProto')

/** What `ModelProto.toObject(..., { longs: Number, defaults: false })` gives for the fields Stepwise reads. */
export interface DecodedValueInfo {
  name: string
  type?: { tensorType?: { elemType?: number; shape?: { dim?: { dimValue?: number; dimParam?: string }[] } } }
}
export interface DecodedModel {
  irVersion?: number
  opsetImport?: { domain?: string; version?: number }[]
  graph?: { initializer?: { name: string }[]; input?: DecodedValueInfo[]; output?: DecodedValueInfo[] }
  metadataProps?: { key: string; value: string }[]
}

/** ONNX TensorProto.DataType values we name. */
export const ONNX_DTYPE: Record<number, string> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
}
export const DTYPE_CODE = { float32: 1, int32: 6, int64: 7, float16: 10 } as const
