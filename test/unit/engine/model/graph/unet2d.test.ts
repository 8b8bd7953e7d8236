/**
 * UNet2DModel built as an ONNX graph gives diffusers' own forward passes (1e-4): the peers' models and our
 * configurations beyond them (test/fixtures/diffusers/README.md), run through onnxruntime like any model.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'

import { encodeOnnx, valuesOf } from '../../../../../src-main/engine/model/graph/onnx-graph'
import {
  fixDeprecatedAttentionKeys,
  stateDictShapes,
  UNET2D_IO,
  UNet2DModel,
} from '../../../../../src-main/engine/model/graph/unet2d'
import { parseUNet2DConfig } from '../../../../../src-main/engine/model/graph/unet2d-config'
import { readWeights } from '../../../../../src-main/engine/model/weights/read'
import { readNpy } from '../../../../../src-main/engine/npy'

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'fixtures')

const npy = (path: string) => readNpy(new Uint8Array(readFileSync(path)), path)
/** forward_t / forward_labels are int64 or float arrays; read their values as numbers. */
function numbers(path: string): number[] {
  const bytes = readFileSync(path)
  const header = bytes.toString('latin1', 10, 10 + bytes.readUInt16LE(8))
  const data = bytes.subarray(10 + bytes.readUInt16LE(8))
  if (header.includes("'<i8'"))
    return Array.from(new BigInt64Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)), Number)
  return Array.from(npy(path).data)
}

function build(dir: string) {
  const unet = join(dir, 'pipeline', 'unet')
  const configPath = join(unet, 'config.json')
  const parsed = parseUNet2DConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath)
  const file = ['diffusion_pytorch_model.safetensors', 'diffusion_pytorch_model.bin']
    .map((f) => join(unet, f))
    .find((f) => {
      try {
        readFileSync(f)
        return true
      } catch {
        return false
      }
    })!
  const weights = readWeights(new Uint8Array(readFileSync(file)), file)
  return { parsed, weights, built: UNet2DModel(parsed.config, weights, { weights: file, config: configPath }) }
}

async function forward(dir: string) {
  const { built, parsed } = build(dir)
  const session = await ort.InferenceSession.create(encodeOnnx(built.graph), { executionProviders: ['cpu'] })
  try {
    const x = npy(join(dir, 'forward_x.npy'))
    const feeds: Record<string, ort.Tensor> = {
      [UNET2D_IO.sample]: new ort.Tensor('float32', x.data, x.shape),
      [UNET2D_IO.timestep]: new ort.Tensor('float32', Float32Array.from(numbers(join(dir, 'forward_t.npy'))), [2]),
    }
    const labels = built.graph.inputs.find((i) => i.name === UNET2D_IO.classLabels)
    if (labels?.dtype === 'int64')
      feeds[labels.name] = new ort.Tensor(
        'int64',
        BigInt64Array.from(numbers(join(dir, 'forward_labels.npy')), BigInt),
        [2],
      )
    if (labels?.dtype === 'float32') {
      const y = npy(join(dir, 'forward_labels.npy'))
      feeds[labels.name] = new ort.Tensor('float32', y.data, y.shape)
    }
    const out = (await session.run(feeds))[UNET2D_IO.output] as ort.Tensor
    const want = npy(join(dir, 'forward_out.npy'))
    expect(out.dims).toEqual(want.shape)
    let maxDiff = 0
    const got = out.data as Float32Array
    for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i] - want.data[i]))
    return { maxDiff, built, parsed }
  } finally {
    await session.release()
  }
}

const OWN = [
  'scale-shift-resnet',
  'fourier-gelu',
  'class-timestep-mish',
  'identity-learned-nomid',
  'odd-relu-noattn',
  'google-cifar-style',
]

