/**
 * The queue end to end in Chromium against the browser host: "Generate N batches" while a run samples
 * waits in a visible queue, an entry moved earlier, one cancelled, more added, and each starting when the
 * one before it ends (a cancelled run too). Screenshots of the queue at 1024x700, 1280x820 and 1920x1080
 * in light and dark in test-results/e2e/. (The notification of a long run: speed.test.ts, whose run is one.)
 */
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { type Harness, startHarness } from './harness'
import { ui } from './ui'

const SIZES = [
  { width: 1024, height: 700 },
  { width: 1280, height: 820 },
  { width: 1920, height: 1080 },
]

let h: Harness
let page: Page

beforeAll(async () => {
  h = await startHarness({ viewport: { width: 1280, height: 820 } })
  page = h.page
  await byId('model-card').waitFor({ timeout: 90_000 })
}, 180_000)
afterAll(async () => {
  await h?.close()
})

const { byId, waitForStatus } = ui(() => page)
const waiting = async () => (await byId('queue-item').allTextContents()).map((t) => t.trim())

describe('the queue', () => {
  test('runs asked for while one samples wait in order; reorder, cancel, each starts when the last ends', async () => {
    // A long run first (cancelled below: a batch of 16 so that it outlasts the screenshots on a fast
    // machine), then short ones.
    await byId('sampler').selectOption('ddpm')
    await byId('steps').fill('1000')
    await byId('batch').fill('16')
    await byId('seed').fill('100')
    await byId('generate').click()
    await waitForStatus('running')
    await expect.poll(() => byId('generate').textContent()).toContain('Queue')

    await byId('batch').fill('1')
    await byId('steps').fill('10')
    await byId('seed').fill('200')
    await byId('batches').fill('3')
    await byId('generate').click()
    // A typed seed: batch k starts at seed + k x batch.
    await expect.poll(waiting).toEqual(['1. DDPM 10 · seed 200', '2. DDPM 10 · seed 201', '3. DDPM 10 · seed 202'])
    await byId('queue-item').nth(2).getByLabel('Earlier').click()
    await expect.poll(waiting).toEqual(['1. DDPM 10 · seed 200', '2. DDPM 10 · seed 202', '3. DDPM 10 · seed 201'])
    await byId('queue-item').nth(2).getByTestId('queue-cancel').click()
    await expect.poll(waiting).toEqual(['1. DDPM 10 · seed 200', '2. DDPM 10 · seed 202'])
    await byId('batches').fill('1')
    await byId('seed').fill('300')
    await byId('generate').click()
    await expect.poll(waiting).toHaveLength(3)

    for (const size of SIZES) {
      await page.setViewportSize(size)
      for (const scheme of ['light', 'dark'] as const) {
        await page.emulateMedia({ colorScheme: scheme })
        await h.screenshot(`queue-01-waiting-${size.width}x${size.height}-${scheme}`)
      }
    }
    await page.emulateMedia({ colorScheme: 'light' })
    await page.setViewportSize({ width: 1280, height: 820 })

    // Cancelling the run that samples starts the next: the queue moves on (its runs of ten steps may all be
    // done before the next look, so how far it got is not asserted here; the history below holds them all).
    await byId('cancel').click()
    await expect.poll(async () => (await waiting()).length, { timeout: 30_000 }).toBeLessThan(3)
    await expect.poll(waiting, { timeout: 120_000 }).toEqual([])
    await waitForStatus('done', 120_000)
    // The history holds them all, newest first: 300, 202, 200, and the cancelled 100.
    if (!(await byId('history').isVisible())) await byId('history-toggle').click()
    await expect.poll(() => byId('history-item').count(), { timeout: 30_000 }).toBe(4)
    const seeds = (await byId('history-item').allTextContents()).map((t) => /seed (\d+)/.exec(t)?.[1])
    expect(seeds).toEqual(['300', '202', '200', '100'])
    expect(await byId('history-item').last().getAttribute('data-state')).toBe('stopped')
    expect(h.pageErrors).toEqual([])
  })
})
