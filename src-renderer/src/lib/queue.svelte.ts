/**
 * Runs asked for while one samples wait here, in order, and start one after the other as each ends
 * (done, cancelled or failed); each can be cancelled or moved before it starts. "Generate N batches" asks
 * for N at once: with the dice on each batch draws its own seed; with a seed typed in, batch k starts where
 * batch k - 1 ended (seed + k x batch), so no two batches repeat an image.
 *
 * Also: a notification when a run that took longer than LONG_RUN_MS ends, where the user turned them on
 * (in the browser, the page's Notification, asked for permission then; Electron's main process shows its
 * own, see src-main/app/notify.ts).
 */
import type { SampleStartRequest } from '../../../src-preload/contract'
import { LONG_RUN_MS, MAX_BATCHES } from '../../../src-shared/limits'
import { imageSeedText, samplerLabel } from '../../../src-shared/parameters'
import { api } from './api'
import { run } from './run.svelte'
import { toasts } from './toasts.svelte'

export interface Queued {
  id: number
  request: SampleStartRequest
  /** "DDIM 50 · seed 42 ×4" */
  label: string
}

export const labelOf = (req: SampleStartRequest): string => {
  const sampler = req.sampler?.sampler ? samplerLabel(req.sampler as Parameters<typeof samplerLabel>[0]) : 'run'
  return `${sampler} ${req.sampler?.steps ?? ''} · ${imageSeedText(req, 0, req.batch)}${req.batch > 1 ? ` ×${req.batch}` : ''}`
}

/** What notifications the page can show: the browser's Notification, where there is one. */
type NotificationApi = {
  permission: NotificationPermission
  requestPermission(): Promise<NotificationPermission>
  new (title: string, options?: NotificationOptions): Notification
}
const notificationApi = (): NotificationApi | undefined =>
  typeof Notification === 'undefined' ? undefined : (Notification as unknown as NotificationApi)

class Queue {
  items = $state<Queued[]>([])
  /** Notify when a long run ends (the user's setting, kept with the others). */
  notify = $state(false)
  #next = 1
  /** Starts the run at the head; set by actions.ts (it knows the timeline and the view). */
  #start: (req: SampleStartRequest) => Promise<boolean> = (req) => run.start(req)

  useStarter(start: (req: SampleStartRequest) => Promise<boolean>) {
    this.#start = start
  }

  /** Run `requests` now when nothing samples, else after what waits already. */
  async submit(requests: SampleStartRequest[]) {
    const count = Math.min(requests.length, MAX_BATCHES)
    this.items = [
      ...this.items,
      ...requests.slice(0, count).map((request) => ({ id: this.#next++, request, label: labelOf(request) })),
    ]
    await this.advance()
  }

  cancel(id: number) {
    this.items = this.items.filter((q) => q.id !== id)
  }

  clear() {
    this.items = []
  }

  /** Move an entry up (-1) or down (+1). */
  move(id: number, by: -1 | 1) {
    const i = this.items.findIndex((q) => q.id === id)
    const j = i + by
    if (i < 0 || j < 0 || j >= this.items.length) return
    const items = [...this.items]
    ;[items[i], items[j]] = [items[j], items[i]]
    this.items = items
  }

  /** Start the head of the queue when nothing samples (a run refused by the engine is dropped, said in a toast). */
  async advance() {
    while (!run.running && this.items.length > 0) {
      const [head, ...rest] = this.items
      this.items = rest
      await this.#start(head.request)
    }
  }

  /** Subscribe to the ends of runs: the next one starts, a long one notifies; returns the unsubscribe. */
  listen(): () => void {
    const ended = (runId: string) => {
      // After the run module has seen the event too (the run is no longer running then).
      if (runId === run.runId) setTimeout(() => void this.advance(), 0)
    }
    const offs = [
      api.on('done', (e) => {
        if (e.runId === run.runId && e.elapsedMs > LONG_RUN_MS) this.#notify(e.runId, e.elapsedMs)
        ended(e.runId)
      }),
      api.on('failed', (e) => ended(e.runId)),
    ]
    return () => offs.forEach((off) => off())
  }

  /**
   * Turn notifications of long runs on or off. In the browser, turning them on asks for permission (only
   * then); refused, they stay off and a toast says how to allow them.
   */
  async setNotify(on: boolean) {
    const browser = api.host === 'browser' ? notificationApi() : undefined
    if (on && api.host === 'browser') {
      if (!browser) return toasts.error('This browser shows no notifications')
      const permission = browser.permission === 'granted' ? 'granted' : await browser.requestPermission()
      if (permission !== 'granted') {
        this.notify = false
        return toasts.error('Notifications are blocked for this page: allow them in the browser, then turn them on')
      }
    }
    this.notify = on
    const r = await api.invoke('settings.set', { notifyLongRuns: on })
    if (!r.ok) toasts.error(r.error)
  }

  #notify(runId: string, elapsedMs: number) {
    // Electron's main process shows its own (the page's Notification permission is refused there).
    if (!this.notify || api.host !== 'browser') return
    const browser = notificationApi()
    if (!browser || browser.permission !== 'granted') return
    const p = run.runId === runId ? run.parameters : null
    const what = p ? `${samplerLabel(p.sampler)} ${p.sampler.steps} steps, seed ${p.seed}` : 'A run'
    new browser('Stepwise: run finished', {
      body: `${what} took ${Math.round(elapsedMs / 1000)} s`,
      tag: `stepwise-${runId}`,
    })
  }
}

export const queue = new Queue()
