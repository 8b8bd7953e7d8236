/**
 * The command line with models as training left them: the peers' diffusers pipelines sample to their
 * references with only the README's flags, `convert` writes the ONNX Stepwise runs, `inspect` says where
 * each fact came from, and what cannot be opened exits 2 with one line.
 */
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

import { readNpy, writeNpy } from '../../../src-main/engine/npy'
import { dummyModel } from '../../fixtures/onnx-builder'
import { cli } from './capture'

const PEERS = join(import.meta.dirname, '..', '..', 'fixtures', 'peers', 'diffusers')
const LUCIDRAINS = join(import.meta.dirname, '..', '..', 'fixtures', 'peers', 'lucidrains', 'cosine-eps-gray28')
const OWN_LUCIDRAINS = join(import.meta.dirname, '..', '..', 'fixtures', 'lucidrains')

afterEach(() => vi.restoreAllMocks())

let tmp: string
const savedCache = process.env.XDG_CACHE_HOME
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'stepwise-cli-models-'))
  process.env.XDG_CACHE_HOME = join(tmp, 'cache') // the CLI's per-user cache, kept out of the real one
})
afterAll(() => {
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME
  else process.env.XDG_CACHE_HOME = savedCache
})

/** The command: `sample --model M --sampler ddim --steps 20 --eta 0 [--class k] --init-noise x_T.npy --save-npy`. */
const ddim20 = (model: string, xT: string, out: string, extra: readonly string[] = []) =>
  cli(
    'sample',
    '--model',
    model,
    '--sampler',
    'ddim',
    '--steps',
    '20',
    '--eta',
    '0',
    ...extra,
    '--init-noise',
    xT,
    '--save-npy',
    '--out',
    out,
  )

const npy = async (path: string) => readNpy(new Uint8Array(await readFile(path)), path)
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0)

describe("sample reproduces the peers' references with only the README's flags", () => {
  for (const [name, extra] of [
    ['uncond-rgb32', []],
    ['class-gray28', ['--class', '3']],
  ] as const) {
    it(`${name}: sample --model pipeline --sampler ddim --steps 20 --eta 0 ${extra.join(' ')} --init-noise x_T.npy --save-npy`, async () => {
      const out = join(tmp, `sample-${name}`)
      const r = await ddim20(join(PEERS, name, 'pipeline'), join(PEERS, name, 'x_T.npy'), out, extra)
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      const got = await npy(join(out, 'samples.npy'))
      const ref = await npy(join(PEERS, name, 'ddim20_ref.npy'))
      expect(got.shape).toEqual(ref.shape) // batch and size from the x_T array
      const diff = maxDiff(got.data, ref.data)
      console.log(`cli sample ${name}: max diff ${diff.toExponential(2)}`)
      expect(diff).toBeLessThan(1e-3)
    })
  }
})

describe("sample reproduces lucidrains' ddim_sample from Trainer.save's model-N.pt alone", () => {
  it('cosine-eps-gray28: sample --model model-3.pt --sampler ddim --steps 20 --eta 0 --init-noise x_T.npy --save-npy', async () => {
    const out = join(tmp, 'sample-lucidrains')
    const r = await ddim20(join(LUCIDRAINS, 'model-3.pt'), join(LUCIDRAINS, 'x_T.npy'), out)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const diff = maxDiff(
      (await npy(join(out, 'samples.npy'))).data,
      (await npy(join(LUCIDRAINS, 'ddim20_ref.npy'))).data,
    )
    console.log(`cli sample lucidrains cosine-eps-gray28: max diff ${diff.toExponential(2)}`)
    expect(diff).toBeLessThan(1e-3)
  })

  it('inspect says what was read from the checkpoint, inferred from the weights, and assumed', async () => {
    const r = await cli('inspect', join(LUCIDRAINS, 'model-3.pt'))
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines).toContain('  from checkpoint')
    expect(lines).toContain("    weights=ema  (ema.ema_model.*: the EMA's, what Trainer samples with)")
    expect(lines).toContain('    objective=pred_noise  (loss_weight)')
    expect(lines).toContain('    dim_mults=(1, 2, 2)  (downs.*: stage widths 16, 32, 32)')
    expect(lines).toContain('    use_clipped_model_output=true  (rederive_pred_noise: the noise from the clipped x0)')
    // No sample grid beside it: the size is assumed; its two Downsamples say what any size must be a multiple of.
    expect(lines).toContain('  size            32x32 (from smallest; any multiple of 4)')
    expect(lines.find((l) => l.startsWith('  source'))).toContain(
      'lucidrains denoising-diffusion-pytorch Unet, 319,681',
    )
    expect(lines).toContain('  training        cosine, T = 1000 (its alphas_cumprod), epsilon')
  })

  it("inspect says an EDM model's schedule as EDM's sigmas, not a custom one", async () => {
    const r = await cli('inspect', join(OWN_LUCIDRAINS, 'elucidated', 'model-3.pt'))
    expect(r.code).toBe(0)
    expect(r.stdout.split('\n')).toContain('  training        EDM, σ 0.002–80, 1000 virtual timesteps, sample')
  })
})

