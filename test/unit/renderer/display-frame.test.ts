import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { onceAFrame, paintOnceAFrame } from '../../../src-renderer/src/lib/display-frame'

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

describe('a canvas drawn at most once a display frame', () => {
  let frames: (() => void)[]
  const timeline = { currentTime: 0 as number | null }
  beforeEach(() => {
    frames = []
    timeline.currentTime = 0
    vi.stubGlobal('requestAnimationFrame', (fn: () => void) => frames.push(fn))
    vi.stubGlobal('document', { timeline })
  })
  afterEach(() => vi.unstubAllGlobals())
  /** The next display frame: the timeline moves, then the frame's callbacks run. */
  const display = () => {
    ;(timeline.currentTime as number) += 16
    frames.splice(0).forEach((fn) => fn())
  }

  it('draws at once the first time in a frame, and the newest of later asks at the next frame', () => {
    const drawn: string[] = []
    const paint = paintOnceAFrame()
    paint(() => drawn.push('last step'))
    expect(drawn).toEqual(['last step'])
    // The run's end and another image in the same frame: only the newest, at the next frame.
    paint(() => drawn.push('samples'))
    paint(() => drawn.push('newer samples'))
    expect(drawn).toEqual(['last step'])
    expect(frames).toHaveLength(1)
    display()
    expect(drawn).toEqual(['last step', 'newer samples'])
    // A frame later it draws at once again.
    display()
    paint(() => drawn.push('scrubbed'))
    expect(drawn).toEqual(['last step', 'newer samples', 'scrubbed'])
  })

  it('keeps canvases apart, and draws at once where the page has no timeline', () => {
    const drawn: string[] = []
    const a = paintOnceAFrame()
    const b = paintOnceAFrame()
    a(() => drawn.push('a'))
    b(() => drawn.push('b'))
    expect(drawn).toEqual(['a', 'b'])
    timeline.currentTime = null
    a(() => drawn.push('a again'))
    expect(drawn).toEqual(['a', 'b', 'a again'])
  })
})