describe("the graph's forward pass is diffusers' own, to 1e-4", () => {
  for (const name of ['uncond-rgb32', 'class-gray28']) {
    it(`the peers' ${name}`, async () => {
      const { maxDiff, built } = await forward(join(FIXTURES, 'peers', 'diffusers', name))
      console.log(`forward ${name}: max diff ${maxDiff.toExponential(2)}`)
      expect(maxDiff).toBeLessThan(1e-4)
      expect(built.unused).toEqual([])
      expect(built.parameters).toBe(name === 'uncond-rgb32' ? 1_002_883 : 280_881)
    })
  }
  for (const name of OWN) {
    it(name, async () => {
      const dir = join(FIXTURES, 'diffusers', name)
      const { maxDiff, built } = await forward(dir)
      console.log(`forward ${name}: max diff ${maxDiff.toExponential(2)}`)
      expect(maxDiff).toBeLessThan(1e-4)
      expect(built.unused).toEqual([])
      expect(built.parameters).toBe(JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')).params)
    })
  }
})

describe('graphs every execution provider runs', () => {
  it('only standard opset-17 ops, none of the newer ones (GroupNormalization, Mish, Gelu)', () => {
    const ops = new Set<string>()
    for (const name of OWN) for (const n of build(join(FIXTURES, 'diffusers', name)).built.graph.nodes) ops.add(n.op)
    expect([...ops].sort()).toEqual(
      [
        'Add',
        'AveragePool',
        'Cast',
        'Concat',
        'Conv',
        'Cos',
        'Div',
        'Erf',
        'Gather',
        'Gemm',
        'Identity',
        'InstanceNormalization',
        'Log',
        'MatMul',
        'Mul',
        'Relu',
        'Reshape',
        'Resize',
        'Shape',
        'Sigmoid',
        'Sin',
        'Slice',
        'Softmax',
        'Softplus',
        'Split',
        'Sub',
        'Tanh',
        'Transpose',
        'Unsqueeze',
      ].sort(),
    )
  })

  it('weights keep their state-dict names; F32 weights are not copied', () => {
    const { built, weights } = build(join(FIXTURES, 'peers', 'diffusers', 'uncond-rgb32'))
    const init = new Map(built.graph.initializers!.map((i) => [i.name, i]))
    for (const [name, w] of weights) expect(valuesOf(init.get(name)!).buffer, name).toBe(w.bytes.buffer)
  })
})

describe('weights that do not fit the config are named', () => {
  const dir = join(FIXTURES, 'peers', 'diffusers', 'uncond-rgb32')
  const configPath = join(dir, 'pipeline', 'unet', 'config.json')
  const raw = JSON.parse(readFileSync(configPath, 'utf8'))
  const { weights } = build(dir)

  it('a config with wider blocks: the first weight of another shape, both shapes', () => {
    const parsed = parseUNet2DConfig({ ...raw, block_out_channels: [64, 64] }, 'unet/config.json')
    expect(() => UNet2DModel(parsed.config, weights, { weights: 'w.safetensors', config: 'unet/config.json' })).toThrow(
      'w.safetensors: time_embedding.linear_1.weight is [128, 32]; unet/config.json implies [256, 64]',
    )
  })

  it('a missing weight, and weights the config leaves unused (reported, as diffusers warns)', () => {
    const fewer = new Map(weights)
    fewer.delete('mid_block.attentions.0.to_q.bias')
    const parsed = parseUNet2DConfig(raw, 'unet/config.json')
    expect(() => UNet2DModel(parsed.config, fewer, { weights: 'w.bin', config: 'unet/config.json' })).toThrow(
      'w.bin: no weight mid_block.attentions.0.to_q.bias, which unet/config.json implies (weights of another model?)',
    )
    const more = new Map(weights).set('extra.weight', weights.get('conv_in.bias')!)
    expect(UNet2DModel(parsed.config, more, { weights: 'w', config: 'c' }).unused).toEqual(['extra.weight'])
  })

  it('the state dict a config implies is the one save_pretrained wrote, name for name and shape for shape', () => {
    const shapes = stateDictShapes(parseUNet2DConfig(raw, 'c').config)
    expect([...shapes.keys()].sort()).toEqual([...weights.keys()].sort())
    for (const [name, w] of weights) expect(shapes.get(name), name).toEqual(w.shape)
  })

  it("pre-0.14 attention names become diffusers' current ones, as from_pretrained renames them", () => {
    const old = new Map([
      ['mid_block.attentions.0.query.weight', weights.get('conv_in.bias')!],
      ['up_blocks.1.attentions.2.proj_attn.bias', weights.get('conv_in.bias')!],
      ['down_blocks.0.resnets.0.conv1.weight', weights.get('conv_in.bias')!],
    ])
    expect([...fixDeprecatedAttentionKeys(old).keys()]).toEqual([
      'mid_block.attentions.0.to_q.weight',
      'up_blocks.1.attentions.2.to_out.0.bias',
      'down_blocks.0.resnets.0.conv1.weight',
    ])
  })
})
