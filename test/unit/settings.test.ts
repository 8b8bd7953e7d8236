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
    expect(readFileSync(s.setAside!, 'utf8')).toBe('{"provider": "cpu", oops')
    expect(readdirSync(dir).sort()).toEqual(['settings.json', s.setAside!.split('/').pop()].sort())
  })

  it('replace only the fields with bad values, on disk too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-settings-'))
    writeFileSync(
      join(dir, 'settings.json'),
      JSON.stringify({ provider: 'tpu', recentModels: ['/x.onnx'], windowBounds: { x: 'left' } }),
    )
    const s = open(dir)
    expect(s.get()).toEqual({ ...DEFAULT_SETTINGS, recentModels: ['/x.onnx'] })
    expect(s.setAside).toBeUndefined()
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).provider).toBe('auto')
  })
})
