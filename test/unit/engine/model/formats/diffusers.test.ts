/**
 * diffusers folders and weights files load as models: DDIM-20 reproduces diffusers' own DDIMPipeline loop
 * (1e-3) from the folder alone, the built graph is cached by content, and what cannot be opened says why.
 */
import { cp, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { beforeAll, describe, expect, it } from 'vitest'

import { loadModel } from '../../../../../src-main/engine/model/load'
import { trainingOf } from '../../../../../src-main/engine/model/training'
import { modelFacts, planRun } from '../../../../../src-main/engine/plan'
import { runSampling } from '../../../../../src-main/engine/run'
import { ddim20, FIXTURES, maxDiff, npy } from './peer-sampling'

const PEERS = join(FIXTURES, 'peers', 'diffusers')
const OWN = join(FIXTURES, 'diffusers')

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stepwise-diffusers-'))
})

describe("the peers' pipelines sample as diffusers' DDIMPipeline does, from the folder alone", () => {
  for (const [name, classLabel] of [
    ['uncond-rgb32', undefined],
    ['class-gray28', 3],
  ] as const) {
    it(`${name}: DDIM 20 steps eta 0 within 1e-3 of ddim20_ref.npy`, async () => {
      const xT = await npy(join(PEERS, name, 'x_T.npy'))
      const ref = await npy(join(PEERS, name, 'ddim20_ref.npy'))
      const { model, plan, samples } = await ddim20(join(PEERS, name, 'pipeline'), xT, classLabel)
      const diff = maxDiff(samples, ref.data)
      console.log(`ddim20 ${name}: max diff ${diff.toExponential(2)}`)
      expect(diff).toBeLessThan(1e-3)
      expect(plan.timesteps).toEqual([
        950, 900, 850, 800, 750, 700, 650, 600, 550, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50, 0,
      ])
      expect(model.info.layout).toBe('diffusers-folder')
      expect(model.info.name).toBe('pipeline')
      expect(model.info.source).toMatchObject({
        format: 'diffusers',
        parameters: name === 'uncond-rgb32' ? 1_002_883 : 280_881,
        graph: 'built',
        notes: [],
      })
      expect(model.info.metadata.origin).toMatchObject({
        beta_schedule: 'scheduler-config',
        sample_size: 'unet-config',
      })
    })
  }

  it("an old pipeline (google/ddpm-cifar10-32's keys only): assumed keys are listed with diffusers' defaults", async () => {
    const model = await loadModel(join(OWN, 'google-cifar-style', 'pipeline'), { providers: ['cpu'] })
    try {
      const facts = Object.fromEntries(model.info.source.facts.map((f) => [f.key, f]))
      expect(facts.downsample_padding).toEqual({ key: 'downsample_padding', value: '0', from: 'config' })
      expect(facts.resnet_time_scale_shift).toEqual({
        key: 'resnet_time_scale_shift',
        value: '"default"',
        from: 'assumed',
      })
      expect(facts.add_attention.from).toBe('assumed')
      const t = trainingOf(model.info)
      expect(t.samplerOptions.varianceType).toBe('fixed_small')
      expect(t.assumed).toEqual(['prediction_type'])
    } finally {
      await model.release()
    }
  })

  it('half-precision weights are upcast, and the card says so', async () => {
    const model = await loadModel(join(OWN, 'scale-shift-resnet', 'pipeline'), { providers: ['cpu'] })
    await model.release()
    expect(model.info.source.notes).toEqual(['diffusion_pytorch_model.safetensors: F16 weights upcast to float32'])
    expect(model.info.signature.classLabels?.dtype).toBe('int64')
  })
})

