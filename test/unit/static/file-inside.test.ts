/** One check for a URL path inside a served folder, for app:// and the browser host alike. */
import { resolve } from 'node:path'

import { describe, expect, it } from 'vitest'

import { fileInside } from '../../../src-main/static/file-inside'

describe('a file inside the served folder', () => {
  const root = '/srv/renderer'
  it('is named by the URL path, decoded once', () => {
    expect(fileInside(root, '/')).toBe('/srv/renderer/index.html')
    expect(fileInside(root, '/assets/index-abc.js')).toBe('/srv/renderer/assets/index-abc.js')
    expect(fileInside(root, '/assets/a%20b.css')).toBe('/srv/renderer/assets/a b.css')
    expect(fileInside(root, '//assets/x.js')).toBe('/srv/renderer/assets/x.js')
    expect(fileInside(root, '/%2e%2e-not-a-parent.js')).toBe('/srv/renderer/..-not-a-parent.js')
    // Decoded twice, this would be ../
    expect(fileInside(root, '/%252e%252e/x')).toBe('/srv/renderer/%2e%2e/x')
    expect(fileInside('relative/renderer', '/x.js')).toBe(resolve('relative/renderer/x.js'))
  })
  it('is refused when it leaves the folder or cannot be read plainly', () => {
    for (const path of [
      '/../secret',
      '/assets/../../secret',
      '/assets/..%2F..%2Fsecret',
      '/%2e%2e/secret',
      '/..',
      '/assets/..%5C..%5Csecret',
      '/a%00.js',
      '/%E0%A4%A',
      '/../renderer-evil/x.js', // a sibling whose name starts like the root's
    ])
      expect(fileInside(root, path), path).toBeUndefined()
  })
})
