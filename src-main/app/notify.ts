/**
 * A system notification when a run that took longer than LONG_RUN_MS ends, where the user turned them on
 * (the setting `notifyLongRuns`). Electron's Notification, shown by the main process: the page's own
 * Notification would need a permission the window refuses (permissions.ts), and the page may be hidden.
 * (The browser host's page uses the browser's Notification instead: src-renderer/src/lib/queue.svelte.ts.)
 */
import { Notification } from 'electron'

import type { Events, SampleStarted } from '../../src-preload/contract'
import { LONG_RUN_MS } from '../../src-shared/limits'
import { samplerLabel } from '../../src-shared/parameters'

export interface LongRunNotifier {
  /** A run the page started (its parameters name it in the notification). */
  started(s: SampleStarted): void
  /** A run ended: shows the notification when it was long and they are on. */
  done(e: Events['done']): void
  /** A run failed or was cancelled: forgotten. */
  failed(e: Events['failed']): void
}

export function longRunNotifier(enabled: () => boolean): LongRunNotifier {
  const names = new Map<string, string>()
  return {
    started(s) {
      const p = s.parameters
      names.set(s.runId, `${samplerLabel(p.sampler)} ${p.sampler.steps} steps, seed ${p.seed}`)
    },
    done(e) {
      const name = names.get(e.runId) ?? 'A run'
      names.delete(e.runId)
      if (!enabled() || e.elapsedMs <= LONG_RUN_MS || !Notification.isSupported()) return
      new Notification({
        title: 'Stepwise: run finished',
        body: `${name} took ${Math.round(e.elapsedMs / 1000)} s`,
        silent: false,
      }).show()
    },
    failed(e) {
      names.delete(e.runId)
    },
  }
}
