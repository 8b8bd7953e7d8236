import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import Conf from 'conf'
import { describe, expect, it } from 'vitest'

import { openSettings } from '../../src-main/settings'
import { DEFAULT_SETTINGS, MAX_RECENT_MODELS } from '../../src-preload/contract'

const open = (dir: string) =>
  openSettings({
    file: join(dir, 'settings.json'),
    make: () => new Conf({ cwd: dir, configName: 'settings', projectName: 'stepwise-test' }),
  })

describe('settings', () => {
  it('start from defaults and survive a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
    const s = open(dir)
    expect(s.get()).toEqual(DEFAULT_SETTINGS)
    s.update({ provider: 'cpu', parameters: { seed: 7, batch: 4, sampler: { sampler: 'ddpm', steps: 30 } } })
    s.rememberModel('/a.onnx')
    s.rememberModel('/b.onnx')
    s.rememberModel('/a.onnx')
    const again = open(dir).get()
    expect(again.provider).toBe('cpu')
    expect(again.parameters).toEqual({ seed: 7, batch: 4, sampler: { sampler: 'ddpm', steps: 30 } })
    expect(again.recentModels).toEqual(['/a.onnx', '/b.onnx'])
  })

  it("keep the export bar's options; a bad one is reset alone", () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
    const used = { scale: 4, gifOf: 'xt' as const, gifFrames: 12, gifDelayMs: 120, sheetColumns: 6 }
    open(dir).update({ export: used })
    expect(open(dir).get().export).toEqual(used)
    const saved = JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ ...saved, export: { ...used, sheetColumns: 1e6 } }))
    const repaired = open(dir)
    expect(repaired.get().export).toEqual({ ...used, sheetColumns: DEFAULT_SETTINGS.export.sheetColumns })
    expect(repaired.problem).toContain('export.sheetColumns (1000000)')
  })

  it('keep at most MAX_RECENT_MODELS recent models', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
    const s = open(dir)
    for (let i = 0; i < MAX_RECENT_MODELS + 5; i++) s.rememberModel(`/m${i}.onnx`)
    expect(s.get().recentModels).toHaveLength(MAX_RECENT_MODELS)
    expect(s.get().recentModels[0]).toBe(`/m${MAX_RECENT_MODELS + 4}.onnx`)
  })

  it('set a corrupt file aside and start from defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
    writeFileSync(join(dir, 'settings.json'), '{"provider": "cpu", oops')
    const s = open(dir)
    expect(s.get()).toEqual(DEFAULT_SETTINGS)
    expect(s.setAside).toMatch(/settings\.corrupt-.*\.json$/)
    expect(s.problem).toMatch(/^settings\.json could not be read \(.*\); it was moved to .*settings\.corrupt-/)
    expect(readFileSync(s.setAside!, 'utf8')).toBe('{"provider": "cpu", oops')
    expect(readdirSync(dir).sort()).toEqual(['settings.json', s.setAside!.split('/').pop()].sort())
  })

  it('replace only the fields with bad values, keeping a copy of the file and saying so', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
    const original = JSON.stringify({ provider: 'tpu', recentModels: ['/x.onnx'], windowBounds: { x: 'left' } })
    writeFileSync(join(dir, 'settings.json'), original)
    const s = open(dir)
    expect(s.get()).toEqual({ ...DEFAULT_SETTINGS, recentModels: ['/x.onnx'] })
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).provider).toBe('auto')
    expect(readFileSync(s.setAside!, 'utf8')).toBe(original)
    expect(s.problem).toBe(
      `settings.json: 2 saved settings were invalid and reset to the default: provider ("tpu"), ` +
        `windowBounds ({"x":"left"}); the other settings were kept, and the file as it was is ${s.setAside}`,
    )
  })

  it('one bad parameter (batch 1e9) costs only itself: every other saved parameter is kept', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
    const parameters = {
      sampler: { sampler: 'ddpm', steps: 30, eta: 7 },
      schedule: { schedule: 'cosine' },
      seed: 42,
      seedLocked: true,
      batch: 1e9,
      classLabel: 3,
      guidance: 2.5,
    }
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({ parameters, provider: 'cpu', recentModels: ['/a.onnx'] }),
    )
    const s = open(dir)
    expect(s.get()).toEqual({
      ...DEFAULT_SETTINGS,
      parameters: { ...parameters, sampler: { sampler: 'ddpm', steps: 30 }, batch: undefined },
      provider: 'cpu',
      recentModels: ['/a.onnx'],
    })
    expect(s.get().parameters).not.toHaveProperty('batch')
    expect(s.problem).toMatch(/^settings\.json: 2 saved settings were invalid and reset to the default: /)
    expect(s.problem).toContain('parameters.sampler.eta (7)')
    expect(s.problem).toContain('parameters.batch (1000000000)')
    // The repaired file is what the next start reads: nothing left to repair.
    expect(open(dir).problem).toBeUndefined()
  })

  it('a list is never saved back shorter: a bad timestep takes its list, a bad kept fit goes alone', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
    const fit = (model: string, timesteps: unknown[]) => ({
      model,
      sampler: 'unipc',
      timesteps,
      distance: 0.02,
      startDistance: 0.04,
      probe: 32,
      savedAt: '2026-12-02T03:00:00.000Z',
    })
    const fits = [fit('/a.onnx', [999, 500, 40]), fit('/b.onnx', [999, -5, 40]), fit('/c.onnx', [999, 20])]
    const parameters = { sampler: { sampler: 'unipc', steps: 3, timesteps: [999, 'x', 40] }, seed: 4 }
    writeFileSync(join(dir, 'settings.json'), JSON.stringify({ fits, parameters, recentModels: ['/a.onnx', 7] }))
    const s = open(dir)
    expect(s.get().fits).toEqual([fits[0], fits[2]])
    expect(s.get().parameters).toEqual({ sampler: { sampler: 'unipc', steps: 3 }, seed: 4 })
    expect(s.get().recentModels).toEqual(['/a.onnx'])
    expect(s.problem).toMatch(/^settings\.json: 3 saved settings were invalid and reset to the default: /)
    expect(s.problem).toContain('fits.1 ({"model":"/b.onnx"')
    expect(s.problem).toContain('parameters.sampler.timesteps ([999,"x",40])')
    expect(s.problem).toContain('recentModels.1 (7)')
    const kept = { ...fit('/d.onnx', [999, 300]), sampler: 'unipc' as const, timesteps: [999, 300] }
    s.update({ fits: [kept, ...s.get().fits] })
    expect(open(dir).get().fits).toEqual([kept, fits[0], fits[2]])
  })

  for (const [what, json] of [
    ['null', 'null'],
    ['an array', '[{"provider":"cpu"}]'],
    ['a number', '42'],
  ])
    it(`a file holding ${what} is no settings: defaults, a copy of the file, and a problem to show`, () => {
      const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
      writeFileSync(join(dir, 'settings.json'), json)
      const s = open(dir)
      expect(s.get()).toEqual(DEFAULT_SETTINGS)
      expect(s.setAside).toMatch(/settings\.invalid-.*\.json$/)
      expect(readFileSync(s.setAside!, 'utf8')).toBe(json)
      expect(s.problem).toBe(
        `settings.json holds ${json}, not settings; the default settings are used and the file was kept as ${s.setAside}`,
      )
      expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))).toEqual(
        JSON.parse(JSON.stringify(DEFAULT_SETTINGS)),
      )
    })
})
