/**
 * As fast as the CLI, measured in Chromium: the same run (DDPM 1000 steps x 4, class 3, guidance 3 on the
 * default model; STEPWISE_SPEED_STEPS changes the steps) by the CLI and by the app through the browser
 * host, four runs each, interleaved (CLI app app CLI app CLI CLI app). Printed, not asserted against the clock
 * (the machine may be shared): the app's time against the CLI's (best against best, mean against mean, and
 * each app run against the CLI runs beside it), and from a first app run, made with clicks on the history
 * toggle, the page's long tasks and how long those clicks took to be answered. Asserted: the page draws
 * each canvas at most once a display frame, and a run past LONG_RUN_MS notifies when the user turned
 * notifications on (the browser's Notification). `npm run bench` breaks the time down.
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { LONG_RUN_MS } from '../../src-shared/limits'
import { cliSample } from '../fixtures/cli-sample'
import { type Harness, startHarness } from './harness'
import { doneMs, ui } from './ui'

const STEPS = Number(process.env.STEPWISE_SPEED_STEPS ?? 1000)
const RUN = { sampler: 'ddpm', steps: STEPS, batch: 4, seed: 1, classLabel: 3, guidance: 3 }

let h: Harness
let page: Page
const { byId, waitForStatus } = ui(() => page)

/** What the page records about itself (set up before any of its scripts runs). */
interface PagePerf {
  recording: boolean
  /** Page time when recording began (Generate is clicked right after). */
  since: number
  /** Display frames in which some canvas was drawn. */
  framesWithDraws: number
  /** Canvas drawings (putImageData) while recording. */
  draws: number
  /** The most drawings of one canvas within one display frame. */
  mostDrawsOfACanvasInAFrame: number
  /** Long tasks: when each began (page time) and how long it took. */
  longTasks: { start: number; duration: number }[]
  /** Event Timing of clicks on the history toggle while recording: when, and input to next paint. */
  clicks: { start: number; duration: number }[]
  notifications: { title: string; body?: string }[]
}

function instrumentPage() {
  const perf: PagePerf = {
    recording: false,
    since: 0,
    framesWithDraws: 0,
    draws: 0,
    mostDrawsOfACanvasInAFrame: 0,
    longTasks: [],
    clicks: [],
    notifications: [],
  }
  ;(window as unknown as { stepwisePerf: PagePerf }).stepwisePerf = perf
  // A frame's drawings are counted until the next display frame begins. No requestAnimationFrame loop:
  // one would make the page render every display frame, CPU the app's own run does not spend.
  let drawnThisFrame = new Map<HTMLCanvasElement, number>()
  const put = CanvasRenderingContext2D.prototype.putImageData
  CanvasRenderingContext2D.prototype.putImageData = function (this: CanvasRenderingContext2D, ...args: unknown[]) {
    if (perf.recording && this.canvas instanceof HTMLCanvasElement) {
      perf.draws++
      if (drawnThisFrame.size === 0)
        requestAnimationFrame(() => {
          perf.framesWithDraws++
          drawnThisFrame = new Map()
        })
      const n = (drawnThisFrame.get(this.canvas) ?? 0) + 1
      drawnThisFrame.set(this.canvas, n)
      perf.mostDrawsOfACanvasInAFrame = Math.max(perf.mostDrawsOfACanvasInAFrame, n)
    }
    return (put as (...a: unknown[]) => void).apply(this, args)
  } as typeof put
  new PerformanceObserver((list) => {
    if (perf.recording)
      for (const e of list.getEntries()) perf.longTasks.push({ start: e.startTime, duration: e.duration })
  }).observe({ type: 'longtask' })
  new PerformanceObserver((list) => {
    if (!perf.recording) return
    for (const e of list.getEntries() as PerformanceEventTiming[])
      if (e.name === 'click' && e.target instanceof Element && e.target.closest('[data-testid=history-toggle]'))
        perf.clicks.push({ start: e.startTime, duration: e.duration })
  }).observe({ type: 'event', durationThreshold: 16 } as PerformanceObserverInit)
  // The browser's notifications, recorded (a headless browser shows none).
  class RecordedNotification {
    static permission = 'granted'
    static requestPermission = async () => 'granted'
    constructor(title: string, options?: { body?: string }) {
      perf.notifications.push({ title, body: options?.body })
    }
  }
  Object.defineProperty(window, 'Notification', { value: RecordedNotification, configurable: true })
}

