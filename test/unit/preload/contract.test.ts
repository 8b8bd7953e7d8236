/** The contract's sampler settings schema, built from the vocabulary's sampler table. */
import { describe, expect, it } from 'vitest'

import { samplerSettings, sampleStartRequest } from '../../../src-preload/contract'
import { SAMPLER_OPTIONS, SAMPLERS } from '../../../src-shared/names'
import { configOf } from '../../../src-shared/parameters'

describe('samplerSettings', () => {
  it("takes every sampler's full configuration with diffusers' defaults", () => {
    for (const sampler of SAMPLERS) {
      const config = configOf(sampler, {})
      expect(samplerSettings.parse(config)).toEqual(config)
    }
  })

  it('has a field for every option of the table, and refuses values of the wrong kind or range', () => {
    const bad = { sigmas: 'linear', solverOrder: 1.5, lowerOrderFinal: 'yes', eta: 2, finalSigmas: 'one' }
    const result = samplerSettings.safeParse(bad)
    expect(result.success).toBe(false)
    const paths = result.error!.issues.map((i) => i.path.join('.'))
    expect(paths.sort()).toEqual(Object.keys(bad).sort())
    expect(Object.keys(SAMPLER_OPTIONS).every((name) => samplerSettings.safeParse({ [name]: null }).success === false))
  })

  it('a sample.start request carries sampler options through', () => {
    const req = { seed: 1, batch: 1, sampler: { sampler: 'dpmpp-2m', sigmas: 'karras', solverType: 'heun' } }
    expect(sampleStartRequest.parse(req).sampler).toEqual(req.sampler)
  })
})
