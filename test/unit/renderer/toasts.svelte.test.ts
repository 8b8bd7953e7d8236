/** Toasts (lib/toasts.svelte.ts): errors stay longer than info, at most four shown. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { loadRenderer, type Renderer } from './fake-api'

let r: Renderer

beforeEach(async () => {
  vi.useFakeTimers()
  r = await loadRenderer()
})
afterEach(() => vi.useRealTimers())

const messages = () => r.toasts.items.map((t) => t.message)

describe('toasts', () => {
  it('shows an error from a string or an engine error, and info', () => {
    r.toasts.error('plain')
    r.toasts.error({ code: 'bad-png', message: 'no parameters in x.png' })
    r.toasts.info('saved')
    expect(r.toasts.items).toMatchObject([
      { kind: 'error', message: 'plain' },
      { kind: 'error', message: 'no parameters in x.png' },
      { kind: 'info', message: 'saved' },
    ])
    expect(new Set(r.toasts.items.map((t) => t.id)).size).toBe(3)
  })

  it('info fades after 5 s, an error after 12 s', () => {
    r.toasts.error('bad')
    r.toasts.info('good')
    vi.advanceTimersByTime(4999)
    expect(messages()).toEqual(['bad', 'good'])
    vi.advanceTimersByTime(1)
    expect(messages()).toEqual(['bad'])
    vi.advanceTimersByTime(7000 - 1)
    expect(messages()).toEqual(['bad'])
    vi.advanceTimersByTime(1)
    expect(messages()).toEqual([])
  })

  it('keeps the newest four', () => {
    for (const m of ['1', '2', '3', '4', '5']) r.toasts.info(m)
    expect(messages()).toEqual(['2', '3', '4', '5'])
  })

  it('dismisses one by id, and its timer then finds nothing to remove', () => {
    r.toasts.info('a')
    r.toasts.info('b')
    r.toasts.dismiss(r.toasts.items[0].id)
    expect(messages()).toEqual(['b'])
    vi.advanceTimersByTime(5000)
    expect(messages()).toEqual([])
  })
})
