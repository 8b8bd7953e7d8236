/** The command line: its JSON outputs, the files `sample` writes, refusing to overwrite, and exit codes. */
import { spawn, spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'

import { readGifInfo } from '../../../src-main/engine/export/gif'
import { decodePng, readPngText, readStepwiseParameters } from '../../../src-main/engine/export/png'
import { withOnnxMetadata } from '../../../src-main/engine/model/metadata'
import { readNpy } from '../../../src-main/engine/npy'
import { dummyModel } from '../../fixtures/onnx-builder'
import { cli } from './capture'

const ROOT = join(import.meta.dirname, '..', '..', '..')

/** Run the CLI as a real subprocess, as a user would. */
function cliProcess(...argv: string[]) {
  const r = spawnSync('npx', ['tsx', 'src-main/cli.ts', ...argv], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

afterEach(() => vi.restoreAllMocks())

let tmp: string
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'stepwise-cli-'))
})

describe('schedule and timesteps', () => {
  it('schedule --schedule cosine --json prints 1000 betas capped at 0.999 and decreasing alphas_cumprod', async () => {
    const r = await cli('schedule', '--schedule', 'cosine', '--json')
    expect(r.code).toBe(0)
    const { betas, alphas_cumprod: ab } = JSON.parse(r.stdout) as { betas: number[]; alphas_cumprod: number[] }
    expect(betas).toHaveLength(1000)
    expect(ab).toHaveLength(1000)
    expect(Math.max(...betas)).toBeLessThanOrEqual(0.999)
    expect(betas[999]).toBe(0.999) // the cap bites at the end of the cosine schedule
    expect(Math.min(...betas)).toBeGreaterThan(0)
    for (let i = 1; i < ab.length; i++) expect(ab[i]).toBeLessThan(ab[i - 1])
    expect(ab[0]).toBeLessThan(1)
    expect(ab[999]).toBeGreaterThanOrEqual(0)
  })

  it('timesteps --sampler ddim --steps 5 --steps-offset 1 --json', async () => {
    const r = await cli('timesteps', '--sampler', 'ddim', '--steps', '5', '--steps-offset', '1', '--json')
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ timesteps: [801, 601, 401, 201, 1], calls: [801, 601, 401, 201, 1] })
  })

  it('timesteps lists every model call: Heun calls the model twice a step but the last', async () => {
    const r = await cli('timesteps', '--sampler', 'heun', '--steps', '3', '--spacing', 'linspace', '--json')
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ timesteps: [999, 499.5, 0], calls: [999, 499.5, 499.5, 0, 0] })
  })

  it("timesteps --timesteps: one's own, which set the steps", async () => {
    const r = await cli('timesteps', '--sampler', 'unipc', '--steps', '3', '--timesteps', '999,500,40', '--json')
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ timesteps: [999, 500, 40], calls: [999, 500, 40] })
  })

  it('fit-timesteps fits a solver to the model and prints what sample takes', async () => {
    const args = ['--sampler', 'unipc', '--steps', '2', '--batch', '1', '--seed', '3', '--class', '3']
    const r = await cli('fit-timesteps', ...args, '--guidance', '1', '--json', '--provider', 'cpu')
    expect(r.code, r.stderr).toBe(0)
    const fit = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(fit.start).toEqual([999, 500])
    expect(fit.timesteps).toHaveLength(2)
    expect(fit.timesteps[0]).toBe(999)
    expect(fit.distance).toBeLessThanOrEqual(fit.startDistance)
    expect(fit.sampler).toMatchObject({ sampler: 'unipc', steps: 2, timesteps: fit.timesteps })
    expect(fit.probe).toEqual({ seed: 3, batch: 1 })
    const text = await cli('fit-timesteps', ...args, '--provider', 'cpu', '--steps', '1')
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toMatch(/UniPC, 1 step, fitted to Stepwise digits on 1 probe sample from seed 3:/)
    expect(text.stdout).toMatch(/sample with: --sampler unipc --timesteps 999\n/)
    // The options the fit ran with go with them where they are not the sampler's defaults.
    const bh1 = await cli('fit-timesteps', ...args, '--provider', 'cpu', '--steps', '1', '--thresholding', 'true')
    expect(bh1.stdout).toMatch(/sample with: --sampler unipc --thresholding true --timesteps 999\n/)
  }, 60_000)

  it('fit-timesteps stops at Ctrl-C with the best timesteps found so far', async () => {
    const args = ['--sampler', 'unipc', '--steps', '4', '--batch', '2', '--seed', '3', '--provider', 'cpu']
    const child = spawn(process.execPath, ['--import', 'tsx', 'src-main/cli.ts', 'fit-timesteps', ...args], {
      cwd: ROOT,
    })
    let stdout = ''
    let stderr = ''
    let interrupted = false
    child.stdout.on('data', (d) => (stdout += d))
    // SIGINT once the search has reported its start and one better schedule.
    child.stderr.on('data', (d) => {
      stderr += d
      if (!interrupted && (stderr.match(/^\d+ runs?: /gm) ?? []).length === 2) interrupted = child.kill('SIGINT')
    })
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
      child.on('close', (c, s) => resolve([c, s])),
    )
    expect({ code, signal }, stderr).toEqual({ code: 0, signal: null })
    expect(stderr).toMatch(/^1 run: \d\.\d{4} at 999 749 500 250$/m)
    expect(stderr).toMatch(/stopping: the best timesteps so far follow/)
    const better = /^(\d+) runs: (\d\.\d{4}) at ([\d ]+)$/m.exec(stderr)!
    expect(stdout).toContain(`fitted   ${better[3]}  RMS ${better[2]}`)
    expect(stdout).toMatch(/\(stopped before the search ended\)/)
    expect(stdout).toContain(`sample with: --sampler unipc --timesteps ${better[3].replaceAll(' ', ',')}`)
  }, 60_000)

  it("timesteps --model: the model's own schedule and default run", async () => {
    const dir = join(tmp, 'timesteps-model')
    await mkdir(dir, { recursive: true })
    // A model trained with 100 steps: its timesteps lie below 100, where the default schedule's would not.
    const model = join(dir, 'short.onnx')
    await writeFile(model, withOnnxMetadata(dummyModel(1), { num_train_timesteps: 100 }))
    const r = await cli('timesteps', '--model', model, '--sampler', 'ddim', '--steps', '4', '--json')
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).timesteps).toEqual([75, 50, 25, 0])
    const plain = await cli('timesteps', '--sampler', 'ddim', '--steps', '4', '--json')
    expect(JSON.parse(plain.stdout).timesteps).toEqual([750, 500, 250, 0])
  })

  it("sampler options are flags under diffusers' names, from the sampler table", async () => {
    // DPM-Solver's Karras timesteps (rounded), Euler's fractional linspace ones (diffusers' own lists).
    const dpm = await cli('timesteps', '--sampler', 'dpmpp-2m', '--steps', '10', '--sigmas', 'karras', '--json')
    expect(JSON.parse(dpm.stdout).timesteps).toEqual([999, 937, 864, 775, 663, 511, 301, 102, 18, 0])
    const eul = await cli('timesteps', '--sampler', 'euler', '--steps', '4', '--spacing', 'linspace', '--json')
    expect(JSON.parse(eul.stdout).timesteps).toEqual([999, 666, 333, 0])
    const help = await cli('--help')
    for (const flag of ['--sigmas', '--solver-type', '--solver-order', '--lower-order-final', '--final-sigmas'])
      expect(help.stdout).toContain(flag)
  })
})

