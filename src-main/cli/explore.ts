/**
 * The commands that look into the process: `compare` (variants of one run from the same seed and noise)
 * and `noise` (forward noising of an image under each schedule).
 */
import { mkdir, readFile } from 'node:fs/promises'
import { basename } from 'node:path'

import { EngineError } from '../engine/errors'
import { contactSheet, encodeSheetPng } from '../engine/export/sheet'
import { noiseImage, previewNoise } from '../engine/forward'
import { imageForModel } from '../engine/image-input'
import { defaultModelPath } from '../engine/model/default-model'
import { loadModel } from '../engine/model/load'
import { trainingOf } from '../engine/model/training'
import { runSampling } from '../engine/run'
import { makeSchedule, parseScheduleName, SCHEDULES } from '../engine/schedule'
import { compareLabels, encodeExport, type HeldRun } from '../service/run-exports'
import {
  bad,
  fileWriter,
  int,
  oneOf,
  over,
  print,
  progressPrinter,
  providersFrom,
  refuseExisting,
  runSettings,
  type Values,
} from './options'

/** 2 to 4 variants of one run, from the same seed (the same x_T and noise), side by side. */
export async function compareCommand(v: Values) {
  if (!v.out) throw bad('--out <dir> is required')
  const variants = v.variant ?? []
  if (variants.length < 2 || variants.length > 4) throw bad(`--variant: give 2 to 4 variants, got ${variants.length}`)
  const modelPath = v.model ?? defaultModelPath()
  const model = await loadModel(modelPath, { providers: providersFrom(v) })
  try {
    const seed = int(v, 'seed') ?? Math.floor(Math.random() * 2 ** 31)
    const index = int(v, 'index') ?? 0
    const settings = variants.map((text) => runSettings(over(v, text, '--variant'), model))
    const { batch, height, width, classLabel } = settings[0]
    if (index >= batch) throw bad(`--index: ${index} is outside the batch of ${batch}`)
    const gifOf = oneOf(v, 'gif-of', ['xt', 'x0'] as const) ?? 'xt'
    const request = {
      runId: 'variant-0',
      with: settings.slice(1).map((_, i) => `variant-${i + 1}`),
      index,
      gifOf,
      gifFrames: int(v, 'gif-count', 2),
      gifDelayMs: int(v, 'gif-delay', 10),
    }
    await mkdir(v.out, { recursive: true })
    await refuseExisting(v, [`compare-seed-${seed + index}.png`, `compare-${gifOf}-seed-${seed + index}.gif`])
    const runs: HeldRun[] = []
    for (const [i, s] of settings.entries()) {
      const frames: HeldRun['frames'] = []
      const schedule = makeSchedule(s.schedule)
      // Batch, size and class are the first variant's: the runs differ only in how they sample.
      const result = await runSampling(
        model,
        { ...s, batch, height, width, classLabel, seed, schedule },
        {
          onStep: (f) => frames.push({ sample: f.sample.slice(), predictedX0: f.predictedX0.slice() }),
          onProgress: progressPrinter(v, `variant ${i + 1}/${settings.length} `),
        },
      )
      runs.push({
        parameters: {
          model: basename(modelPath),
          sampler: s.sampler,
          schedule: s.schedule,
          seed,
          height,
          width,
          classLabel,
          guidance: s.guidance,
        },
        shape: result.shape,
        frames,
        samples: result.samples,
        bytes: 0,
        modelKey: modelPath,
        timesteps: result.timesteps,
        alphaBars: result.timesteps.map((t) => schedule.alphasCumprod[t]),
      })
    }
    const { files, write } = fileWriter(v)
    for (const kind of ['compare-sheet', 'compare-gif'] as const) {
      for (const f of encodeExport(runs, { ...request, kind })) await write(f.name, f.bytes)
    }
    const summary = { seed, index, variants: compareLabels(runs.map((r) => r.parameters)), files }
    print(
      v.json
        ? summary
        : `${runs.length} variants of seed ${seed + index}: ${summary.variants.join(' | ')}\n  ${files.join('\n  ')}`,
    )
  } finally {
    await model.release()
  }
}