describe('class labels of class_embed_type "timestep" (any integer, no count in the config)', () => {
  it('are refused until the config names the classes, then sample', async () => {
    const pipe = join(dir, 'timestep-classes')
    await cp(join(OWN, 'class-timestep-mish', 'pipeline'), pipe, { recursive: true })
    const request = { sampler: { sampler: 'ddim' as const, steps: 3 }, seed: 0, batch: 1, classLabel: 3 }
    const refused = await loadModel(pipe, { providers: ['cpu'] })
    await refused.release()
    expect(() => planRun(modelFacts(refused.info), request)).toThrow(
      'class: timestep-classes takes class labels but its config says not how many: add "class_names" or "num_class_embeds" to it',
    )
    const configPath = join(pipe, 'unet', 'config.json')
    const config = JSON.parse(await readFile(configPath, 'utf8'))
    await writeFile(configPath, JSON.stringify({ ...config, class_names: ['a', 'b', 'c', 'd'] }))
    const named = await loadModel(pipe, { providers: ['cpu'] })
    try {
      const plan = planRun(modelFacts(named.info), request)
      expect((await runSampling(named, plan.run)).samples).toHaveLength(16 * 16)
      expect(named.info.source.notes).toEqual(['diffusion_pytorch_model.safetensors: BF16 weights upcast to float32'])
    } finally {
      await named.release()
    }
  })
})

describe('the places a diffusers model may be dropped from', () => {
  const copyPipeline = async (to: string) => {
    await cp(join(PEERS, 'class-gray28', 'pipeline'), join(dir, to), { recursive: true })
    return join(dir, to)
  }

  it('the weights file alone, beside its config.json: the same model, named after its pipeline', async () => {
    const pipe = await copyPipeline('alone')
    const model = await loadModel(join(pipe, 'unet', 'diffusion_pytorch_model.bin'), { providers: ['cpu'] })
    await model.release()
    expect(model.info.layout).toBe('diffusers-weights')
    expect(model.info.name).toBe('alone')
    expect(trainingOf(model.info).schedule.schedule).toBe('cosine') // the pipeline's scheduler config
  })

  it('the unet folder', async () => {
    const pipe = await copyPipeline('unet-only')
    const model = await loadModel(join(pipe, 'unet'), { providers: ['cpu'] })
    await model.release()
    expect(model.info.signature.classLabels).toBeDefined()
    expect(model.info.source.files.map((f) => f.slice(pipe.length))).toEqual([
      '/unet/diffusion_pytorch_model.bin',
      '/unet/config.json',
      '/scheduler/scheduler_config.json',
    ])
  })
})

describe("a checkpoint-N folder of diffusers' training scripts (accelerator.save_state)", () => {
  it('samples with unet_ema/ by default and the schedule of the pipeline saved beside it; unet/ when asked', async () => {
    // train_unconditional.py's output_dir: its pipeline, and checkpoint-N/ with unet/, unet_ema/ and accelerate's state.
    const run = join(dir, 'ddpm-run')
    await cp(join(PEERS, 'class-gray28', 'pipeline'), run, { recursive: true })
    const checkpoint = join(run, 'checkpoint-7')
    await cp(join(run, 'unet'), join(checkpoint, 'unet'), { recursive: true })
    await cp(join(run, 'unet'), join(checkpoint, 'unet_ema'), { recursive: true })
    // EMAModel.save_pretrained writes its own state into the config too.
    const config = JSON.parse(await readFile(join(checkpoint, 'unet_ema', 'config.json'), 'utf8'))
    const emaState = { decay: 0.9999, min_decay: 0, optimization_step: 7, update_after_step: 0, use_ema_warmup: true }
    await writeFile(join(checkpoint, 'unet_ema', 'config.json'), JSON.stringify({ ...config, ...emaState }))
    await writeFile(join(checkpoint, 'optimizer.bin'), 'not a model')
    await writeFile(join(checkpoint, 'random_states_0.pkl'), 'not a model')

    const xT = await npy(join(PEERS, 'class-gray28', 'x_T.npy'))
    const { model, samples } = await ddim20(checkpoint, xT, 3)
    expect(maxDiff(samples, (await npy(join(PEERS, 'class-gray28', 'ddim20_ref.npy'))).data)).toBeLessThan(1e-3)
    expect(model.info.name).toBe('checkpoint-7')
    expect(model.info.source.files.map((f) => f.slice(run.length))).toEqual([
      '/checkpoint-7/unet_ema/diffusion_pytorch_model.bin',
      '/checkpoint-7/unet_ema/config.json',
      '/scheduler/scheduler_config.json',
    ])
    expect(model.info.source.facts[0]).toMatchObject({ key: 'weights', value: 'ema', from: 'checkpoint' })
    expect(model.info.source.notes).toEqual([]) // EMAModel's keys are not UNet2DModel's, nor worth a note

    const online = await loadModel(checkpoint, { providers: ['cpu'], weights: 'online' })
    await online.release()
    // Either folder dropped by itself is that set of the checkpoint's weights, with the same schedule.
    for (const [part, name] of [
      ['unet_ema', 'checkpoint-7'],
      ['unet', 'checkpoint-7 (online weights)'],
    ]) {
      const alone = await loadModel(join(checkpoint, part), { providers: ['cpu'] })
      await alone.release()
      expect([alone.info.name, alone.info.source.files[2]]).toEqual([
        name,
        join(run, 'scheduler', 'scheduler_config.json'),
      ])
    }
    expect(online.info.name).toBe('checkpoint-7 (online weights)')
    expect([model.info.weights, online.info.weights]).toEqual([
      { taken: 'ema', both: true },
      { taken: 'online', both: true },
    ])
    expect(online.info.source.files[0].slice(run.length)).toBe('/checkpoint-7/unet/diffusion_pytorch_model.bin')

    // Trained without --use_ema: unet/ alone, and its name is the checkpoint's.
    await rm(join(checkpoint, 'unet_ema'), { recursive: true })
    const plain = await loadModel(checkpoint, { providers: ['cpu'] })
    await plain.release()
    expect(plain.info.name).toBe('checkpoint-7')
    expect(plain.info.source.facts[0]).toMatchObject({ key: 'weights', value: 'online' })
    expect(plain.info.weights).toEqual({ taken: 'online', both: false })
    await expect(loadModel(checkpoint, { weights: 'ema' })).rejects.toThrow(
      `${checkpoint}: holds no EMA weights (no unet_ema/: trained without --use_ema)`,
    )
  })
})

