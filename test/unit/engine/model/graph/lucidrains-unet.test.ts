/**
 * lucidrains' Unet built as an ONNX graph from the config its weights imply gives the peer's own forward passes
 * (1e-4): the peers' checkpoint and our configurations beyond it (test/fixtures/lucidrains/README.md).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'

import { LOG_SNR, logSnrTable } from '../../../../../src-main/engine/model/formats/lucidrains-continuous'
import {
  EDM_TRAIN_STEPS,
  edmAlphasCumprod,
  ELUCIDATED_DEFAULTS,
} from '../../../../../src-main/engine/model/graph/edm-precondition'
import { Unet } from '../../../../../src-main/engine/model/graph/lucidrains-unet'
import { inferUnetConfig } from '../../../../../src-main/engine/model/graph/lucidrains-unet-config'
import { encodeOnnx } from '../../../../../src-main/engine/model/graph/onnx-graph'
import { isDict, type PyDict } from '../../../../../src-main/engine/model/weights/pickle'
import type { Weights } from '../../../../../src-main/engine/model/weights/tensor'
import { isTensor, readTorchArchive } from '../../../../../src-main/engine/model/weights/torch'
import { readNpy } from '../../../../../src-main/engine/npy'

const FIXTURES = join(import.meta.dirname, '..', '..', '..', '..', 'fixtures')
const OWN = join(FIXTURES, 'lucidrains')

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)

/** The graph's output for images x [B, C, H, W] at `time` (one a row), and any other inputs it takes. */
async function forward(
  session: ort.InferenceSession,
  x: { data: Float32Array; shape: number[] },
  time: ArrayLike<number>,
  more: Record<string, ort.Tensor> = {},
): Promise<Float32Array> {
  const feeds = {
    x: new ort.Tensor('float32', x.data, x.shape),
    time: new ort.Tensor('float32', Float32Array.from(time), [x.shape[0]]),
    ...more,
  }
  return (await session.run(feeds)).out.data as Float32Array
}
const npy = (path: string) => readNpy(new Uint8Array(readFileSync(path)), path)

/** The Unet's weights under `prefix` of a checkpoint's dict (`ema` of Trainer.save, or the state dict itself). */
function unetWeights(checkpoint: string, pick: (root: PyDict) => PyDict, prefix: string): Weights {
  const root = readTorchArchive(new Uint8Array(readFileSync(checkpoint)), checkpoint)
  if (!isDict(root)) throw new Error(`${checkpoint}: not a dict`)
  const weights: Weights = new Map()
  for (const [k, t] of pick(root))
    if (typeof k === 'string' && k.startsWith(prefix) && isTensor(t)) weights.set(k.slice(prefix.length), t.stored())
  return weights
}

const ema = (root: PyDict) => root.get('ema') as PyDict

const CASES = [
  // [name, checkpoint, which dict, prefix, parameters]
  [
    'cosine-eps-gray28',
    join(FIXTURES, 'peers', 'lucidrains', 'cosine-eps-gray28', 'model-3.pt'),
    ema,
    'ema_model.model.',
    319_681,
  ],
  ['x0-linear', join(OWN, 'x0-linear', 'model-3.pt'), ema, 'ema_model.model.', 158_387],
  ['v-sigmoid-attn', join(OWN, 'v-sigmoid-attn', 'model-3.pt'), ema, 'ema_model.model.', 120_907],
  ['full-attn', join(OWN, 'full-attn', 'model-3.pt'), ema, 'ema_model.model.', 50_203],
  ['self-cond', join(OWN, 'self-cond', 'model-3.pt'), ema, 'ema_model.model.', 57_581],
  ['learned-variance', join(OWN, 'learned-variance', 'model-3.pt'), ema, 'ema_model.model.', 50_246],
  // learned sinusoidal time features (ContinuousTimeGaussianDiffusion's Unet), at two log-SNRs
  ['continuous-time', join(OWN, 'continuous-time', 'continuous-time.pt'), (r: PyDict) => r, 'model.', 50_385],
] as const

