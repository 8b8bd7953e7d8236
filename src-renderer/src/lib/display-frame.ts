/**
 * Work done at most once a display frame, however often it is asked for: events can come far faster than
 * a screen shows them (a thousand steps in a few seconds), and the page should draw each frame once.
 */

/** The next display frame; a timer where there is none (tests, a worker). */
export const nextFrame = (fn: () => void): void => {
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

/** The time of the display frame being shown: the document timeline's, which moves once a rendered frame. */
const frameTime = (): unknown => (typeof document === 'undefined' ? undefined : document.timeline?.currentTime)

/**
 * Drawing on one canvas at most once a display frame: `draw` runs now, or, where the canvas was drawn on
 * within this frame already, at the next one (the newest drawing asked for meanwhile; an older one would
 * never be seen). Events apply at display frames, but a run's end or a fetched image may come between two
 * of them right after a drawing. Without a timeline (tests without a page) it draws at once.
 */
export function paintOnceAFrame(): (draw: () => void) => void {
  let drawnIn: unknown
  let waiting: (() => void) | undefined
  const paint = (draw: () => void) => {
    const now = frameTime()
    if (now === undefined || now === null) return draw()
    if (now !== drawnIn) {
      drawnIn = now
      return draw()
    }
    if (!waiting)
      nextFrame(() => {
        const next = waiting!
        waiting = undefined
        paint(next)
      })
    waiting = draw
  }
  return paint
}
