/** 17. Validate the sender of all IPC messages (and 13. limit navigation): only our own page. */
import { describe, expect, it } from 'vitest'

import { APP_URL } from '../../../src-main/app/app-scheme'
import { isTrustedSender } from '../../../src-main/app/sender'

const built = {}
const dev = { devUrl: 'http://localhost:5173/' }

describe('IPC senders and navigation', () => {
  it('accept only our own page', () => {
    expect(isTrustedSender('app://stepwise/index.html', built)).toBe(true)
    expect(isTrustedSender('app://stepwise/index.html#timeline', built)).toBe(true)
    expect(isTrustedSender('app://other/index.html', built)).toBe(false)
    expect(isTrustedSender('file:///opt/Stepwise/resources/app.asar/out/renderer/index.html', built)).toBe(false)
    expect(isTrustedSender('file:///home/me/Downloads/evil.html', built)).toBe(false)
    expect(isTrustedSender('https://example.com/', built)).toBe(false)
    expect(isTrustedSender(undefined, built)).toBe(false)
    expect(isTrustedSender('not a url', built)).toBe(false)
    expect(isTrustedSender('http://localhost:5173/src/App.svelte', dev)).toBe(true)
    expect(isTrustedSender('http://localhost:5174/', dev)).toBe(false)
    expect(isTrustedSender(APP_URL, dev)).toBe(false)
  })
})
