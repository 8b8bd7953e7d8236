/** One MIME table, for app:// and the browser host alike. */
import { describe, expect, it } from 'vitest'

import { mimeType } from '../../../src-main/static/mime'

describe('the MIME table', () => {
  it('types what the renderer build holds, and anything else as bytes', () => {
    expect(mimeType('/x/index.html')).toBe('text/html; charset=utf-8')
    expect(mimeType('/x/index-abc.js')).toMatch(/^text\/javascript/)
    expect(mimeType('/x/worker.MJS')).toMatch(/^text\/javascript/)
    expect(mimeType('/x/ort.wasm')).toBe('application/wasm')
    expect(mimeType('/x/a.gif')).toBe('image/gif')
    expect(mimeType('/x/blob.bin')).toBe('application/octet-stream')
    expect(mimeType('/x/model.onnx')).toBe('application/octet-stream')
  })
})