describe("the Unet graph gives lucidrains' forward pass", () => {
  for (const [name, checkpoint, pick, prefix, parameters] of CASES) {
    it(`${name}: within 1e-4, every weight used`, async () => {
      const weights = unetWeights(checkpoint, pick, prefix)
      const { config } = inferUnetConfig(weights, checkpoint)
      const built = Unet(config, weights, { weights: checkpoint, config: 'inferred' })
      expect(built.unused).toEqual([])
      expect(built.parameters).toBe(parameters)
      const session = await ort.InferenceSession.create(encodeOnnx(built.graph))
      try {
        const dir = join(OWN, name)
        const x = npy(join(dir, 'forward_x.npy'))
        const t = npy(join(dir, 'forward_t.npy'))
        const ref = npy(join(dir, 'forward_out.npy'))
        const sc = config.selfCondition ? npy(join(dir, 'forward_self_cond.npy')) : undefined
        const out = await forward(
          session,
          x,
          t.data,
          sc && { x_self_cond: new ort.Tensor('float32', sc.data, sc.shape) },
        )
        const diff = maxDiff(out, ref.data)
        console.log(`forward ${name}: max diff ${diff.toExponential(2)}`)
        expect(out).toHaveLength(ref.data.length)
        expect(diff).toBeLessThan(1e-4)
      } finally {
        await session.release()
      }
    })
  }
})

describe("classifier_free_guidance.py's Unet: its classes, and its null embedding one past them", () => {
  it('gives its forward pass with cond_drop_prob 0 and 1, within 1e-4, every weight used', async () => {
    const checkpoint = join(OWN, 'class-cfg', 'cfg-state-dict.pt')
    const weights = unetWeights(checkpoint, (r) => r, 'model.')
    const { config, facts } = inferUnetConfig(weights, checkpoint)
    expect(config).toMatchObject({ classes: { count: 3 }, downsample: 'strided' })
    expect([...config.attention, config.mid].map((a) => [a.full, a.heads, a.dimHead, a.preNorm])).toEqual([
      [false, 4, 32, true],
      [false, 4, 32, true],
      [true, 4, 8, true],
    ])
    expect(facts.find((f) => f.key === 'attn_heads')).toMatchObject({ value: '4', from: 'assumed' })
    const built = Unet(config, weights, { weights: checkpoint, config: 'inferred' })
    expect(built.unused).toEqual([])
    expect(built.parameters).toBe(77_569)
    const session = await ort.InferenceSession.create(encodeOnnx(built.graph))
    try {
      const dir = join(OWN, 'class-cfg')
      const x = npy(join(dir, 'forward_x.npy'))
      const t = npy(join(dir, 'forward_t.npy'))
      const classes = Array.from(npy(join(dir, 'forward_classes.npy')).data, BigInt)
      for (const [ref, labels] of [
        ['forward_cond.npy', classes],
        ['forward_null.npy', classes.map(() => 3n)], // cond_drop_prob 1: null_classes_emb for every image
      ] as const) {
        const want = npy(join(dir, ref)).data
        const classes = new ort.Tensor('int64', BigInt64Array.from(labels), [2])
        const diff = maxDiff(await forward(session, x, t.data, { classes }), want)
        console.log(`forward class-cfg ${ref}: max diff ${diff.toExponential(2)}`)
        expect(diff).toBeLessThan(1e-4)
      }
    } finally {
      await session.release()
    }
  })
})

describe("ElucidatedDiffusion's Unet in EDM's preconditioning", () => {
  const edm = { ...ELUCIDATED_DEFAULTS, trainSteps: EDM_TRAIN_STEPS }
  it('the virtual schedule: sigma_min at t = 0, sigma_max at T - 1, log sigma uniform between', () => {
    const sigmas = Array.from(edmAlphasCumprod(edm), (ab) => Math.sqrt((1 - ab) / ab))
    expect(sigmas[0]).toBeCloseTo(0.002, 9)
    expect(sigmas[999]).toBeCloseTo(80, 6)
    const steps = sigmas.slice(1).map((s, t) => Math.log(s / sigmas[t]))
    for (const step of steps) expect(step).toBeCloseTo(Math.log(80 / 0.002) / 999, 9)
  })
  it("gives preconditioned_network_forward from x_t and the virtual timestep, within 1e-4, at sigmas on and off the table's", async () => {
    const checkpoint = join(OWN, 'elucidated', 'model-3.pt')
    const weights = unetWeights(checkpoint, ema, 'ema_model.net.')
    const { config } = inferUnetConfig(weights, checkpoint)
    const built = Unet(config, weights, { weights: checkpoint, config: 'inferred' }, { edm })
    expect(built.unused).toEqual([])
    const session = await ort.InferenceSession.create(encodeOnnx(built.graph))
    try {
      const dir = join(OWN, 'elucidated')
      // x0 + sigma noise (EDM's scale) and sigma, one a row: the graph takes x_t = x / sqrt(1 + sigma^2) and t.
      const x = npy(join(dir, 'forward_x.npy'))
      const sigma = Array.from(npy(join(dir, 'forward_sigma.npy')).data)
      const ref = npy(join(dir, 'forward_out.npy')).data
      const per = x.data.length / sigma.length
      const xt = x.data.map((v, i) => v / Math.sqrt(1 + sigma[Math.floor(i / per)] ** 2))
      const t = sigma.map((s) => (Math.log(s) - Math.log(0.002)) / ((Math.log(80) - Math.log(0.002)) / 999))
      expect(t[0]).toBeCloseTo(0, 4)
      expect(t[3]).toBeCloseTo(999, 3)
      const diff = maxDiff(await forward(session, { data: xt, shape: x.shape }, t), ref)
      console.log(`forward elucidated (D at sigma ${sigma.join(', ')}): max diff ${diff.toExponential(2)}`)
      expect(diff).toBeLessThan(1e-4)
      // D at sigma_min is nearly x itself (c_skip ~ 1), at sigma_max nearly the net's own output: both ends used.
      const row = (k: number) => Array.from(ref.slice(k * per, (k + 1) * per))
      expect(Math.max(...row(0).map((v, i) => Math.abs(v - x.data[i])))).toBeLessThan(0.01)
    } finally {
      await session.release()
    }
  })
})

