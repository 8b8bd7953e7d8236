/**
 * The commands that look into the process: `compare` (variants of one run from the same seed and noise)
 * and `noise` (forward noising of an image under each schedule).
 */
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'

import { randomSeed } from '../../src-shared/limits'
import { MAX_VARIANTS, MIN_VARIANTS } from '../../src-shared/limits'
import { parseScheduleName, SCHEDULES } from '../../src-shared/names'
import { compareLabels, imageSeedText } from '../../src-shared/parameters'
import { EngineError } from '../engine/errors'
import { encodeExport, exportFileNames } from '../engine/export/runs'
import { contactSheet, encodeSheetPng } from '../engine/export/sheet'
import { ensureFolder } from '../engine/files'
import { previewForwardNoising } from '../engine/forward'
import { defaultModelPath } from '../engine/model/default-model'
import { loadModel } from '../engine/model/load'
import { modelFacts, planRun } from '../engine/plan'
import { runSampling } from '../engine/run'
import { finishTimeline, recordStep, startTimeline, type Timeline } from '../engine/timeline'
import {
  bad,
  fileWriter,
  generationFrom,
  gifOptionsFrom,
  int,
  loadOptionsFrom,
  over,
  print,
  progressPrinter,
  refuseExisting,
  type Values,
} from './options'

/** 2 to 4 variants of one run, from the same seed (the same x_T and noise), side by side. */
export async function compareCommand(v: Values) {
  if (!v.out) throw bad('--out <dir> is required')
  const variants = v.variant ?? []
  if (variants.length < MIN_VARIANTS || variants.length > MAX_VARIANTS) {
    throw bad(`--variant: give ${MIN_VARIANTS} to ${MAX_VARIANTS} variants, got ${variants.length}`)
  }
  const model = await loadModel(v.model ?? defaultModelPath(), loadOptionsFrom(v))
  try {
    const facts = modelFacts(model.info)
    const seed = int(v, 'seed') ?? randomSeed()
    const index = int(v, 'index') ?? 0
    // Seed, variation, batch, size and class are the first variant's: the runs differ only in how they sample.
    const requests = variants.map((text) => generationFrom(over(v, text, '--variant'), facts.training.guidance))
    const { batch, height, width, classLabel, variation } = requests[0]
    const plans = requests.map((r) => planRun(facts, { ...r, seed, variation, batch, height, width, classLabel }))
    if (index >= batch) throw bad(`--index: ${index} is outside the batch of ${batch}`)
    const ids = plans.map((_, i) => `variant-${i}`)
    const exports = (['compare-sheet', 'compare-gif'] as const).map((kind) => ({
      kind,
      runId: ids[0],
      with: ids.slice(1),
      index,
      ...gifOptionsFrom(v),
    }))
    await ensureFolder(v.out)
    await refuseExisting(
      v,
      exports.flatMap((e) => exportFileNames(e, plans[0].parameters, batch)),
    )
    const runs: Timeline[] = []
    for (const [i, plan] of plans.entries()) {
      const timeline = startTimeline(plan)
      const result = await runSampling(model, plan.run, {
        onStep: (f) => recordStep(timeline, f),
        onProgress: progressPrinter(v, `variant ${i + 1}/${plans.length} `),
      })
      finishTimeline(timeline, result.samples)
      runs.push(timeline)
    }
    const { files, write } = fileWriter(v)
    for (const e of exports) for (const f of encodeExport(runs, e)) await write(f.name, f.bytes)
    const labels = compareLabels(runs.map((r) => r.parameters))
    const summary = { seed, index, variants: labels, files }
    print(
      v.json
        ? summary
        : `${runs.length} variants of ${imageSeedText(runs[0].parameters, index, batch)}: ${labels.join(' | ')}\n  ${files.join('\n  ')}`,
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
  const model = await loadModel(v.model ?? defaultModelPath(), loadOptionsFrom(v))
  try {
    const facts = modelFacts(model.info)
    const T = facts.training.schedule.trainSteps
    const bytes = await readFile(path).catch(() => {
      throw new EngineError('file-not-found', `${path}: no such file`)
    })
    const timesteps =
      v.t === undefined
        ? DEFAULT_NOISE_TIMESTEPS.map((s) => Math.min(s, T - 1))
        : v.t.split(',').map((s) => {
            const n = Number(s)
            if (s === '' || !Number.isInteger(n) || n < 0 || n >= T)
              throw bad(`--t: "${s}" is not a timestep in [0, ${T - 1}]`)
            return n
          })
    const schedules = v.schedule?.split(',').map((s) => {
      const name = parseScheduleName(s)
      if (!name) throw bad(`--schedule: "${s}" is not one of ${SCHEDULES.join(', ')}`)
      return name
    })
    const seed = int(v, 'seed') ?? 0
    const file = { bytes: new Uint8Array(bytes), name: basename(path) }
    const { image, rows } = previewForwardNoising(file, facts, { timesteps, schedules, seed })
    const name = `noise-${basename(path).replace(/\.[^.]+$/, '')}.png`
    await ensureFolder(v.out)
    await refuseExisting(v, [name])
    const sheet = contactSheet(
      rows.flatMap((r) => r.frames.map((f) => ({ ...image, data: f.sample }))),
      {
        columns: timesteps.length,
        rowLabels: rows.map((r) => r.schedule),
        columnLabels: timesteps.map((s) => `t=${s}`),
        scale: Math.max(1, Math.ceil(64 / image.width)),
      },
    )
    const { files, write } = fileWriter(v)
    const noise = { image: basename(path), seed, timesteps, schedules: rows.map((r) => r.schedule) }
    const parameters = `forward noising of ${basename(path)}, seed: ${seed}, T=${T}`
    await write(name, encodeSheetPng(sheet, { parameters, stepwise: { noise } }))
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