describe('the built graph is cached by content: the second open reads it back', () => {
  it('same samples from the cache; a copy elsewhere finds it by content; a change to the weights rebuilds', async () => {
    const cacheDir = join(dir, 'cache')
    const xT = await npy(join(PEERS, 'class-gray28', 'x_T.npy'))
    const first = await ddim20(join(PEERS, 'class-gray28', 'pipeline'), xT, 3, { cacheDir })
    const second = await ddim20(join(PEERS, 'class-gray28', 'pipeline'), xT, 3, { cacheDir })
    expect(first.model.info.source.graph).toBe('built')
    expect(second.model.info.source.graph).toBe('cached')
    expect(second.model.info.onnxPath).toMatch(/graphs[/\\][0-9a-f]{64}\.onnx$/)
    expect(Array.from(second.samples)).toEqual(Array.from(first.samples))
    expect(second.model.info.source.parameters).toBe(280_881)

    const copy = join(dir, 'copied')
    await cp(join(PEERS, 'class-gray28', 'pipeline'), copy, { recursive: true })
    const moved = await loadModel(copy, { providers: ['cpu'], cacheDir })
    await moved.release()
    expect(moved.info.source.graph).toBe('cached')

    const weights = join(copy, 'unet', 'diffusion_pytorch_model.bin')
    const bytes = await readFile(weights)
    bytes[bytes.length >> 1] ^= 1 // inside a storage (weights are most of the file): other weights, another graph
    await writeFile(weights, bytes)
    await utimes(weights, new Date(), new Date(Date.now() + 5000))
    const changed = await loadModel(copy, { providers: ['cpu'], cacheDir })
    await changed.release()
    expect(changed.info.source.graph).toBe('built')
  })

  it('a cache folder that cannot be written is skipped, not an error', async () => {
    const blocker = join(dir, 'not-a-folder')
    await writeFile(blocker, 'a file where the cache would go')
    const model = await loadModel(join(PEERS, 'class-gray28', 'pipeline'), { providers: ['cpu'], cacheDir: blocker })
    await model.release()
    expect(model.info.source.graph).toBe('built')
    expect(model.info.onnxPath).toBe('')
  })
})

