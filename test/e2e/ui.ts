/** What the end-to-end tests do to the page again and again: find by test id, wait for a run, export. */
import type { Page } from 'playwright-core'
import { expect } from 'vitest'

/** The engine's time of a run as the run bar says it ("Done in 850 ms", "Done in 9.5 s", "Done in 2 min 18 s"). */
export function doneMs(text: string): number {
  const m = /Done in (?:(\d+) min )?([\d.]+) (ms|s)/.exec(text)
  if (!m) return NaN
  return Number(m[1] ?? 0) * 60_000 + Number(m[2]) * (m[3] === 's' ? 1000 : 1)
}

/** `page` is read at each call: test files open their page in beforeAll. */
export function ui(page: () => Page) {
  const byId = (id: string) => page().getByTestId(id)

  /**
   * Wait until the run bar says the run is `want` (done, cancelled, ...): asked each display frame, or
   * every `polling` ms (asking each frame makes the page render 60 frames a second).
   */
  const waitForStatus = (want: string, timeout = 60_000, polling: 'raf' | number = 'raf') =>
    page().waitForFunction(
      (w) => document.querySelector('[data-testid=progress]')?.getAttribute('data-status') === w,
      want,
      { timeout, polling },
    )

  async function dismissToasts() {
    for (const close of await page().locator('[data-testid=toast] button.close').all())
      await close.click().catch(() => {})
    await expect.poll(() => byId('toast').count()).toBe(0)
  }

  /** Click an export button and read back the one path its "Saved ..." toast names. */
  async function exportOne(button: string): Promise<string> {
    await dismissToasts()
    await byId(button).click()
    const toast = page().locator('[data-testid=toast][data-kind=info]')
    await toast.first().waitFor({ timeout: 60_000 })
    // The toast's message, without its close button's "×".
    const text = (await toast.first().locator('span').first().textContent()) ?? ''
    const path = /Saved (.+)$/.exec(text.trim())?.[1]
    expect(path, text).toBeTruthy()
    return path!
  }

  /**
   * Move the timeline's scrubber to step `index` (0-based) and wait until the stage shows that step's
   * images: a step the page does not hold is fetched first, and the step shown before stays meanwhile.
   */
  async function scrubTo(index: number) {
    await byId('scrubber').fill(String(index))
    await expect
      .poll(() => byId('stage').getAttribute('data-drawn-step'), { message: `step ${index}` })
      .toBe(String(index))
  }

  /**
   * The canvases `selector` finds, as data URLs, read two display frames from now: a canvas paints at
   * most once a frame (display-frame.ts), so what a control just asked for may land at the next frame.
   */
  const canvases = (selector: string) =>
    page().evaluate(async (s) => {
      for (let frame = 0; frame < 2; frame++) await new Promise(requestAnimationFrame)
      return [...document.querySelectorAll<HTMLCanvasElement>(s)].map((c) => c.toDataURL())
    }, selector)

  return { byId, waitForStatus, dismissToasts, exportOne, scrubTo, canvases }
}