describe('sample says what it assumed', () => {
  it('a model with no schedule and no size: a note on stderr, and in --json', async () => {
    const model = join(tmp, 'bare.onnx')
    await writeFile(model, dummyModel(1))
    const r = await cli('sample', '--model', model, '--steps', '2', '--out', join(tmp, 'bare'))
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(
      'stepwise: note: bare.onnx: no source gives num_train_timesteps, beta_schedule, beta_start, beta_end, prediction_type; assumed linear, T=1000, beta 0.0001..0.02, epsilon (give them in a sidecar .json)',
    )
    const j = await cli('sample', '--model', model, '--steps', '2', '--out', join(tmp, 'bare-json'), '--json')
    expect(j.stderr).not.toContain('note:') // the notes go into the JSON
    expect(JSON.parse(j.stdout).notes[0]).toMatch(/^bare\.onnx: no source gives num_train_timesteps/)
  })

  it('a checkpoint without its sample grid: the size assumed, and what another must be a multiple of', async () => {
    const r = await cli('sample', '--model', join(LUCIDRAINS, 'model-3.pt'), '--steps', '2', '--out', join(tmp, 'grid'))
    expect(r.code).toBe(0)
    expect(r.stderr).toContain(
      'stepwise: note: model-3.pt: no source gives the image size; assumed 32x32 (--height, --width: any multiple of 4)',
    )
  })
})

describe('convert writes the ONNX Stepwise runs, with the training config as stepwise.* metadata', () => {
  it('class-gray28: the converted file alone samples the same and keeps the scheduler config', async () => {
    const onnx = join(tmp, 'class-gray28.onnx')
    const r = await cli('convert', join(PEERS, 'class-gray28', 'pipeline'), '--out', onnx)
    expect(r.code).toBe(0)
    expect(r.stdout).toBe(
      `${onnx}: diffusers UNet2DModel, 280,881 parameters (${(await readFile(onnx)).length} bytes)\n`,
    )
    const inspected = JSON.parse((await cli('inspect', onnx, '--json')).stdout)
    expect(inspected.layout).toBe('onnx')
    expect(inspected.name).toBe('pipeline')
    expect(inspected.training.schedule).toMatchObject({ schedule: 'cosine', trainSteps: 1000 })
    expect(inspected.training.sampler).toMatchObject({ predictionType: 'v_prediction', clipSample: true })
    expect(inspected.metadataOrigin).toMatchObject({
      beta_schedule: 'onnx-metadata',
      num_class_embeds: 'onnx-metadata',
      size_multiple: 'onnx-metadata',
    })
    expect(inspected.training.assumed).toEqual([])
    // Three down blocks halve it twice: the converted graph's sides stay multiples of 4.
    expect((await cli('inspect', onnx)).stdout).toContain('  size            28x28 (from metadata; any multiple of 4)')

    const out = join(tmp, 'converted-sample')
    const s = await ddim20(onnx, join(PEERS, 'class-gray28', 'x_T.npy'), out, ['--class', '3'])
    expect(s.code).toBe(0)
    expect(
      maxDiff(
        (await npy(join(out, 'samples.npy'))).data,
        (await npy(join(PEERS, 'class-gray28', 'ddim20_ref.npy'))).data,
      ),
    ).toBeLessThan(1e-3)
  })

  it("a lucidrains checkpoint's cosine schedule: converted, its alphas_cumprod still named so", async () => {
    const onnx = join(tmp, 'lucidrains-cosine.onnx')
    expect((await cli('convert', join(LUCIDRAINS, 'model-3.pt'), '--out', onnx)).code).toBe(0)
    const lines = (await cli('inspect', onnx)).stdout.split('\n')
    expect(lines).toContain('  training        cosine, T = 1000 (its alphas_cumprod), epsilon')
  })

  it('refuses to replace a file without --overwrite; no --out: exit 2', async () => {
    const onnx = join(tmp, 'twice.onnx')
    expect((await cli('convert', join(PEERS, 'class-gray28', 'pipeline'), '--out', onnx)).code).toBe(0)
    const again = await cli('convert', join(PEERS, 'class-gray28', 'pipeline'), '--out', onnx)
    expect(again).toMatchObject({
      code: 2,
      stderr: `stepwise: ${onnx} already exists; choose another name or allow overwriting\n`,
    })
    expect((await cli('convert', join(PEERS, 'class-gray28', 'pipeline'), '--out', onnx, '--overwrite')).code).toBe(0)
    expect(await cli('convert', join(PEERS, 'class-gray28', 'pipeline'))).toMatchObject({
      code: 2,
      stderr: 'stepwise: convert: --out model.onnx is required\n',
    })
  })
})

