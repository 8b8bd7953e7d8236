/** The contract's request checks (src-preload/contract.ts): the sampler settings built from the vocabulary's
 * sampler table, and the bounds on what a page may send. */
import { describe, expect, it } from 'vitest'

import { parseRequest, samplerSettings, sampleStartRequest } from '../../../src-preload/contract'
import { MAX_FIT_BATCH } from '../../../src-shared/fit'
import { MAX_IMAGE_BYTES } from '../../../src-shared/limits'
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

/** Only the error: a failing assertion must not print a request of 64 MiB. */
const errorOf = (channel: string, payload: unknown) => {
  const r = parseRequest(channel, payload)
  return r.ok ? 'accepted' : r.error
}

describe('fit.timesteps', () => {
  it('takes a probe batch up to MAX_FIT_BATCH and needs a sampler; refuses what a run would not take', () => {
    const req = { sampler: { sampler: 'unipc', steps: 10, timesteps: [999, 500] }, seed: 3, batch: 32, classLabel: 3 }
    expect(parseRequest('fit.timesteps', req)).toEqual({ ok: true, value: req })
    expect(parseRequest('fit.timesteps', { ...req, batch: MAX_FIT_BATCH }).ok).toBe(true)
    const over = parseRequest('fit.timesteps', { ...req, batch: MAX_FIT_BATCH + 1 })
    expect(over.ok).toBe(false)
    if (!over.ok) expect(over.error.message).toMatch(/^fit.timesteps: batch: /)
    const { sampler: _, ...noSampler } = req
    const none = parseRequest('fit.timesteps', noSampler)
    if (!none.ok) expect(none.error.message).toMatch(/^fit.timesteps: sampler: /)
    expect(none.ok).toBe(false)
    // A run's own fields (fork, group) are no part of a fit's probe: left out.
    expect(parseRequest('fit.timesteps', { ...req, fork: { runId: 'x', step: 1 } })).toEqual({ ok: true, value: req })
    expect(parseRequest('fit.cancel', {})).toEqual({ ok: true, value: {} })
    expect(parseRequest('fit.cancel', { runId: 'x' }).ok).toBe(false)
  })
})

describe('image bytes in a request', () => {
  it('are taken up to MAX_IMAGE_BYTES and refused beyond, naming the field', () => {
    const within = new ArrayBuffer(MAX_IMAGE_BYTES)
    const beyond = new ArrayBuffer(MAX_IMAGE_BYTES + 1)
    expect(errorOf('png.read', { name: 'a.png', bytes: within })).toBe('accepted')
    expect(errorOf('png.read', { name: 'a.png', bytes: beyond })).toEqual({
      code: 'bad-argument',
      message: 'png.read: bytes: larger than 64 MiB',
    })
    const preview = (bytes: ArrayBuffer) => ({ image: { name: 'a.png', bytes }, timesteps: [0], seed: 1 })
    expect(errorOf('noise.preview', preview(within))).toBe('accepted')
    expect(errorOf('noise.preview', preview(beyond))).toEqual({
      code: 'bad-argument',
      message: 'noise.preview: image.bytes: larger than 64 MiB',
    })
  })
})
