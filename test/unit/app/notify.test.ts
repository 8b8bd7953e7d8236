/** The main process's notification when a long run ends (src-main/app/notify.ts), against a mocked electron. */
import { beforeEach, describe, expect, it, vi } from 'vitest'

vi.mock('electron', () => import('./mock-electron'))

import { longRunNotifier } from '../../../src-main/app/notify'
import type { SampleStarted } from '../../../src-preload/contract'
import { LONG_RUN_MS } from '../../../src-shared/limits'
import { Notification } from './mock-electron'

const started = (runId: string) =>
  ({
    runId,
    parameters: { sampler: { sampler: 'ddpm', steps: 1000 }, seed: 42 },
  }) as unknown as SampleStarted

beforeEach(() => {
  Notification.made.length = 0
  Notification.supported = true
})

describe('notifications of long runs', () => {
  it('shows one when a run longer than 10 s ends, naming it and how long it took', () => {
    const n = longRunNotifier(() => true)
    n.started(started('a'))
    n.done({ runId: 'a', samples: new ArrayBuffer(0), elapsedMs: 23_400 })
    expect(Notification.made).toHaveLength(1)
    expect(Notification.made[0].shown).toBe(true)
    expect(Notification.made[0].options).toMatchObject({
      title: 'Stepwise: run finished',
      body: 'DDPM 1000 steps, seed 42 took 23 s',
    })
  })

  it('stays quiet for a short run, when turned off, for a failed run, and where the system has none', () => {
    let on = true
    const n = longRunNotifier(() => on)
    n.started(started('short'))
    n.done({ runId: 'short', samples: new ArrayBuffer(0), elapsedMs: LONG_RUN_MS })
    on = false
    n.started(started('off'))
    n.done({ runId: 'off', samples: new ArrayBuffer(0), elapsedMs: 60_000 })
    on = true
    n.started(started('cancelled'))
    n.failed({ runId: 'cancelled', error: { code: 'cancelled', message: 'cancelled at step 3 of 1000' } })
    Notification.supported = false
    n.started(started('unsupported'))
    n.done({ runId: 'unsupported', samples: new ArrayBuffer(0), elapsedMs: 60_000 })
    expect(Notification.made).toHaveLength(0)
  })

  it('names a run it did not see start plainly', () => {
    longRunNotifier(() => true).done({ runId: 'other', samples: new ArrayBuffer(0), elapsedMs: 12_000 })
    expect(Notification.made[0].options.body).toBe('A run took 12 s')
  })
})