describe('inspect lists where each fact came from', () => {
  it('the format, parameters, files read, config keys given and assumed', async () => {
    const r = await cli('inspect', join(PEERS, 'class-gray28', 'pipeline'))
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    // built by an earlier test's convert, then read back: the cache is per user, not per command
    expect(lines).toContain('  source          diffusers UNet2DModel, 280,881 parameters, graph cached')
    expect(lines).toContain(
      `    read ${join(PEERS, 'class-gray28', 'pipeline', 'unet', 'diffusion_pytorch_model.bin')}`,
    )
    expect(lines.find((l) => l.startsWith('  from config'))).toContain('num_class_embeds=11')
    expect(r.stdout).toMatch(/from +num_train_timesteps: scheduler-config, .*sample_size: unet-config/)
    const again = await cli('inspect', join(PEERS, 'class-gray28', 'pipeline'), '--json')
    expect(JSON.parse(again.stdout).source).toMatchObject({ format: 'diffusers', graph: 'cached', parameters: 280_881 })
  })
})

describe('channels from --init-noise or --channels for a graph that leaves them open', () => {
  it('the dummy model with every dimension dynamic', async () => {
    const model = join(tmp, 'dynamic.onnx')
    await writeFile(model, dummyModel('C'))
    const noise = join(tmp, 'noise.npy')
    await writeFile(noise, writeNpy(new Float32Array(2 * 3 * 4 * 4).fill(0.5), [2, 3, 4, 4]))
    const a = await cli(
      'sample',
      '--model',
      model,
      '--steps',
      '5',
      '--init-noise',
      noise,
      '--save-npy',
      '--out',
      join(tmp, 'dyn-a'),
    )
    expect(a.code).toBe(0)
    expect((await npy(join(tmp, 'dyn-a', 'samples.npy'))).shape).toEqual([2, 3, 4, 4])
    const b = await cli(
      'sample',
      '--model',
      model,
      '--steps',
      '5',
      '--channels',
      '1',
      '--height',
      '4',
      '--width',
      '4',
      '--save-npy',
      '--out',
      join(tmp, 'dyn-b'),
    )
    expect(b.code).toBe(0)
    expect((await npy(join(tmp, 'dyn-b', 'samples.npy'))).shape).toEqual([1, 1, 4, 4])
    const c = await cli('sample', '--model', model, '--steps', '5', '--out', join(tmp, 'dyn-c'))
    expect(c.code).toBe(2)
    expect(c.stderr).toMatch(
      /^stepwise: dynamic\.onnx: the graph leaves the channel count open .* \(--channels, or an --init-noise array\)\n$/,
    )
  })
})

describe('what cannot be opened exits 2 with one line', () => {
  it('a weights file without its config.json, a text-conditioned U-Net', async () => {
    const folder = join(tmp, 'weights-only')
    await mkdir(folder, { recursive: true })
    const weights = join(folder, 'diffusion_pytorch_model.bin')
    await copyFile(join(PEERS, 'class-gray28', 'pipeline', 'unet', 'diffusion_pytorch_model.bin'), weights)
    const r = await cli('inspect', weights)
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(
      `stepwise: ${weights}: a weights file needs the config.json saved with it (${join(folder, 'config.json')}); drop the folder holding both\n`,
    )
    await writeFile(join(folder, 'config.json'), JSON.stringify({ _class_name: 'UNet2DConditionModel' }))
    const s = await cli('sample', '--model', weights, '--out', join(tmp, 'never'))
    expect(s.code).toBe(2)
    expect(s.stderr).toBe(
      `stepwise: ${join(folder, 'config.json')}: a UNet2DConditionModel: text-conditioned and latent models are not supported yet\n`,
    )
  })
})
