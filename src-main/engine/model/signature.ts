/** Find the denoiser's inputs and output in an ONNX graph by their types and shapes, not their names. */
import { EngineError } from '../errors'
import { type DecodedValueInfo, ONNX_DTYPE } from './onnx-proto'

export type Dim = number | string // a number, or a symbolic (dynamic) dimension
export interface TensorSig {
  name: string
  dtype: string
  shape: Dim[]
}

export interface Signature {
  image: TensorSig
  timestep: TensorSig
  classLabels?: TensorSig
  /** A second image input: self-conditioning (lucidrains' self_condition), the x0 of the model's previous call. */
  selfCondition?: TensorSig
  output: TensorSig
  /** Fixed in the graph, or undefined when its channel dimension is dynamic (see channelsOf). */
  channels?: number
  /** Output has 2C channels (learned variance): the first C are used. */
  learnedVariance: boolean
  /** A batch size fixed in the graph, honoured by running in groups. */
  fixedBatch?: number
  /** Fixed height / width, or undefined when dynamic. */
  height?: number
  width?: number
  /**
   * What a dynamic height and width must be multiples of: a U-Net built from its weights halves its images
   * k times (2^k); an ONNX file's size_multiple metadata may say. Undefined where nothing says.
   */
  sizeMultiple?: number
}

const TIMESTEP_DTYPES = ['int64', 'int32', 'float32', 'float16']
const describe = (s: TensorSig) => `${s.name}[${s.shape.join(',')}] (${s.dtype})`

/** Graph value info as plain data (from the protobuf decode). */
export function tensorSigOf(v: DecodedValueInfo): TensorSig {
  const tt = v.type?.tensorType
  const dims: Dim[] = (tt?.shape?.dim ?? []).map((d) =>
    d.dimParam ? String(d.dimParam) : d.dimValue != null && Number(d.dimValue) > 0 ? Number(d.dimValue) : '?',
  )
  return { name: v.name, dtype: ONNX_DTYPE[tt?.elemType ?? 0] ?? `type ${tt?.elemType}`, shape: dims }
}

const fixed = (d: Dim | undefined) => (typeof d === 'number' ? d : undefined)

export function findSignature(inputs: TensorSig[], outputs: TensorSig[], file: string): Signature {
  const found = `found inputs ${inputs.map(describe).join(', ') || 'none'}`
  const image = inputs.find((i) => i.shape.length === 4 && i.dtype.startsWith('float'))
  if (!image) throw new EngineError('not-a-denoiser', `${file}: no 4-D image input; ${found}`)
  if (image.dtype !== 'float32') {
    throw new EngineError('unsupported-dtype', `${file}: image input ${describe(image)} must be float32`)
  }
  // A dynamic channel dimension is allowed: the channels then come from the metadata or the request.
  const channels = fixed(image.shape[1])
  if (channels !== undefined && ![1, 3, 4].includes(channels)) {
    throw new EngineError('not-a-denoiser', `${file}: image input ${describe(image)} must have 1, 3 or 4 channels`)
  }
  // A classifier has a 4-D input too: the output's shape tells a denoiser apart, so check it first.
  const output = outputs.find((o) => o.shape.length === 4)
  if (!output) {
    throw new EngineError(
      'not-a-denoiser',
      `${file}: no 4-D output of the image's shape; found outputs ${outputs.map(describe).join(', ')}`,
    )
  }
  const outChannels = fixed(output.shape[1])
  if (channels !== undefined && outChannels !== undefined && outChannels !== channels && outChannels !== 2 * channels) {
    throw new EngineError(
      'not-a-denoiser',
      `${file}: output ${describe(output)} has ${outChannels} channels; the image has ${channels}`,
    )
  }
  // A second image input of the image's shape takes the previous call's x0 (self-conditioning).
  const selfCondition = inputs.find(
    (i) =>
      i !== image && i.shape.length === 4 && i.dtype === 'float32' && i.shape.every((d, k) => d === image.shape[k]),
  )
  const rest = inputs.filter((i) => i !== image && i !== selfCondition)
  const timestep =
    rest.find((i) => i.shape.length <= 2 && TIMESTEP_DTYPES.includes(i.dtype) && !/class|label|y$/i.test(i.name)) ??
    rest.find((i) => i.shape.length <= 2 && TIMESTEP_DTYPES.includes(i.dtype))
  if (!timestep) {
    const odd = rest.find((i) => i.shape.length <= 2)
    if (odd)
      throw new EngineError(
        'unsupported-dtype',
        `${file}: timestep input ${describe(odd)} must be int64, int32, float32 or float16`,
      )
    throw new EngineError('not-a-denoiser', `${file}: no timestep input ([B], [] or [B,1]); ${found}`)
  }
  const classLabels = rest.find((i) => i !== timestep && i.shape.length === 1 && i.dtype.startsWith('int'))
  const extra = rest.filter((i) => i !== timestep && i !== classLabels)
  if (extra.length)
    throw new EngineError('not-a-denoiser', `${file}: unexpected inputs ${extra.map(describe).join(', ')}; ${found}`)

  return {
    image,
    timestep,
    classLabels,
    ...(selfCondition && { selfCondition }),
    output,
    channels,
    learnedVariance: channels !== undefined && outChannels === 2 * channels,
    fixedBatch: fixed(image.shape[0]),
    height: fixed(image.shape[2]),
    width: fixed(image.shape[3]),
  }
}
