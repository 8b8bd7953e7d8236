/** 18. A custom protocol instead of file://: what app://stepwise serves, and nothing outside the renderer. */
import { describe, expect, it } from 'vitest'

import { APP_URL, rendererFile } from '../../../src-main/app/app-scheme'

describe('the app:// scheme', () => {
  const dir = '/opt/Stepwise/resources/app.asar/out/renderer'
  it('opens on our index page', () => {
    expect(APP_URL).toBe('app://stepwise/index.html')
    expect(rendererFile(dir, APP_URL)).toBe(`${dir}/index.html`)
  })
  it('serves the renderer folder and nothing outside it', () => {
    expect(rendererFile(dir, 'app://stepwise/')).toBe(`${dir}/index.html`)
    expect(rendererFile(dir, 'app://stepwise/assets/index-abc.js?v=1#x')).toBe(`${dir}/assets/index-abc.js`)
    expect(rendererFile(dir, 'app://stepwise/assets/a%20b.css')).toBe(`${dir}/assets/a b.css`)
    // The URL parser already drops .. and %2e%2e segments at the root; an encoded slash is caught here.
    expect(rendererFile(dir, 'app://stepwise/../../../../etc/passwd')).toBe(`${dir}/etc/passwd`)
    expect(rendererFile(dir, 'app://stepwise/%2e%2e/%2e%2e/main/index.js')).toBe(`${dir}/main/index.js`)
    expect(rendererFile(dir, 'app://stepwise/assets/..%2F..%2F..%2Fpackage.json')).toBeUndefined()
    expect(rendererFile(dir, 'app://stepwise/assets/..%5C..%5C..%5Cpackage.json')).toBeUndefined()
    expect(rendererFile(dir, 'app://stepwise/%E0%A4%A')).toBeUndefined()
    expect(rendererFile(dir, 'app://stepwise/a%00.js')).toBeUndefined()
  })
  it('answers only for its own scheme and host', () => {
    expect(rendererFile(dir, 'app://elsewhere/index.html')).toBeUndefined()
    expect(rendererFile(dir, 'file:///etc/passwd')).toBeUndefined()
    expect(rendererFile(dir, 'not a url')).toBeUndefined()
  })
})