describe('a Unet that takes log SNR, behind a table of it', () => {
  it('gives the Unet at the log SNR interpolated between timesteps, clamped at the ends', async () => {
    const checkpoint = join(OWN, 'continuous-linear', 'state-dict.pt')
    const weights = unetWeights(checkpoint, (r) => r, 'model.')
    const { config } = inferUnetConfig(weights, checkpoint)
    const table = logSnrTable(LOG_SNR.linear)
    const describe = { weights: checkpoint, config: 'inferred' }
    const [plain, wrapped] = await Promise.all(
      [Unet(config, weights, describe), Unet(config, weights, describe, { logSnr: table })].map((b) =>
        ort.InferenceSession.create(encodeOnnx(b.graph)),
      ),
    )
    try {
      const x = npy(join(OWN, 'continuous-linear', 'forward_x.npy'))
      const run = (session: ort.InferenceSession, time: number[]) => forward(session, x, time)
      const lerp = (k: number) =>
        table[Math.floor(k)] + (k - Math.floor(k)) * (table[Math.ceil(k)] - table[Math.floor(k)])
      for (const [timesteps, logSnr] of [
        [
          [99, 899],
          [table[99], table[899]],
        ],
        [
          [123.4, 998.75],
          [lerp(123.4), lerp(998.75)],
        ],
        [
          [-3, 1200],
          [table[0], table[999]],
        ],
      ]) {
        const diff = maxDiff(await run(wrapped, timesteps), await run(plain, logSnr))
        expect(diff).toBeLessThan(1e-5)
      }
      // Not the same as the neighbouring timestep's: the table is read between entries.
      expect(maxDiff(await run(wrapped, [123.4, 998.75]), await run(wrapped, [123, 998]))).toBeGreaterThan(1e-5)
    } finally {
      await Promise.all([plain.release(), wrapped.release()])
    }
  })
})

describe('the Unet is inferred from its weights, or refused by name', () => {
  const weights = unetWeights(join(OWN, 'v-sigmoid-attn', 'model-3.pt'), ema, 'ema_model.model.')
  it('stage by stage: widths, full or linear attention, heads and head widths', () => {
    const { config } = inferUnetConfig(weights, 'model-3.pt')
    expect(config).toMatchObject({ dim: 8, initDim: 8, dimMults: [1, 2, 2, 2], channels: 3, selfCondition: false })
    expect(config.attention.map((a) => [a.full, a.heads, a.dimHead])).toEqual([
      [false, 2, 8],
      [true, 2, 4],
      [false, 4, 8],
      [true, 2, 8],
    ])
  })
  it('weights that are not its Unet, or shapes that contradict it', () => {
    expect(() => inferUnetConfig(new Map(), 'x.pt')).toThrow(
      'x.pt: no init_conv.weight: not the Unet of denoising_diffusion_pytorch (its weights: none)',
    )
    const odd = new Map(weights)
    odd.set('final_conv.weight', { ...weights.get('final_conv.weight')!, shape: [5, 8, 1, 1] })
    expect(() => inferUnetConfig(odd, 'x.pt')).toThrow(
      'x.pt: final_conv gives 5 channels for 3 in (an out_dim of your own): not supported yet',
    )
  })
})
