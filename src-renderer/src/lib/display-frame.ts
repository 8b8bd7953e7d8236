/**
 * Work done at most once a display frame, however often it is asked for: events can come far faster than
 * a screen shows them (a thousand steps in a few seconds), and the page should draw each frame once.
 */

/** The next display frame; a timer where there is none (tests, a worker). */
const nextFrame = (fn: () => void): void => {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => fn())
  else setTimeout(fn, 16)
}

/**
 * `fn` at the next display frame, once, however many times the result is called before it; and not
 * sooner than `minIntervalMs` after its last call (a rate below the display's, for work that repaints).
 */
export function onceAFrame(fn: () => void, minIntervalMs = 0): () => void {
  let pending = false
  let last = -Infinity
  /** The display frame at or after the interval's end: a frame asked for sooner would only wait (and render). */
  const schedule = () => {
    const wait = last + minIntervalMs - performance.now()
    if (wait > 0) setTimeout(() => nextFrame(run), wait)
    else nextFrame(run)
  }
  const run = () => {
    if (last + minIntervalMs > performance.now()) return schedule()
    pending = false
    last = performance.now()
    fn()
  }
  return () => {
    if (pending) return
    pending = true
    schedule()
  }
}
