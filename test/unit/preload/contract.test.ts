/** The contract's request checks (src-preload/contract.ts) where they bound what a page may send. */
import { describe, expect, it } from 'vitest'

import { parseRequest } from '../../../src-preload/contract'
import { MAX_IMAGE_BYTES } from '../../../src-shared/limits'

/** Only the error: a failing assertion must not print a request of 64 MiB. */
const errorOf = (channel: string, payload: unknown) => {
  const r = parseRequest(channel, payload)
  return r.ok ? 'accepted' : r.error
}

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