describe('what cannot be opened says what to do, in one line', () => {
  async function loadError(path: string) {
    const e = await loadModel(path, { providers: ['cpu'] }).then(
      async (m) => (await m.release(), undefined),
      (err: unknown) => err as { code: string; message: string },
    )
    expect(e, `${path} should not load`).toBeDefined()
    expect(e!.message).not.toContain('\n')
    return e!
  }

  it('a weights file without its config.json names the file it needs', async () => {
    await mkdir(join(dir, 'lonely'), { recursive: true })
    const path = join(dir, 'lonely', 'diffusion_pytorch_model.safetensors')
    await cp(join(PEERS, 'uncond-rgb32', 'pipeline', 'unet', 'diffusion_pytorch_model.safetensors'), path)
    expect(await loadError(path)).toMatchObject({
      code: 'file-not-found',
      message: `${path}: a weights file needs the config.json saved with it (${join(dir, 'lonely', 'config.json')}); drop the folder holding both`,
    })
  })

  it('a latent or text-conditioned pipeline, or a UNet2DConditionModel', async () => {
    const sd = join(dir, 'sd')
    await mkdir(join(sd, 'unet'), { recursive: true })
    await writeFile(
      join(sd, 'model_index.json'),
      JSON.stringify({
        _class_name: 'StableDiffusionPipeline',
        vae: ['diffusers', 'AutoencoderKL'],
        text_encoder: ['transformers', 'CLIPTextModel'],
        unet: ['diffusers', 'UNet2DConditionModel'],
      }),
    )
    expect(await loadError(sd)).toMatchObject({
      code: 'unsupported-model',
      message: expect.stringMatching(
        /a StableDiffusionPipeline with vae, text_encoder: text-conditioned and latent models are not supported yet$/,
      ),
    })
    const unet = join(dir, 'cond-unet')
    await cp(join(PEERS, 'uncond-rgb32', 'pipeline', 'unet'), unet, { recursive: true })
    const config = JSON.parse(await readFile(join(unet, 'config.json'), 'utf8'))
    await writeFile(join(unet, 'config.json'), JSON.stringify({ ...config, _class_name: 'UNet2DConditionModel' }))
    expect((await loadError(unet)).message).toBe(
      `${join(unet, 'config.json')}: a UNet2DConditionModel: text-conditioned and latent models are not supported yet`,
    )
  })

  it('an unsupported option names it; identity class embeddings say what they would need', async () => {
    const unet = join(dir, 'spatial')
    await cp(join(PEERS, 'uncond-rgb32', 'pipeline', 'unet'), unet, { recursive: true })
    const config = JSON.parse(await readFile(join(unet, 'config.json'), 'utf8'))
    await writeFile(join(unet, 'config.json'), JSON.stringify({ ...config, resnet_time_scale_shift: 'spatial' }))
    expect(await loadError(unet)).toMatchObject({
      code: 'unsupported-model',
      message: expect.stringContaining('resnet_time_scale_shift "spatial"'),
    })
    expect((await loadError(join(OWN, 'identity-learned-nomid', 'pipeline'))).message).toMatch(
      /class_embed_type "identity" adds a caller-made vector to the time embedding, not a class id/,
    )
  })

  it('a folder that is no model, a pipeline without its unet, a pickle that would run code', async () => {
    await mkdir(join(dir, 'empty'), { recursive: true })
    expect((await loadError(join(dir, 'empty'))).message).toMatch(
      /empty: not a diffusers folder \(needs model_index.json/,
    )
    const pipe = join(dir, 'no-unet')
    await mkdir(pipe, { recursive: true })
    await writeFile(join(pipe, 'model_index.json'), JSON.stringify({ _class_name: 'DDPMPipeline' }))
    expect((await loadError(pipe)).message).toMatch(/a diffusers folder without its U-Net: needs unet\/config.json/)
    const evil = join(dir, 'evil')
    await cp(join(PEERS, 'class-gray28', 'pipeline', 'unet'), evil, { recursive: true })
    await rm(join(evil, 'diffusion_pytorch_model.bin'))
    await cp(join(OWN, 'weights', 'os-system.bin'), join(evil, 'diffusion_pytorch_model.bin'))
    expect(await loadError(evil)).toMatchObject({
      code: 'unsafe-pickle',
      message: expect.stringContaining('pickle calls os.system: refused'),
    })
  })
})
