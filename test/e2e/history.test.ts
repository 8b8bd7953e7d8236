/**
 * The history end to end in Chromium against the browser host: every run listed newest first (a grid run
 * one entry), searched and filtered, deleted with undo, and kept across a restart of the host (its
 * settings folder); reopening restores the parameters and every step of the timeline from disk.
 * Screenshots of the panel at 1024x700, 1280x820 and 1920x1080 in light and dark in test-results/e2e/.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { type Harness, startHarness } from './harness'
import { ui } from './ui'

const SIZES = [
  { width: 1024, height: 700 },
  { width: 1280, height: 820 },
  { width: 1920, height: 1080 },
]

const settingsDir = mkdtempSync(join(tmpdir(), 'stepwise-e2e-history-'))
let h: Harness
let page: Page

async function open() {
  h = await startHarness({ viewport: { width: 1280, height: 820 }, settingsDir })
  page = h.page
  await byId('model-card').waitFor({ timeout: 90_000 })
  // At 1280 px the history starts closed.
  if (!(await byId('history').isVisible())) await byId('history-toggle').click()
  await byId('history').waitFor()
}

beforeAll(open, 180_000)
afterAll(async () => {
  await h?.close()
  rmSync(settingsDir, { recursive: true, force: true })
})

const { byId, waitForStatus, dismissToasts, scrubTo, canvases } = ui(() => page)
const items = () => byId('history-item')
const itemTexts = () => items().allTextContents()

async function generate(o: { sampler: string; steps: number; seed: number; classLabel?: string }) {
  await byId('sampler').selectOption(o.sampler)
  await byId('steps').fill(String(o.steps))
  await byId('batch').fill('2')
  await byId('seed').fill(String(o.seed))
  await byId('class-label').selectOption(o.classLabel ?? { label: 'unconditional' })
  await byId('generate').click()
  await waitForStatus('done', 120_000)
}

/** The panel in light and dark at each size. */
async function shootSizes(name: string) {
  for (const size of SIZES) {
    await page.setViewportSize(size)
    if (!(await byId('history').isVisible())) await byId('history-toggle').click()
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      await h.screenshot(`${name}-${size.width}x${size.height}-${scheme}`)
    }
  }
  await page.emulateMedia({ colorScheme: 'light' })
  await page.setViewportSize({ width: 1280, height: 820 })
  if (!(await byId('history').isVisible())) await byId('history-toggle').click()
}

/** The timeline's x_t and predicted x0 of the step shown, as data URLs. */
const views = () => canvases('canvas[data-testid=view-xt], canvas[data-testid=view-x0]')

describe('the history', () => {
  test('lists every run newest first, a grid run as one entry; search and filters find them', async () => {
    await generate({ sampler: 'ddim', steps: 10, seed: 11 })
    await generate({ sampler: 'ddpm', steps: 20, seed: 500, classLabel: '3' })
    await byId('tab-grid').click()
    await byId('grid-seeds').fill('2')
    await byId('grid-run').click()
    await page.waitForFunction(
      () => !document.querySelector<HTMLButtonElement>('[data-testid=grid-export]')?.disabled,
      null,
      {
        timeout: 180_000,
      },
    )
    await expect.poll(() => items().count()).toBe(3)
    // Newest first: the grid (ten classes, one entry), then seed 500, then seed 11.
    expect(await items().first().getAttribute('data-kind')).toBe('grid')
    const texts = await itemTexts()
    expect(texts[0]).toContain('10 classes')
    expect(texts[1]).toMatch(/DDPM 20.*seed 500 ×2.*class 3/)
    expect(texts[2]).toMatch(/DDIM 10.*seed 11 ×2/)
    // The newest entry is in view.
    expect(await items().first().isVisible()).toBe(true)

    // Seed 12 is the second image of the batch of seed 11.
    await byId('history-search').fill('12')
    await expect.poll(() => items().count()).toBe(1)
    expect(await items().first().textContent()).toContain('seed 11')
    await byId('history-search').fill('501')
    await expect.poll(() => items().count()).toBe(2)
    await byId('history-search').fill('ddim')
    await expect.poll(() => items().count()).toBe(1)
    await byId('history-search').fill('')
    await byId('history-filters-toggle').click()
    await byId('history-filter-class').selectOption('3')
    // Seed 500's run, and the grid, which has a row of class 3.
    await expect.poll(() => items().count()).toBe(2)
    await byId('history-filter-sampler').selectOption('ddim')
    await expect.poll(() => items().count()).toBe(0)
    await byId('history-filter-class').selectOption('')
    await expect.poll(() => items().count()).toBe(1)
    await byId('history-filter-sampler').selectOption('')
    await byId('history-filter-date').selectOption('today')
    await expect.poll(() => items().count()).toBe(3)
    await byId('history-filter-date').selectOption('all')
    await byId('history-filters-toggle').click()
    await dismissToasts()
    await shootSizes('history-01-gallery')
  })

  test('delete has undo; a delete left alone is carried out', async () => {
    const oldest = items().last()
    await oldest.getByTestId('history-delete').click()
    await expect.poll(() => items().count()).toBe(2)
    await byId('toast-action').click()
    await expect.poll(() => items().count()).toBe(3)
    await items().last().getByTestId('history-delete').click()
    await expect.poll(() => items().count()).toBe(2)
    // The undo expires with its toast; then the engine deletes the run.
    await expect.poll(() => byId('toast-action').count(), { timeout: 20_000 }).toBe(0)
    await expect.poll(() => items().count()).toBe(2)
  })

  test('a restart of the browser host keeps the history; reopening restores parameters and every step', async () => {
    // The export bar's options are kept too (a moment after they change).
    await byId('tab-results').click()
    await byId('export-scale').selectOption('2')
    await page.waitForTimeout(1500)
    await h.close()
    await open()
    await expect.poll(() => items().count(), { timeout: 30_000 }).toBe(2)
    const texts = await itemTexts()
    expect(texts[0]).toContain('10 classes')
    expect(texts[1]).toMatch(/DDPM 20.*seed 500 ×2.*class 3/)
    // Thumbnails of the runs kept come back from the history folder.
    await expect.poll(() => items().locator('.thumb canvas').count()).toBe(2)
    expect(await byId('export-scale').inputValue()).toBe('2')

    await byId('seed').fill('7')
    await items().nth(1).locator('button.open').click()
    await expect.poll(() => byId('seed').inputValue()).toBe('500')
    expect(await byId('sampler').inputValue()).toBe('ddpm')
    expect(await byId('steps').inputValue()).toBe('20')
    expect(await byId('class-label').inputValue()).toBe('3')
    // Every step's images come back from disk: an early step and a late one differ.
    await scrubTo(2)
    const early = await views()
    expect(early).toHaveLength(2)
    await scrubTo(18)
    expect((await views()).join()).not.toBe(early.join())
    expect(h.pageErrors).toEqual([])
    await h.screenshot('history-02-after-restart')
  })
})
