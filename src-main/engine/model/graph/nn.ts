/**
 * torch.nn layers as ONNX opset-17 nodes, the way torch.onnx exports them: a layer is a function of the
 * graph, its input and the module path of its weights (`prefix.weight`, `prefix.bias`). Only standard
 * ops that every execution provider runs: GroupNormalization is opset 18 (and changed meaning in 21),
 * Mish 18 and Gelu 20, so those are composed of older ops.
 */
import { EngineError } from '../../errors'
import type { GraphBuilder } from './builder'

/**
 * nn.Conv2d(inC, outC, k, stride, padding, bias): `pads` as ONNX orders them [top, left, bottom, right].
 */
export function conv2d(
  g: GraphBuilder,
  x: string,
  prefix: string,
  inC: number,
  outC: number,
  options: { kernel?: number; stride?: number; pads?: number[]; bias?: boolean } = {},
): string {
  const k = options.kernel ?? 3
  const p = (k - 1) / 2
  const weight = g.param(`${prefix}.weight`, [outC, inC, k, k])
  const bias = options.bias === false ? [] : [g.param(`${prefix}.bias`, [outC])]
  return g.op(prefix, 'Conv', [x, weight, ...bias], {
    kernel_shape: [k, k],
    strides: [options.stride ?? 1, options.stride ?? 1],
    pads: options.pads ?? [p, p, p, p],
  })
}

/** nn.Linear on [B, in]: Gemm with the weight as stored ([out, in], transB), so no copy of it. */
export function linear(g: GraphBuilder, x: string, prefix: string, inF: number, outF: number): string {
  const weight = g.param(`${prefix}.weight`, [outF, inF])
  const bias = g.param(`${prefix}.bias`, [outF])
  return g.op(prefix, 'Gemm', [x, weight, bias], { transB: 1 })
}

/**
 * nn.Linear applied to every position of [B, in, L] (a token sequence kept channels-first): a kernel-1
 * Conv, the [out, in] weight declared as [out, in, 1] (the same values, no copy).
 */
export function linearOverPositions(g: GraphBuilder, x: string, prefix: string, inF: number, outF: number): string {
  const weight = g.param(`${prefix}.weight`, [outF, inF], [outF, inF, 1])
  const bias = g.param(`${prefix}.bias`, [outF])
  return g.op(prefix, 'Conv', [x, weight, bias], { kernel_shape: [1] })
}

/**
 * nn.GroupNorm(groups, C, eps) on [B, C, ...]: as torch.onnx exports it for opsets before 18, the groups
 * normalized by InstanceNormalization over [B, groups, rest], then the per-channel affine.
 */
export function groupNorm(
  g: GraphBuilder,
  x: string,
  prefix: string,
  groups: number,
  channels: number,
  eps: number,
): string {
  if (channels % groups !== 0)
    throw new EngineError(
      'unsupported-model',
      `${g.describe.config}: ${prefix} normalizes ${channels} channels in ${groups} groups; they must divide evenly`,
    )
  const grouped = g.op(prefix, 'Reshape', [x, g.ints([0, groups, -1])])
  const ones = g.floats(new Float32Array(groups).fill(1))
  const zeros = g.floats(new Float32Array(groups))
  const normed = g.op(prefix, 'InstanceNormalization', [grouped, ones, zeros], { epsilon: { float: eps } })
  const back = g.op(prefix, 'Reshape', [normed, g.op(prefix, 'Shape', [x])])
  const scale = g.param(`${prefix}.weight`, [channels], [channels, 1, 1])
  const bias = g.param(`${prefix}.bias`, [channels], [channels, 1, 1])
  return g.op(prefix, 'Add', [g.op(prefix, 'Mul', [back, scale]), bias])
}

/** diffusers' activations (models/activations.py ACT2CLS), by the names configs use. */
export const ACTIVATIONS = ['silu', 'swish', 'mish', 'gelu', 'relu'] as const
export type Activation = (typeof ACTIVATIONS)[number]

export function activation(g: GraphBuilder, x: string, scope: string, fn: Activation): string {
  switch (fn) {
    case 'silu':
    case 'swish':
      return g.op(scope, 'Mul', [x, g.op(scope, 'Sigmoid', [x])])
    case 'mish': // x * tanh(softplus(x))
      return g.op(scope, 'Mul', [x, g.op(scope, 'Tanh', [g.op(scope, 'Softplus', [x])])])
    case 'gelu': {
      // nn.GELU() is the exact one: x * (1 + erf(x / sqrt 2)) / 2
      const erf = g.op(scope, 'Erf', [g.op(scope, 'Div', [x, g.floats([Math.SQRT2], [])])])
      const half = g.op(scope, 'Mul', [x, g.floats([0.5], [])])
      return g.op(scope, 'Mul', [half, g.op(scope, 'Add', [erf, g.floats([1], [])])])
    }
    case 'relu':
      return g.op(scope, 'Relu', [x])
  }
}

/** F.interpolate(x, scale_factor=2, mode="nearest"), as torch.onnx exports it. */
export function upsampleNearest2x(g: GraphBuilder, x: string, scope: string): string {
  return g.op(scope, 'Resize', [x, '', g.floats([1, 1, 2, 2])], {
    mode: 'nearest',
    coordinate_transformation_mode: 'asymmetric',
    nearest_mode: 'floor',
  })
}

/** nn.AvgPool2d(kernel_size=2, stride=2). */
export function avgPool2x(g: GraphBuilder, x: string, scope: string): string {
  return g.op(scope, 'AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] })
}

/** x[:, :, None, None] */
export const toPixels = (g: GraphBuilder, x: string, scope: string) => g.op(scope, 'Unsqueeze', [x, g.ints([2, 3])])