describe('sample', () => {
  const common = ['--steps', '5', '--seed', '7', '--class', '3', '--guidance', '3', '--provider', 'cpu']
  const names = [
    'seed-7.png',
    'seed-8.png',
    'sheet-seed-7.png',
    'steps-seed-7.png',
    'steps-seed-8.png',
    'denoising-xt-seed-7-batch.gif',
    'samples.npy',
  ]
  let out: string
  /** A batch of two into `out`, with every file `names` lists. */
  const sampleBatch = () =>
    cli('sample', ...common, '--batch', '2', '--out', out, '--save-npy', '--sheet', '--steps-sheet', '--gif', '--json')

  it('writes each image, the sheets, the GIF and the .npy, with the parameters inside the PNGs (DPM++ 2M Karras)', async () => {
    out = join(tmp, 'batch')
    const r = await sampleBatch()
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(summary).toMatchObject({
      sampler: 'dpmpp-2m',
      steps: 5,
      seed: 7,
      batch: 2,
      height: 28,
      width: 28,
      provider: 'cpu',
    })
    expect([...summary.files].sort()).toEqual(names.map((n) => join(out, n)).sort())
    for (const n of names) expect((await stat(join(out, n))).size, n).toBeGreaterThan(0)

    const npy = readNpy(new Uint8Array(await readFile(join(out, 'samples.npy'))), 'samples.npy')
    expect(npy.shape).toEqual([2, 1, 28, 28])
    expect(npy.data.every(Number.isFinite)).toBe(true)

    for (const seed of [7, 8]) {
      const png = new Uint8Array(await readFile(join(out, `seed-${seed}.png`)))
      const p = readStepwiseParameters(png, `seed-${seed}.png`) as any
      expect(p).toMatchObject({
        seed,
        sampler: { sampler: 'dpmpp-2m', sigmas: 'karras', steps: 5 },
        classLabel: 3,
        guidance: 3,
        height: 28,
        width: 28,
      })
      const img = decodePng(png)
      expect([img.width, img.height, img.channels]).toEqual([28, 28, 1])
    }
    // Each image's steps sheet: its 5 steps (fewer than 10), three rows, its own parameters.
    const steps = new Uint8Array(await readFile(join(out, 'steps-seed-8.png')))
    expect(readStepwiseParameters(steps, 'steps-seed-8.png')).toMatchObject({ seed: 8 })
    expect(decodePng(steps).height).toBeGreaterThan(3 * 28)
    const gif = await readFile(join(out, 'denoising-xt-seed-7-batch.gif'))
    expect(gif.subarray(0, 6).toString('latin1')).toMatch(/^GIF8[79]a$/)
  })

  it('--scale enlarges the PNGs, the sheet and the GIF by whole pixels (1 to 16)', async () => {
    const scaled = join(tmp, 'scaled')
    const r = await cli('sample', ...common, '--out', scaled, '--scale', '3', '--gif', '--gif-count', '2')
    expect(r.code, r.stderr).toBe(0)
    expect(decodePng(await readFile(join(scaled, 'seed-7.png'))).width).toBe(84)
    const gif = await readFile(join(scaled, 'denoising-xt-seed-7-batch.gif'))
    expect(gif.readUInt16LE(6)).toBe(84) // the logical screen width
    const refused = await cli('sample', ...common, '--out', join(tmp, 'x'), '--scale', '17')
    expect(refused.stderr).toContain('--scale')
    expect(refused.code).toBe(2)
  })

  it('refuses to overwrite without --overwrite, leaving the files unchanged', async () => {
    const before = await Promise.all(
      names.map(async (n) => ({ bytes: await readFile(join(out, n)), mtime: (await stat(join(out, n))).mtimeMs })),
    )
    const r = await sampleBatch()
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('already exists')
    const after = await Promise.all(
      names.map(async (n) => ({ bytes: await readFile(join(out, n)), mtime: (await stat(join(out, n))).mtimeMs })),
    )
    after.forEach((a, i) => {
      expect(a.bytes.equals(before[i].bytes), names[i]).toBe(true)
      expect(a.mtime, names[i]).toBe(before[i].mtime)
    })
  })

  it('batch 1 with the same seed gives seed-7.png pixel-identical to the batch run', async () => {
    const single = join(tmp, 'single')
    const r = await cli('sample', ...common, '--batch', '1', '--out', single)
    expect(r.code, r.stderr).toBe(0)
    const a = decodePng(new Uint8Array(await readFile(join(out, 'seed-7.png'))))
    const b = decodePng(new Uint8Array(await readFile(join(single, 'seed-7.png'))))
    expect([b.width, b.height, b.channels]).toEqual([a.width, a.height, a.channels])
    expect(Array.from(b.data)).toEqual(Array.from(a.data))
  })
})

