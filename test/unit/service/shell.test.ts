import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Conf from 'conf'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { decodeGifFrames } from '../../../src-main/engine/export/gif'
import { decodePng, readPngText, readStepwiseParameters } from '../../../src-main/engine/export/png'
import { encodePng } from '../../../src-main/engine/export/png'
import { defaultModelPath } from '../../../src-main/engine/model/default-model'
import { type EngineClient, startEngine } from '../../../src-main/service/engine-client'
import { createShell, providersFor, type Shell } from '../../../src-main/service/shell'
import { openSettings } from '../../../src-main/settings'
import type { ExportRequest, ModelCard, Result, SampleStarted, SettingsAnswer } from '../../../src-preload/contract'

let engine: EngineClient
let shell: Shell
const saved: { files: { name: string; bytes: Uint8Array }[]; request: ExportRequest }[] = []
const dragged: { name: string; bytes: Uint8Array }[] = []
let settingsDir: string

const value = <T>(r: Result<T>): T => {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`)
  return r.value
}

/** Start a run through the shell and wait until the engine reports it done. */
async function sample(request: object): Promise<SampleStarted> {
  const started = value(await shell.handle('sample.start', request)) as SampleStarted
  await new Promise<void>((resolve, reject) => {
    const offDone = engine.on('done', (p) => p.runId === started.runId && (offDone(), offFailed(), resolve()))
    const offFailed = engine.on(
      'failed',
      (p) => p.runId === started.runId && (offDone(), offFailed(), reject(new Error(p.error.message))),
    )
  })
  return started
}

beforeAll(() => {
  engine = startEngine()
  settingsDir = mkdtempSync(join(tmpdir(), 'stepwise-shell-'))
  const settings = openSettings({
    file: join(settingsDir, 'settings.json'),
    make: () => new Conf({ cwd: settingsDir, configName: 'settings', projectName: 'stepwise-test' }),
  })
  shell = createShell({
    engine,
    settings,
    save: async (files, request) => {
      saved.push({ files, request })
      return files.map((f) => `/exports/${f.name}`)
    },
    remember: (path) => !path.includes('upload'),
    dragOut: async (file) => (dragged.push(file), true),
  })
})

afterAll(async () => {
  await engine?.close()
})

describe('exports through the shell', () => {
  it('export.save writes the PNG of one image with its parameters, named by its seed', async () => {
    const card = value(await shell.handle('model.load', { providers: ['cpu'] })) as ModelCard
    // The model hash: the start of the weights file's SHA-256, as sha256sum (and A1111) give it.
    const sha256 = createHash('sha256').update(readFileSync(defaultModelPath())).digest('hex')
    expect(card.hash).toBe(sha256.slice(0, 10))
    const run = await sample({ sampler: { sampler: 'ddim', steps: 4 }, seed: 40, batch: 3, classLabel: 7, guidance: 2 })
    const r = value(await shell.handle('export.save', { runId: run.runId, kind: 'png', index: 2 })) as {
      paths: string[]
    }
    expect(r.paths).toEqual(['/exports/seed-42.png'])
    const png = saved.at(-1)!.files[0].bytes
    expect(decodePng(png)).toMatchObject({ width: 28, height: 28, channels: 1 })
    const p = readStepwiseParameters(png, 'seed-42.png') as {
      seed: number
      classLabel: number
      guidance: number
      sampler: { steps: number }
    }
    expect(p).toMatchObject({ seed: 42, classLabel: 7, guidance: 2, sampler: { steps: 4 }, modelHash: card.hash })
    expect(readPngText(png, 'x').parameters).toContain('seed: 42')
    expect(readPngText(png, 'x').parameters).toContain(
      `model: Stepwise digits, model hash: ${card.hash}, sampler: DDIM`,
    )
  })

  it('every PNG of the batch, the contact sheet and a GIF of a chosen length', async () => {
    const run = await sample({ sampler: { sampler: 'ddim', steps: 12 }, seed: 5, batch: 2 })
    const all = value(await shell.handle('export.save', { runId: run.runId, kind: 'png' })) as { paths: string[] }
    expect(all.paths).toEqual(['/exports/seed-5.png', '/exports/seed-6.png'])
    const sheet = value(await shell.handle('export.save', { runId: run.runId, kind: 'sheet' })) as { paths: string[] }
    expect(sheet.paths).toEqual(['/exports/sheet-seed-5.png'])
    expect(decodePng(saved.at(-1)!.files[0].bytes).width).toBeGreaterThan(2 * 28)
    value(
      await shell.handle('export.save', {
        runId: run.runId,
        kind: 'gif',
        index: 1,
        gifOf: 'x0',
        gifFrames: 6,
        gifDelayMs: 50,
      }),
    )
    const gif = saved.at(-1)!.files[0]
    expect(gif.name).toBe('denoising-x0-seed-6.gif')
    expect(decodeGifFrames(gif.bytes)).toHaveLength(6)
    // Every step plus the final sample when no frame count is asked for.
    value(await shell.handle('export.save', { runId: run.runId, kind: 'gif' }))
    expect(decodeGifFrames(saved.at(-1)!.files[0].bytes)).toHaveLength(13)
  })

  it('the exported PNG of an image equals the final sample the run sent', async () => {
    const started = value(
      await shell.handle('sample.start', { sampler: { sampler: 'ddim', steps: 3 }, seed: 9, batch: 1 }),
    ) as SampleStarted
    const samples = await new Promise<Float32Array>((resolve) => {
      const off = engine.on('done', (p) => p.runId === started.runId && (off(), resolve(new Float32Array(p.samples))))
    })
    value(await shell.handle('export.save', { runId: started.runId, kind: 'png', index: 0 }))
    const png = saved.at(-1)!.files[0].bytes
    expect(Buffer.from(png)).toEqual(
      Buffer.from(
        encodePng(
          { channels: 1, height: 28, width: 28, data: samples },
          {
            parameters: readPngText(png, 'x').parameters,
            stepwise: readStepwiseParameters(png, 'x'),
          },
        ),
      ),
    )
  })

  it('refuses to export an unknown run or an image outside the batch', async () => {
    const unknown = await shell.handle('export.save', { runId: 'nope', kind: 'png' })
    expect(unknown).toMatchObject({ ok: false, error: { code: 'bad-argument' } })
    const run = await sample({ sampler: { sampler: 'ddim', steps: 2 }, seed: 1, batch: 1 })
    const outside = await shell.handle('export.save', { runId: run.runId, kind: 'png', index: 1 })
    expect(outside).toMatchObject({
      ok: false,
      error: { code: 'bad-argument', message: expect.stringContaining('outside the batch') },
    })
  })

  it('image.drag hands the drag the PNG of one image, with its parameters; not a sheet or a batch', async () => {
    const run = await sample({ sampler: { sampler: 'ddim', steps: 3 }, seed: 70, batch: 2 })
    const r = await shell.handle('image.drag', { runId: run.runId, kind: 'png', index: 1, scale: 2 })
    expect(r).toEqual({ ok: true, value: { started: true } })
    const file = dragged.at(-1)!
    expect(file.name).toBe('seed-71.png')
    expect(decodePng(file.bytes).width).toBe(2 * 28)
    expect(readStepwiseParameters(file.bytes, file.name)).toMatchObject({ seed: 71 })
    for (const req of [{ kind: 'png' }, { kind: 'sheet', index: 0 }]) {
      const refused = await shell.handle('image.drag', { runId: run.runId, ...req })
      expect(refused).toMatchObject({ ok: false, error: { code: 'bad-argument', message: /one image/ } })
    }
    // A host without a drag port (the browser host) says the channel is not there.
    const browser = createShell({
      engine,
      settings: openSettings({
        file: join(settingsDir, 'b.json'),
        make: () => new Conf({ cwd: settingsDir, configName: 'b', projectName: 'stepwise-test' }),
      }),
      save: async () => [],
    })
    expect(await browser.handle('image.drag', { runId: run.runId, kind: 'png', index: 0 })).toMatchObject({
      ok: false,
      error: { message: /not available in this host/ },
    })
  })

  it('png.read gives back the parameters of an exported PNG and names a PNG without them', async () => {
    const run = await sample({
      sampler: { sampler: 'ddpm', steps: 5 },
      schedule: { schedule: 'cosine' },
      seed: 77,
      batch: 1,
      classLabel: 3,
    })
    value(await shell.handle('export.save', { runId: run.runId, kind: 'png', index: 0 }))
    const bytes = saved.at(-1)!.files[0].bytes
    const p = value(await shell.handle('png.read', { name: 'seed-77.png', bytes: bytes.slice().buffer }))
    expect(p).toMatchObject({
      modelHash: expect.stringMatching(/^[0-9a-f]{10}$/),
      seed: 77,
      classLabel: 3,
      sampler: { sampler: 'ddpm', steps: 5 },
      schedule: { schedule: 'cosine' },
    })
    const plain = encodePng({ channels: 1, height: 2, width: 2, data: new Float32Array(4) })
    const none = await shell.handle('png.read', { name: 'holiday.png', bytes: plain.slice().buffer })
    expect(none).toEqual({
      ok: false,
      error: { code: 'bad-png', message: 'holiday.png: this PNG holds no Stepwise parameters' },
    })
    const text = await shell.handle('png.read', { name: 'notes.png', bytes: new TextEncoder().encode('hello').buffer })
    expect(text).toMatchObject({ ok: false, error: { code: 'bad-png', message: expect.stringContaining('notes.png') } })
  })
})

describe('the shell', () => {
  it('answers a bad payload or an unknown channel with a typed error', async () => {
    expect(await shell.handle('sample.start', { seed: -1 })).toMatchObject({
      ok: false,
      error: { code: 'bad-argument' },
    })
    expect(await shell.handle('fs.read', {})).toMatchObject({
      ok: false,
      error: { code: 'bad-argument', message: expect.stringContaining('unknown channel') },
    })
    expect(await shell.handle('model.open', {})).toMatchObject({
      ok: false,
      error: { message: 'model.open is not available in this host' },
    })
  })

  it("remembers loaded models (not uploads, not the default) and keeps the renderer's settings", async () => {
    const model = join(process.cwd(), 'resources/models/stepwise-digits.onnx')
    const upload = join(mkdtempSync(join(tmpdir(), 'stepwise-upload-')), 'digits.onnx')
    copyFileSync(model, upload)
    value(await shell.handle('model.load', { path: model }))
    expect((value(await shell.handle('model.load', { path: upload })) as ModelCard).onnxPath).toBe(upload)
    expect((value(await shell.handle('model.load', {})) as ModelCard).onnxPath).toMatch(
      /resources\/models\/stepwise-digits.onnx$/,
    )
    const s = value(await shell.handle('settings.set', { provider: 'cpu', parameters: { seed: 3 } })) as {
      recentModels: string[]
      provider: string
    }
    expect(s.recentModels).toEqual([model])
    expect(s.provider).toBe('cpu')
    expect(value(await shell.handle('settings.get', {}))).toMatchObject({ provider: 'cpu', parameters: { seed: 3 } })
    // Kept fits come and go whole; a field left out of a later set keeps its value.
    const fits = [
      {
        ...{ model, sampler: 'unipc', timesteps: [999, 500, 40], distance: 0.02, startDistance: 0.04 },
        ...{ probe: 32, savedAt: '2026-12-02T03:00:00.000Z' },
      },
    ]
    value(await shell.handle('settings.set', { fits }))
    value(await shell.handle('settings.set', { notifyLongRuns: true }))
    expect(value(await shell.handle('settings.get', {}))).toMatchObject({ provider: 'cpu', fits })
    const bad = await shell.handle('settings.set', { fits: [{ ...fits[0], timesteps: [] }] })
    expect(bad.ok).toBe(false)
  })

  it('tells the first settings.get what was wrong with the settings file, and only the first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-shell-settings-'))
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ provider: 'cpu', parameters: { batch: 1e9 } }))
    const settings = openSettings({
      file: join(dir, 'settings.json'),
      make: () => new Conf({ cwd: dir, configName: 'settings', projectName: 'stepwise-test' }),
    })
    const own = createShell({ engine, settings, save: async () => [] })
    const first = value(await own.handle('settings.get', {})) as SettingsAnswer
    expect(first).toMatchObject({ provider: 'cpu', parameters: {} })
    expect(first.problem).toMatch(
      /^settings\.json: a saved setting was invalid and reset to the default: parameters\.batch/,
    )
    expect(value(await own.handle('settings.get', {}))).not.toHaveProperty('problem')
  })

  it('turns the provider preference into an order to try', () => {
    expect(providersFor('auto')).toBeUndefined()
    expect(providersFor('cpu')).toEqual(['cpu'])
    expect(providersFor('webgpu')).toEqual(['webgpu', 'cpu'])
  })
})

/** Start a run and collect its frames and final samples. */
async function sampleWithFrames(request: object) {
  const frames: {
    index: number
    total: number
    sample: Float32Array
    stats: { noiseRms: number; clippedFraction: number }[]
  }[] = []
  const offFrame = engine.on('frame', (f) =>
    frames.push({ index: f.index, total: f.total, sample: new Float32Array(0), stats: f.stats }),
  )
  try {
    const started = value(await shell.handle('sample.start', request)) as SampleStarted
    const samples = await new Promise<Float32Array>((resolve, reject) => {
      const offDone = engine.on(
        'done',
        (p) => p.runId === started.runId && (offDone(), offFailed(), resolve(new Float32Array(p.samples))),
      )
      const offFailed = engine.on(
        'failed',
        (p) => p.runId === started.runId && (offDone(), offFailed(), reject(new Error(p.error.message))),
      )
    })
    // The events bring some steps' images; every step's, as the timeline fetches them.
    const { steps } = value(
      await shell.handle('runs.steps', { runId: started.runId, steps: frames.map((f) => f.index) }),
    ) as { steps: { index: number; sample: ArrayBuffer }[] }
    steps.forEach((s, i) => (frames[i].sample = new Float32Array(s.sample)))
    return { started, frames, samples }
  } finally {
    offFrame()
  }
}

describe('exploring the process through the engine', () => {
  it("a fork with its parent's settings ends where the parent ends; its timeline continues the parent's", async () => {
    const settings = { sampler: { sampler: 'ddpm', steps: 12 }, seed: 11, batch: 2, classLabel: 4, guidance: 2 }
    const parent = await sampleWithFrames(settings)
    const fork = await sampleWithFrames({
      ...settings,
      seed: 999,
      batch: 1,
      fork: { runId: parent.started.runId, step: 5 },
    })
    expect(fork.started).toMatchObject({
      startStep: 5,
      parent: { runId: parent.started.runId, step: 5 },
      shape: { batch: 2 },
    })
    expect(fork.started.timesteps).toEqual(parent.started.timesteps)
    expect(fork.frames.map((f) => f.index)).toEqual([5, 6, 7, 8, 9, 10, 11])
    expect(fork.frames[0].sample).toEqual(parent.frames[5].sample)
    expect(fork.samples).toEqual(parent.samples)
    expect(fork.started.parameters).toMatchObject({ seed: 11, classLabel: 4, forkedFrom: { step: 5 } })
    // Another sampler from the same step: a different ending from the same start.
    const other = await sampleWithFrames({
      ...settings,
      sampler: { sampler: 'ddim', steps: 30 },
      fork: { runId: parent.started.runId, step: 5 },
    })
    expect(other.started.timesteps.slice(0, 5)).toEqual(parent.started.timesteps.slice(0, 5))
    expect(other.started.timesteps[5]).toBe(parent.started.timesteps[5])
    expect(other.samples).not.toEqual(parent.samples)
  })

  it('every frame carries per-image diagnostics', async () => {
    const run = await sampleWithFrames({ sampler: { sampler: 'ddim', steps: 6 }, seed: 2, batch: 3 })
    for (const f of run.frames) {
      expect(f.stats).toHaveLength(3)
      // The model predicts noise of about unit size at every step of the default model.
      for (const s of f.stats) {
        expect(s.noiseRms).toBeGreaterThan(0.5)
        expect(s.noiseRms).toBeLessThan(1.5)
      }
    }
  })

  it('exports runs of one seed side by side: a labelled sheet and a GIF aligned by fraction', async () => {
    const a = await sampleWithFrames({ sampler: { sampler: 'ddim', steps: 5 }, seed: 8, batch: 1 })
    const b = await sampleWithFrames({ sampler: { sampler: 'ddpm', steps: 20 }, seed: 8, batch: 1 })
    expect(b.frames[0].sample).toEqual(a.frames[0].sample) // the same x_T
    value(await shell.handle('export.save', { runId: a.started.runId, with: [b.started.runId], kind: 'compare-sheet' }))
    const sheet = saved.at(-1)!.files[0]
    expect(sheet.name).toBe('compare-seed-8.png')
    expect(readPngText(sheet.bytes, 'x').parameters).toBe('compare: DDIM 5 | DDPM 20, seed: 8')
    value(
      await shell.handle('export.save', {
        runId: a.started.runId,
        with: [b.started.runId],
        kind: 'compare-gif',
        gifFrames: 9,
      }),
    )
    const frames = decodeGifFrames(saved.at(-1)!.files[0].bytes)
    expect(frames).toHaveLength(9)
    expect(frames[0].width).toBe(decodePng(sheet.bytes).width)
    expect(await shell.handle('export.save', { runId: a.started.runId, kind: 'compare-gif' })).toMatchObject({
      ok: false,
      error: { message: expect.stringContaining('at least two runs') },
    })
  })

  it('noise.preview noises a dropped image under each schedule, and a run denoises from it', async () => {
    const png = encodePng({
      channels: 1,
      height: 56,
      width: 56,
      data: new Float32Array(56 * 56).map((_, i) => (i % 56 < 28 ? 1 : -1)),
    })
    const preview = value(
      await shell.handle('noise.preview', {
        image: { name: 'halves.png', bytes: png.slice().buffer },
        timesteps: [0, 500, 999],
        seed: 4,
      }),
    ) as {
      channels: number
      height: number
      width: number
      image: ArrayBuffer
      rows: { schedule: string; frames: { timestep: number; alphaBar: number; snr: number; sample: ArrayBuffer }[] }[]
    }
    expect(preview).toMatchObject({ channels: 1, height: 28, width: 28 })
    expect(preview.rows.map((r) => r.schedule)).toEqual(['linear', 'cosine', 'quadratic', 'sigmoid'])
    const linear = preview.rows[0].frames
    expect(linear[0].alphaBar).toBeCloseTo(0.9999, 6)
    expect(linear[2].snr).toBeLessThan(1e-3)
    // The same noise under every schedule: (x_t - sqrt(ab) x0) / sqrt(1 - ab) is one array.
    const x0 = new Float32Array(preview.image)
    const noiseOf = (f: { alphaBar: number; sample: ArrayBuffer }) =>
      new Float32Array(f.sample).map((v, i) => (v - Math.sqrt(f.alphaBar) * x0[i]) / Math.sqrt(1 - f.alphaBar))
    const e0 = noiseOf(preview.rows[0].frames[1]),
      e1 = noiseOf(preview.rows[1].frames[1])
    e0.forEach((v, i) => expect(v).toBeCloseTo(e1[i], 2))

    const run = await sampleWithFrames({
      sampler: { sampler: 'ddim', steps: 50 },
      seed: 4,
      batch: 1,
      fromImage: { image: preview.image, timestep: 300 },
    })
    expect(run.started.timesteps[0]).toBe(300)
    expect(run.started.timesteps.every((t, i, ts) => i === 0 || t < ts[i - 1])).toBe(true)
    expect(run.started.parameters.fromImageAt).toBe(300)
    // From t = 300 the result keeps the image's layout: bright left half, dark right half.
    const left = run.samples.filter((_, i) => i % 28 < 14).reduce((s, v) => s + v, 0)
    const right = run.samples.filter((_, i) => i % 28 >= 14).reduce((s, v) => s + v, 0)
    expect(left).toBeGreaterThan(right)
    expect(
      await shell.handle('noise.preview', {
        image: { name: 'notes.txt', bytes: new TextEncoder().encode('hi').buffer },
        timesteps: [1],
        seed: 1,
      }),
    ).toMatchObject({ ok: false, error: { code: 'bad-png', message: 'notes.txt: not a PNG or JPEG image' } })
  })
})

describe('class x seed grid', () => {
  it('exports one row a class and one column a seed, labelled', async () => {
    const rows = []
    for (const classLabel of [0, 1, 2])
      rows.push(
        (
          await sampleWithFrames({
            sampler: { sampler: 'ddim', steps: 4 },
            seed: 20,
            batch: 3,
            classLabel,
            guidance: 3,
          })
        ).started.runId,
      )
    value(
      await shell.handle('export.save', {
        runId: rows[0],
        with: rows.slice(1),
        kind: 'grid-sheet',
        rowLabels: ['0', '1', '2'],
      }),
    )
    const grid = saved.at(-1)!.files[0]
    expect(grid.name).toBe('grid-seed-20.png')
    const img = decodePng(grid.bytes)
    expect(img.width).toBeGreaterThan(3 * 84) // 28 px images at 3x (at least 64 px), plus the label column
    expect(img.height).toBeGreaterThan(3 * 84)
    expect(
      (readStepwiseParameters(grid.bytes, 'x') as { grid: { classLabel: number }[] }).grid.map((p) => p.classLabel),
    ).toEqual([0, 1, 2])
  })
})

describe('model.load through the shell', () => {
  it("passes the checkpoint's weights asked for on to the engine", async () => {
    const checkpoint = join(process.cwd(), 'test/fixtures/peers/lucidrains/cosine-eps-gray28/model-3.pt')
    const card = value(await shell.handle('model.load', { path: checkpoint, weights: 'online' })) as ModelCard
    expect([card.name, card.weights]).toEqual(['model-3.pt (online weights)', { taken: 'online', both: true }])
  })
})
