import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { onceAFrame } from '../../../src-renderer/src/lib/display-frame'

describe('work done at most once a display frame', () => {
  let frames: (() => void)[]
  beforeEach(() => {
    vi.useFakeTimers()
    frames = []
    vi.stubGlobal('requestAnimationFrame', (fn: () => void) => frames.push(fn))
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.useRealTimers()
  })
  /** Run the display frames asked for so far. */
  const display = () => frames.splice(0).forEach((fn) => fn())

  it('runs once at the next frame however often it is asked for', () => {
    const fn = vi.fn()
    const ask = onceAFrame(fn)
    for (let i = 0; i < 100; i++) ask()
    expect(frames).toHaveLength(1)
    display()
    expect(fn).toHaveBeenCalledTimes(1)
  })

  it('within the interval asks for no display frame until the interval has passed', () => {
    const fn = vi.fn()
    const ask = onceAFrame(fn, 250)
    ask()
    display()
    expect(fn).toHaveBeenCalledTimes(1)
    // Asked again 10 ms later: no frame is asked for (each would render the page) until 250 ms have passed.
    vi.advanceTimersByTime(10)
    ask()
    ask()
    expect(frames).toHaveLength(0)
    vi.advanceTimersByTime(239)
    expect(frames).toHaveLength(0)
    vi.advanceTimersByTime(1)
    expect(frames).toHaveLength(1)
    display()
    expect(fn).toHaveBeenCalledTimes(2)
  })
})