describe('exploring the process', () => {
  const base = ['--sampler', 'ddim', '--seed', '3', '--class', '5', '--guidance', '3', '--provider', 'cpu']
  const pixels = async (path: string) => Array.from(decodePng(new Uint8Array(await readFile(path))).data)

  it("--walk: from the seed's image to the variation seed's, its PNGs and a looping GIF of them", async () => {
    const dir = join(tmp, 'walk')
    const r = await cli(
      'sample',
      ...base,
      '--steps',
      '10',
      '--batch',
      '4',
      '--walk',
      '--variation-seed',
      '9',
      '--json',
      '--out',
      dir,
    )
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(summary.variation).toEqual({ seed: 9, strength: 1, walk: true })
    const names = [0, 1, 2, 3].map((k) => join(dir, `seed-3-to-9-${k}.png`))
    expect(summary.files).toEqual([...names, join(dir, 'walk-seed-3-to-9.gif')])
    const third = readStepwiseParameters(new Uint8Array(await readFile(names[2])), 'x')
    expect(third).toMatchObject({ seed: 3, variation: { seed: 9, strength: 2 / 3 } })
    expect(third).not.toHaveProperty('variation.walk') // the image alone is a plain variation
    // There and back: 4 + 2 frames, the last image the variation seed's own.
    expect(readGifInfo(new Uint8Array(await readFile(join(dir, 'walk-seed-3-to-9.gif')))).frameCount).toBe(6)
    const own = join(tmp, 'walk-end')
    expect((await cli('sample', ...base, '--steps', '10', '--seed', '9', '--out', own)).code).toBe(0)
    expect(await pixels(names[3])).toEqual(await pixels(join(own, 'seed-9.png')))
  })

  it('--apg-eta: projected guidance, recorded in the PNG and its line', async () => {
    const dir = join(tmp, 'apg')
    const r = await cli('sample', ...base, '--steps', '5', '--guidance', '6', '--apg-eta', '0', '--out', dir)
    expect(r.code, r.stderr).toBe(0)
    const bytes = new Uint8Array(await readFile(join(dir, 'seed-3.png')))
    expect(readStepwiseParameters(bytes, 'x')).toMatchObject({ guidance: 6, apg: { eta: 0, normThreshold: 0 } })
    expect(readPngText(bytes, 'x').parameters).toContain('guidance: 6, apg eta: 0, apg norm threshold: 0')
  })

  it('--apg-momentum: a running sum of updates in their place, recorded in the PNG and its line', async () => {
    const dir = join(tmp, 'apg-momentum')
    const flags = ['--steps', '5', '--guidance', '6', '--apg-momentum', '-0.5', '--apg-eta', '1', '--out', dir]
    const r = await cli('sample', ...base, ...flags)
    expect(r.code, r.stderr).toBe(0)
    const bytes = new Uint8Array(await readFile(join(dir, 'seed-3.png')))
    expect(readStepwiseParameters(bytes, 'x')).toMatchObject({ apg: { eta: 1, normThreshold: 0, momentum: -0.5 } })
    expect(readPngText(bytes, 'x').parameters).toContain('apg eta: 1, apg norm threshold: 0, apg momentum: -0.5')
  })

  it("--variation-strength: images near the seed's own, each named by its variation seed; one equals its batch image", async () => {
    const dir = join(tmp, 'variations')
    const varied = [...base, '--steps', '10', '--variation-strength', '0.1', '--variation-seed', '40']
    const r = await cli('sample', ...varied, '--batch', '2', '--json', '--out', dir)
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(summary.variation).toEqual({ seed: 40, strength: 0.1 })
    expect(summary.files).toEqual([join(dir, 'seed-3-var-40.png'), join(dir, 'seed-3-var-41.png')])
    const bytes = new Uint8Array(await readFile(join(dir, 'seed-3-var-41.png')))
    expect(readStepwiseParameters(bytes, 'x')).toMatchObject({ seed: 3, variation: { seed: 41, strength: 0.1 } })
    // The second image alone: variation seed 41.
    const one = join(tmp, 'variation-one')
    const single = ['--variation-strength', '0.1', '--variation-seed', '41', '--batch', '1', '--out', one]
    expect((await cli('sample', ...base, '--steps', '10', ...single)).code).toBe(0)
    expect(await pixels(join(one, 'seed-3-var-41.png'))).toEqual(await pixels(join(dir, 'seed-3-var-41.png')))
    // Near the seed's own image: a few grey levels apart on average, where another seed is far.
    const own = join(tmp, 'variation-own')
    expect((await cli('sample', ...base, '--steps', '10', '--batch', '2', '--out', own)).code).toBe(0)
    const mean = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length
    const seed3 = await pixels(join(own, 'seed-3.png'))
    const near = mean(await pixels(join(dir, 'seed-3-var-40.png')), seed3)
    const other = mean(await pixels(join(own, 'seed-4.png')), seed3)
    expect(near).toBeLessThan(other / 3)
  })

  it('sample --from-step with the same settings reproduces the plain run; --then forks it', async () => {
    const plain = join(tmp, 'plain'),
      same = join(tmp, 'fork-same'),
      fork = join(tmp, 'fork-ddpm')
    expect((await cli('sample', ...base, '--steps', '12', '--out', plain)).code).toBe(0)
    expect((await cli('sample', ...base, '--steps', '12', '--from-step', '5', '--out', same)).code).toBe(0)
    expect(await pixels(join(same, 'seed-3.png'))).toEqual(await pixels(join(plain, 'seed-3.png')))
    const r = await cli(
      'sample',
      ...base,
      '--steps',
      '12',
      '--from-step',
      '5',
      '--then',
      'sampler=ddpm steps=40 guidance=5',
      '--out',
      fork,
      '--json',
    )
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(summary.timesteps[0]).toBe((11 - 5) * 83) // step 5 of DDIM 12, leading spacing: T // 12 = 83 apart
    const p = readStepwiseParameters(new Uint8Array(await readFile(join(fork, 'seed-3.png'))), 'x') as any
    expect(p).toMatchObject({
      sampler: { sampler: 'ddpm', steps: 40 },
      guidance: 5,
      forkedFrom: { step: 5, parameters: { sampler: { sampler: 'ddim', steps: 12 }, guidance: 3 } },
    })
    expect(await pixels(join(fork, 'seed-3.png'))).not.toEqual(await pixels(join(plain, 'seed-3.png')))
  })

  it('sample --from-step --init-image denoises a noised image (SDEdit) and keeps its digit', async () => {
    const out = join(tmp, 'sdedit')
    const r = await cli(
      'sample',
      '--sampler',
      'ddim',
      '--seed',
      '1',
      '--steps',
      '50',
      '--from-step',
      '30',
      '--init-image',
      join(tmp, 'plain', 'seed-3.png'),
      '--out',
      out,
      '--json',
    )
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout.trim().split('\n').at(-1)!).timesteps).toHaveLength(20)
    const p = readStepwiseParameters(new Uint8Array(await readFile(join(out, 'seed-1.png'))), 'x') as any
    expect(p.fromImageAt).toBe(380)
    // From t = 380 the digit survives: the result is close to the image it started from.
    const a = await pixels(join(out, 'seed-1.png')),
      b = await pixels(join(tmp, 'plain', 'seed-3.png'))
    const diff = a.reduce((s, v, i) => s + Math.abs(v - b[i]), 0) / a.length
    expect(diff).toBeLessThan(40)
  })

  it('compare writes a labelled sheet and a GIF of variants from one seed', async () => {
    const out = join(tmp, 'compare')
    const r = await cli(
      'compare',
      ...base,
      '--variant',
      'sampler=ddim steps=10',
      '--variant',
      'sampler=ddpm steps=30',
      '--gif-count',
      '8',
      '--out',
      out,
      '--json',
    )
    expect(r.code, r.stderr).toBe(0)
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!)
    expect(summary.variants).toEqual(['DDIM 10', 'DDPM 30'])
    expect(summary.files).toEqual([join(out, 'compare-seed-3.png'), join(out, 'compare-xt-seed-3.gif')])
    expect(readGifInfo(new Uint8Array(await readFile(join(out, 'compare-xt-seed-3.gif')))).frameCount).toBe(8)
    const bad = await cli('compare', ...base, '--variant', 'steps=10', '--out', out)
    expect(bad).toMatchObject({ code: 2, stderr: 'stepwise: --variant: give 2 to 4 variants, got 1\n' })
    const typo = await cli('compare', ...base, '--variant', 'steps=10', '--variant', 'steps', '--out', out)
    expect(typo.stderr).toContain('"steps" is not name=value')
  })

  it('noise writes the forward-noising sheet and prints alpha_bar per schedule', async () => {
    const out = join(tmp, 'noise')
    const r = await cli('noise', join(tmp, 'plain', 'seed-3.png'), '--t', '0,500,999', '--out', out, '--json')
    expect(r.code, r.stderr).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(j.rows.map((row: any) => row.schedule)).toEqual(['linear', 'cosine', 'quadratic', 'sigmoid'])
    expect(j.rows[0].alphaBar[1]).toBeCloseTo(0.0779, 3) // linear, T=1000, beta 1e-4..0.02, t=500
    const sheet = decodePng(new Uint8Array(await readFile(join(out, 'noise-seed-3.png'))))
    expect(sheet.width).toBeGreaterThan(3 * 28)
    expect((await cli('noise', join(tmp, 'plain', 'seed-3.png'), '--t', '1000', '--out', out)).stderr).toContain(
      '--t: "1000" is not a timestep in [0, 999]',
    )
  })
})