/** The timesteps a forward-noising preview shows when --t is not given. */
const DEFAULT_NOISE_TIMESTEPS = [0, 50, 100, 250, 500, 750, 999]

/** Forward noising of an image under each schedule with one noise: a sheet and the alpha_bar / SNR table. */
export async function noiseCommand(v: Values, positionals: string[]) {
  const path = positionals[0]
  if (!path) throw bad('noise: give an image (PNG or JPEG)')
  if (!v.out) throw bad('--out <dir> is required')
  const model = await loadModel(v.model ?? defaultModelPath(), { providers: providersFrom(v) })
  try {
    const t = trainingOf(model.info)
    const size = { channels: model.info.signature.channels, height: t.size.height, width: t.size.width }
    const bytes = await readFile(path).catch(() => {
      throw new EngineError('file-not-found', `${path}: no such file`)
    })
    const x0 = imageForModel(new Uint8Array(bytes), basename(path), size).data
    const T = t.schedule.trainSteps
    const timesteps =
      v.t === undefined
        ? DEFAULT_NOISE_TIMESTEPS.map((s) => Math.min(s, T - 1))
        : v.t.split(',').map((s) => {
            const n = Number(s)
            if (s === '' || !Number.isInteger(n) || n < 0 || n >= T)
              throw bad(`--t: "${s}" is not a timestep in [0, ${T - 1}]`)
            return n
          })
    const schedules =
      v.schedule === undefined
        ? SCHEDULES.filter((s) => s !== 'scaled_linear')
        : v.schedule.split(',').map((s) => {
            const name = parseScheduleName(s)
            if (!name) throw bad(`--schedule: "${s}" is not one of ${SCHEDULES.join(', ')}`)
            return name
          })
    const seed = int(v, 'seed') ?? 0
    const noise = previewNoise(x0.length, seed)
    const rows = schedules.map((schedule) => ({
      schedule,
      frames: noiseImage(x0, noise, makeSchedule({ ...t.schedule, schedule }), timesteps),
    }))
    const name = `noise-${basename(path).replace(/\.[^.]+$/, '')}.png`
    await mkdir(v.out, { recursive: true })
    await refuseExisting(v, [name])
    const sheet = contactSheet(
      rows.flatMap((r) => r.frames.map((f) => ({ ...size, data: f.sample }))),
      {
        columns: timesteps.length,
        rowLabels: schedules,
        columnLabels: timesteps.map((s) => `t=${s}`),
        scale: Math.max(1, Math.ceil(64 / size.width)),
      },
    )
    const { files, write } = fileWriter(v)
    await write(
      name,
      encodeSheetPng(sheet, {
        parameters: `forward noising of ${basename(path)}, seed: ${seed}, T=${T}`,
        stepwise: { noise: { image: basename(path), seed, timesteps, schedules } },
      }),
    )
    const table = rows.map((r) => ({
      schedule: r.schedule,
      alphaBar: r.frames.map((f) => f.alphaBar),
      snr: r.frames.map((f) => f.snr),
    }))
    if (v.json) return print({ timesteps, rows: table, files })
    const cell = (x: number) => (x >= 0.01 || x === 0 ? x.toFixed(3) : x.toExponential(1)).padStart(9)
    print(
      [
        `${'t'.padEnd(14)}${timesteps.map((s) => String(s).padStart(9)).join('')}`,
        ...table.flatMap((r) => [
          `${(r.schedule + ' ab').padEnd(14)}${r.alphaBar.map(cell).join('')}`,
          `${(r.schedule + ' snr').padEnd(14)}${r.snr.map(cell).join('')}`,
        ]),
        `  ${files.join('\n  ')}`,
      ].join('\n'),
    )
  } finally {
    await model.release()
  }
}