const perf = () => page.evaluate(() => (window as unknown as { stepwisePerf: PagePerf }).stepwisePerf)

/** The same run by the CLI, a process of its own: its sampling loop's time and its process's wall time. */
const cli = () =>
  cliSample([
    ...['--sampler', RUN.sampler, '--steps', String(RUN.steps), '--batch', String(RUN.batch)],
    ...['--seed', String(RUN.seed), '--class', String(RUN.classLabel), '--guidance', String(RUN.guidance)],
    ...['--provider', 'cpu'],
  ])

beforeAll(async () => {
  h = await startHarness({ viewport: { width: 1280, height: 820 }, open: false })
  page = h.page
  await page.addInitScript(instrumentPage)
  await page.goto(h.host.url)
  await byId('model-card').waitFor({ timeout: 90_000 })
}, 180_000)
afterAll(async () => {
  await h?.close()
})

const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`

/**
 * One run in the app: Generate clicked to the run bar saying done. `recorded`: the page records itself
 * meanwhile (long tasks, drawing), and six clicks on the history toggle during the run say how long each
 * took to be answered (each opens or closes the panel: the whole window's layout changes).
 */
async function appRun(recorded: boolean) {
  const notified = (await perf()).notifications.length
  if (recorded)
    await page.evaluate(() => {
      const perf = (window as unknown as { stepwisePerf: PagePerf }).stepwisePerf
      perf.recording = true
      perf.since = performance.now()
    })
  const start = performance.now()
  await byId('generate').click()
  // Clicks while it runs, answered by the page: the history panel opens and closes.
  const answered: number[] = []
  const done = waitForStatus('done', 900_000, 100)
  let finished = false
  void done.then(() => (finished = true))
  await page.waitForTimeout(1000)
  for (let i = 0; i < (recorded ? 6 : 0) && !finished; i++) {
    const open = await byId('history').isVisible()
    const t = performance.now()
    await byId('history-toggle').click()
    await page.waitForFunction(
      (was) => !!document.querySelector('[data-testid=history]')?.checkVisibility() !== was,
      open,
      { polling: 'raf' },
    )
    answered.push(performance.now() - t)
    await page.waitForTimeout(1500)
  }
  await done
  const ms = performance.now() - start
  await page.evaluate(() => ((window as unknown as { stepwisePerf: PagePerf }).stepwisePerf.recording = false))
  const engineMs = doneMs((await byId('progress').textContent()) ?? '')
  return { ms, engineMs, answered, notifications: (await perf()).notifications.slice(notified) }
}

describe('as fast as the CLI', () => {
  test(`DDPM ${STEPS} x 4: the app against the CLI, long tasks, click latency, drawing`, async () => {
    await byId('sampler').selectOption(RUN.sampler)
    await byId('steps').fill(String(RUN.steps))
    await byId('batch').fill(String(RUN.batch))
    await byId('seed').fill(String(RUN.seed))
    await byId('class-label').selectOption(String(RUN.classLabel))
    await byId('guidance').fill(String(RUN.guidance))
    await byId('notify-toggle').click()
    await expect.poll(() => byId('notify-toggle').getAttribute('aria-pressed')).toBe('true')

    // The app's run recorded (long tasks, clicks, drawing) first; then four CLI runs and four app runs
    // alone in the order CLI app app CLI app CLI CLI app: each side's runs sit at the same mean position,
    // so a machine that speeds up or slows down over the test favours neither, and each side's best is
    // the best of as many runs (the best of more runs is lower by chance alone).
    const first = await appRun(true)
    const order = ['cli', 'app', 'app', 'cli', 'app', 'cli', 'cli', 'app'] as const
    const runs: (
      { side: 'cli'; ms: number; wallMs: number } | ({ side: 'app' } & Awaited<ReturnType<typeof appRun>>)
    )[] = []
    for (const side of order)
      runs.push(
        side === 'cli'
          ? await cli().then((c) => ({ side, ms: c.loopMs, wallMs: c.wallMs }))
          : { side, ...(await appRun(false)) },
      )
    const clis = runs.filter((r) => r.side === 'cli')
    const apps = runs.filter((r) => r.side === 'app')
    const p = await perf()
    const best = (xs: { ms: number }[]) => Math.min(...xs.map((x) => x.ms))
    const mean = (xs: { ms: number }[]) => xs.reduce((sum, x) => sum + x.ms, 0) / xs.length
    /** An app run against the nearest CLI run before it and after it (the mean of the two, or the one). */
    const beside = (k: number) => {
      const before = runs.slice(0, k).findLast((r) => r.side === 'cli')
      const after = runs.slice(k + 1).find((r) => r.side === 'cli')
      const near = [before, after].filter((r) => r !== undefined)
      return runs[k].ms / mean(near)
    }
    const besides = runs.flatMap((r, k) => (r.side === 'app' ? [beside(k)] : []))
    const longest = Math.max(0, ...p.longTasks.map((t) => t.duration))
    // Each long task beside what the page was doing: a click on the history toggle just before, or the run.
    const during = p.longTasks.map((t) => {
      const click = p.clicks.find((c) => t.start >= c.start - 50 && t.start < c.start + 500)
      return `${t.duration.toFixed(0)} at ${s(t.start - p.since)}${click ? ' (a click)' : ''}`
    })
    console.log(
      [
        `DDPM ${STEPS} x 4, class 3, guidance 3 (default model, cpu):`,
        `  runs in order: ${runs.map((r) => `${r.side} ${s(r.ms)}`).join(', ')}`,
        `  CLI: sampling (its loop); its process ${clis.map((c) => s(c.wallMs)).join(', ')} with start-up and PNGs`,
        `  app: Generate clicked to done; the engine's loop ${apps.map((a) => s(a.engineMs)).join(', ')}`,
        `  app / CLI (the issue asks at most 1.1): ${(best(apps) / best(clis)).toFixed(3)} best against best, ` +
          `${(mean(apps) / mean(clis)).toFixed(3)} mean against mean; each app run against the CLI runs beside ` +
          `it: ${besides.map((x) => x.toFixed(3)).join(', ')} (their mean ${(besides.reduce((a, b) => a + b, 0) / besides.length).toFixed(3)})`,
        `  with six clicks on the history toggle during the run: ${s(first.ms)}, ` +
          `${(first.ms / mean(clis)).toFixed(3)} against the CLI runs' mean`,
        `  page: ${p.longTasks.length} long tasks, longest ${longest.toFixed(0)} ms (the issue asks none over 50 ms): ` +
          `${during.join(', ')} ms`,
        `  clicks during the run: answered in ${first.answered.map((ms) => ms.toFixed(0)).join(', ')} ms (playwright); ` +
          `Event Timing durations ${p.clicks.map((c) => c.duration.toFixed(0)).join(', ') || 'all under 16'} ms`,
        `  drawing: ${p.draws} canvas drawings on ${p.framesWithDraws} display frames ` +
          `(${(p.framesWithDraws / (first.ms / 1000)).toFixed(1)} a second); ` +
          `at most ${p.mostDrawsOfACanvasInAFrame} of one canvas in a frame`,
        `  notifications: ${first.notifications.map((n) => `${n.title}: ${n.body}`).join('; ') || 'none'}`,
      ].join('\n'),
    )

    // Each canvas is drawn at most once a display frame.
    expect(p.mostDrawsOfACanvasInAFrame).toBeLessThanOrEqual(1)
    expect(p.draws).toBeGreaterThan(0)
    expect(first.answered.length).toBeGreaterThan(0)
    // A run longer than LONG_RUN_MS says so with a notification, the user having turned them on.
    if (first.engineMs > LONG_RUN_MS) {
      expect(first.notifications).toHaveLength(1)
      expect(first.notifications[0].body).toContain(`seed ${RUN.seed}`)
    } else expect(first.notifications).toEqual([])
    expect(h.pageErrors).toEqual([])
  }, 1_200_000)
})