describe('inspect', () => {
  it('inspect --json reports the default model', async () => {
    const r = await cli('inspect', '--json', '--provider', 'cpu')
    expect(r.code, r.stderr).toBe(0)
    const info = JSON.parse(r.stdout)
    expect(info.signature.channels).toBe(1)
    expect(info.signature.classLabels).toBeDefined()
    expect(info.training.classes).toEqual({
      names: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      nullClassId: 10,
    })
    expect(info.training.schedule).toMatchObject({ schedule: 'linear', trainSteps: 1000 })
    expect(info.training.sampler.predictionType).toBe('epsilon')
    expect(info.provider).toBe('cpu')
    expect(info.hash).toMatch(/^[0-9a-f]{10}$/)
    // The text names it too, as the first digits of the weights file's SHA-256.
    const text = await cli('inspect', '--provider', 'cpu')
    expect(text.stdout).toContain(`  model hash      ${info.hash}  (SHA-256 of ${info.source.files[0]}`)
  })
})

describe('bad arguments exit 2 with a one-line error', () => {
  const oneLine = (stderr: string) => {
    const lines = stderr.trimEnd().split('\n')
    expect(lines, stderr).toHaveLength(1)
    expect(lines[0]).toMatch(/^stepwise: /)
    return lines[0]
  }

  it('--steps abc', async () => {
    const r = await cli('sample', '--steps', 'abc', '--out', join(tmp, 'bad-steps'), '--provider', 'cpu')
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toBe('stepwise: --steps: "abc" is not a whole number of 1 or more')
  })

  it('--apg-momentum out of range', async () => {
    const r = await cli('sample', '--apg-momentum=-1', '--out', join(tmp, 'bad-momentum'), '--provider', 'cpu')
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toBe('stepwise: --apg-momentum: "-1" is not a number between -1 and 1')
  })

  it('--apg-eta out of range', async () => {
    const r = await cli('sample', '--apg-eta', '2', '--out', join(tmp, 'bad-apg'), '--provider', 'cpu')
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toBe('stepwise: --apg-eta: "2" is not a number from 0 to 1')
  })

  it('--variation-seed without a strength', async () => {
    const r = await cli('sample', '--variation-seed', '5', '--out', join(tmp, 'bad-variation'), '--provider', 'cpu')
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toBe(
      'stepwise: --variation-seed needs --variation-strength (0 to 1: how far toward its noise image k goes) or --walk',
    )
  })

  it('--sampler foo', async () => {
    const r = await cli('timesteps', '--sampler', 'foo', '--steps', '5', '--json')
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toContain('--sampler')
    expect(r.stdout).toBe('')
  })

  it('--sigmas foo, and a solver order dpmpp-2m does not take', async () => {
    const sigmas = await cli('timesteps', '--sampler', 'euler', '--steps', '5', '--sigmas', 'foo')
    expect(sigmas.code).toBe(2)
    expect(oneLine(sigmas.stderr)).toBe('stepwise: --sigmas: "foo" is not one of spacing, karras, exponential, beta')
    const order = await cli('timesteps', '--sampler', 'dpmpp-2m', '--steps', '5', '--solver-order', '3')
    expect(order.code).toBe(2)
    expect(oneLine(order.stderr)).toContain('--solver-order')
    const guidance = await cli('sample', '--guidance', 'Infinity', '--out', join(tmp, 'bad-guidance'))
    expect(guidance.code).toBe(2)
    expect(oneLine(guidance.stderr)).toBe('stepwise: --guidance: "Infinity" is not a number of 0 or more')
  })

  it('--timesteps out of order', async () => {
    const r = await cli('timesteps', '--sampler', 'unipc', '--steps', '2', '--timesteps', '40,500')
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toBe(
      'stepwise: --timesteps: "40,500": expected descending integer timesteps in [0, 99999], comma-separated',
    )
  })

  it('--model /nonexistent.onnx', async () => {
    const r = await cli('sample', '--model', '/nonexistent.onnx', '--out', join(tmp, 'nomodel'))
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toContain('/nonexistent.onnx')
  })

  it('an unknown command', async () => {
    const r = await cli('frobnicate')
    expect(r.code).toBe(2)
    expect(r.stderr).toBe('stepwise: unknown command "frobnicate" (see --help)\n')
  })

  it('an unknown option', async () => {
    const r = await cli('timesteps', '--stpes', '5')
    expect(r.code).toBe(2)
    expect(oneLine(r.stderr)).toContain('--stpes')
  })
})

describe('as a real subprocess', () => {
  it('exits 0 with the output on stdout, and 2 with the error on stderr', () => {
    const ok = cliProcess('timesteps', '--sampler', 'ddim', '--steps', '5', '--steps-offset', '1', '--json')
    expect(ok.code, ok.stderr).toBe(0)
    expect(JSON.parse(ok.stdout).timesteps).toEqual([801, 601, 401, 201, 1])

    const bad = cliProcess('sample', '--model', '/nonexistent.onnx', '--out', join(tmp, 'sub'))
    expect(bad.code).toBe(2)
    expect(bad.stdout).toBe('')
    expect(
      bad.stderr
        .trim()
        .split('\n')
        .filter((l) => !l.startsWith('npm warn')),
    ).toEqual([expect.stringMatching(/^stepwise: \/nonexistent\.onnx: no such file/)])
  })
})
