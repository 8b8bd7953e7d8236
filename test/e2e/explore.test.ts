/**
 * The exploring tools end to end in Chromium against the browser host: per-step diagnostics, a fork from
 * a step, the history (reopen, delete), compare with one scrubber and its exports, the forward noising
 * preview with "Denoise from here", and the class x seed grid. One page, in order, at 1280x800; each
 * state is screenshotted (light, and dark for the tabs) into test-results/e2e/.
 */
import { readFileSync } from 'node:fs'

import { decode, encode } from 'fast-png'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { decodeGifFrames } from '../../src-main/engine/export/gif'
import { type Harness, startHarness } from './harness'
import { ui } from './ui'

const SEED = 4321
const STEPS = 20
const FORK_STEP = 8
let h: Harness
let page: Page

beforeAll(async () => {
  h = await startHarness({ viewport: { width: 1280, height: 800 } })
  page = h.page
}, 180_000)
afterAll(async () => {
  await h?.close()
})

const { byId, waitForStatus, exportOne, scrubTo, canvases: drawn } = ui(() => page)
const waitEnabled = (id: string, timeout = 90_000) =>
  page.waitForFunction(
    (id) => {
      const el = document.querySelector<HTMLButtonElement>(`[data-testid=${id}]`)
      return !!el && !el.disabled
    },
    id,
    { timeout },
  )

/** Data URLs of every canvas with this test id, in page order. */
const canvases = (id: string) => drawn(`canvas[data-testid=${id}]`)
/** The timeline's x_t and predicted x0 as data URLs. */
const views = async () => [...(await canvases('view-xt')), ...(await canvases('view-x0'))]
const selectedResult = async () => (await drawn('button.result.selected canvas'))[0]

/** Screenshots of the page in light, and then in dark. */
async function shoot(name: string, dark = false) {
  await h.screenshot(name)
  if (!dark) return
  await page.emulateMedia({ colorScheme: 'dark' })
  await h.screenshot(`${name}-dark`)
  await page.emulateMedia({ colorScheme: 'light' })
}

/** `measure` in the window as it is and at 1600x1000 (then the window as it was): what fits grows with it. */
async function atTwoSizes<T>(measure: () => Promise<T>): Promise<{ small: T; large: T; at: string }> {
  const viewport = page.viewportSize()!
  const small = await measure()
  await page.setViewportSize({ width: 1600, height: 1000 })
  const large = await measure()
  await page.setViewportSize(viewport)
  return { small, large, at: `${viewport.width}x${viewport.height}` }
}

/** A 28x28 gray PNG: a bright ring on black, like the digits the default model draws. */
function ringPng(): Uint8Array {
  const size = 28
  const data = new Uint8Array(size * size)
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = Math.hypot(x - 13.5, y - 13.5)
      data[y * size + x] = r > 6 && r < 10 ? 255 : 0
    }
  }
  return encode({ width: size, height: size, data, channels: 1, depth: 8 })
}

let parentId = ''
let forkId = ''
let parentFinal = ''
const parentFrames: string[][] = []

describe('Exploring a model in the browser host', () => {
  test('a DDIM run shows per-step diagnostics that follow the scrubber', async () => {
    await byId('model-card').waitFor({ timeout: 60_000 })
    await page.emulateMedia({ colorScheme: 'light' })
    // At 1280 px the history starts closed (it takes room from the image).
    await byId('history-toggle').click()
    await byId('sampler').selectOption('ddim')
    await byId('steps').fill(String(STEPS))
    await byId('batch').fill('2')
    await byId('seed').fill(String(SEED))
    await byId('generate').click()
    await waitForStatus('done')
    await expect.poll(() => byId('diagnostics').getAttribute('data-steps')).toBe(String(STEPS))
    // Each plot has drawn every step (its canvas says how many points it holds).
    for (const id of ['diag-clipped', 'diag-noise', 'diag-xt', 'diag-x0'])
      await expect.poll(() => byId(`${id}-plot`).getAttribute('data-drawn'), { message: id }).toBe(String(STEPS))
    const at = async () => ({
      x: await byId('diag-noise-marker').getAttribute('data-step'),
      text: await byId('diagnostics').textContent(),
    })
    await byId('scrubber').fill('3')
    const early = await at()
    await byId('scrubber').fill('16')
    const late = await at()
    expect(Number(late.x)).toBeGreaterThan(Number(early.x))
    expect(late.text).not.toBe(early.text)
    // A healthy run raises no warning (the x0 background a little past -1 is not out of range).
    expect(await byId('diagnostics-warning').count()).toBe(0)
    await shoot('explore-01-diagnostics', true)
  })

  test(`a fork from step ${FORK_STEP + 1} with DDPM shares the parent's first ${FORK_STEP} frames and ends elsewhere`, async () => {
    parentId = (await byId('history-item').first().getAttribute('data-run-id'))!
    for (let i = 0; i < FORK_STEP; i++) {
      await scrubTo(i)
      parentFrames.push(await views())
    }
    await byId('scrubber').fill(String(STEPS - 1))
    parentFinal = await selectedResult()
    await byId('scrubber').fill(String(FORK_STEP))
    expect(await byId('fork').textContent()).toContain(`Fork from step ${FORK_STEP + 1}`)
    await byId('sampler').selectOption('ddpm')
    await byId('fork').click()
    await waitForStatus('done')
    await expect.poll(() => byId('history-item').count()).toBe(2)
    forkId = (await byId('history-item').first().getAttribute('data-run-id'))!
    expect(forkId).not.toBe(parentId)
    expect(await byId('history-item').first().textContent()).toContain(`fork of #1 from step ${FORK_STEP + 1}`)
    for (let i = 0; i < FORK_STEP; i++) {
      await scrubTo(i)
      expect(await views(), `step ${i + 1}`).toEqual(parentFrames[i])
    }
    expect(await selectedResult()).not.toBe(parentFinal)
    await shoot('explore-02-fork')
  })

  test('the history reopens the parent, exports from it, and deletes a run', async () => {
    await byId('history-memory').waitFor()
    expect(await byId('history-memory').textContent()).toMatch(/MB|KB/)
    await page.locator(`[data-testid=history-item][data-run-id="${parentId}"] button.open`).click()
    await expect.poll(() => selectedResult()).toBe(parentFinal)
    expect(await byId('step-info').textContent()).toContain(`/ ${STEPS}`)
    await scrubTo(2)
    expect(await views()).toEqual(parentFrames[2])
    await shoot('explore-03-history-reopened')
    const png = decode(readFileSync(await exportOne('export-png')))
    expect([png.width, png.height]).toEqual([28, 28])

    await page.locator(`[data-testid=history-item][data-run-id="${forkId}"] [data-testid=history-delete]`).click()
    await expect.poll(() => byId('history-item').count()).toBe(1)
  })

  test('compare: two variants from one seed side by side, one scrubber moving both, exported as PNG and GIF', async () => {
    await byId('sampler').selectOption('ddim')
    await byId('compare-open').click()
    await expect.poll(() => byId('compare-variant').count()).toBe(2)
    await byId('compare-sampler').nth(0).selectOption('ddim')
    await byId('compare-sampler').nth(1).selectOption('ddpm')
    for (const k of [0, 1]) await byId('compare-steps').nth(k).fill(String(STEPS))
    await byId('compare-run').click()
    await waitEnabled('compare-export-png')
    await expect.poll(() => byId('compare-cell').count()).toBe(2)
    const end = await canvases('compare-cell')
    expect(end[0]).not.toBe(end[1])
    await byId('compare-scrubber').fill('250')
    const quarter = await canvases('compare-cell')
    expect(quarter[0]).not.toBe(end[0])
    expect(quarter[1]).not.toBe(end[1])
    // The images fit the room below the variants, and grow with the window; nothing scrolls.
    const cells = async () => {
      const sizes = await byId('compare-cell').evaluateAll((c) => c.map((e) => e.getBoundingClientRect().width))
      const panel = await page.locator('.compare-panel').evaluate((e) => e.scrollHeight - e.clientHeight)
      return { size: sizes[0], overflow: panel }
    }
    const { small, large, at } = await atTwoSizes(cells)
    console.log(`compare images ${small.size.toFixed(0)} px at ${at}, ${large.size.toFixed(0)} at 1600x1000`)
    expect(small.size).toBeGreaterThan(300)
    expect(large.size).toBeGreaterThan(small.size + 50)
    expect([small.overflow, large.overflow]).toEqual([0, 0])
    await shoot('explore-04-compare', true)

    const sheet = decode(readFileSync(await exportOne('compare-export-png')))
    expect(sheet.width).toBeGreaterThanOrEqual(2 * 96)
    expect(sheet.width).toBeGreaterThan(sheet.height)
    // Frames aligned by fraction: every step of the longer run plus its final sample.
    expect(decodeGifFrames(readFileSync(await exportOne('compare-export-gif')))).toHaveLength(STEPS + 1)
    // The comparison is one entry of the history, beside the parent run.
    expect(await byId('history-item').count()).toBe(2)
    expect(await byId('history-item').first().getAttribute('data-kind')).toBe('compare')
  })

  test('noise: an uploaded image noised under four schedules, a slider over t, and "Denoise from here"', async () => {
    await byId('tab-noise').click()
    await byId('noise-file').setInputFiles({ name: 'ring.png', mimeType: 'image/png', buffer: Buffer.from(ringPng()) })
    await expect.poll(() => byId('noise-cell').count()).toBe(4)
    expect(await byId('noise-stats').first().textContent()).toMatch(/ᾱ [\d.]+ · SNR [\d.e+-]+/)
    await byId('noise-t').fill('3')
    const low = { cells: await canvases('noise-cell'), stats: await byId('noise-stats').allTextContents() }
    await byId('noise-t').fill('60')
    const high = { cells: await canvases('noise-cell'), stats: await byId('noise-stats').allTextContents() }
    for (let i = 0; i < 4; i++) {
      expect(high.cells[i], `cell ${i}`).not.toBe(low.cells[i])
      expect(high.stats[i], `stats ${i}`).not.toBe(low.stats[i])
    }
    // One shared noise: the four schedules differ in how much of it they mix in.
    expect(new Set(high.cells).size).toBe(4)
    await byId('noise-t').fill('30')
    await shoot('explore-05-noise', true)

    await byId('noise-denoise').click()
    await waitForStatus('done')
    expect(await byId('timeline').textContent()).toContain('from an image at t = 300')
    await expect.poll(() => byId('result').count()).toBe(2)
    await shoot('explore-06-denoised')
  })

  test('grid: one batch a class, rows of class names by columns of seeds, exported as one PNG', async () => {
    await byId('steps').fill('10')
    await byId('tab-grid').click()
    await byId('grid-seeds').fill('3')
    await byId('grid-run').click()
    await waitEnabled('grid-export', 120_000)
    const view = byId('grid-view')
    expect(await view.getAttribute('data-rows')).toBe('10')
    expect(await view.getAttribute('data-columns')).toBe('3')
    expect(await byId('grid-cell').count()).toBe(30)
    expect(await view.locator('tbody th').allTextContents()).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    expect(await view.locator('thead th').allTextContents()).toEqual(['', '+0', '+1', '+2'])
    expect(await byId('grid-caption').textContent()).toMatch(/columns: seed \d+ \+ k/)
    // The cells fit the panel: ten rows fill its height without scrolling (three columns leave width over),
    // and grow with the window.
    const fit = () =>
      view.evaluate((table) => {
        const scroll = table.parentElement!
        const cell = table.querySelector('canvas')!.getBoundingClientRect()
        return {
          cell: cell.height,
          table: table.getBoundingClientRect().height,
          box: scroll.clientHeight,
          over: scroll.scrollHeight,
        }
      })
    const { small, large, at } = await atTwoSizes(fit)
    console.log(`grid cells ${small.cell.toFixed(0)} px at ${at}, ${large.cell.toFixed(0)} at 1600x1000`)
    for (const f of [small, large]) {
      expect(f.over).toBeLessThanOrEqual(f.box)
      expect(f.table).toBeGreaterThan(0.9 * f.box)
    }
    expect(large.cell).toBeGreaterThan(small.cell + 10)
    await shoot('explore-07-grid', true)
    const sheet = decode(readFileSync(await exportOne('grid-export')))
    expect(sheet.height).toBeGreaterThan(sheet.width)
    expect(h.pageErrors).toEqual([])
  })

  test("a run pushed out of range (guidance 15, the slider's top) is flagged from the step where it started", async () => {
    await byId('tab-results').click()
    await byId('class-label').selectOption({ label: '3' })
    await byId('guidance').fill('15')
    await byId('generate').click()
    await waitForStatus('done')
    await expect.poll(() => byId('diagnostics-warning').textContent()).toMatch(/predicted x0 out of range .* from step/)
    // Not the first steps, where every x0 estimate is wild (alpha-bar below 0.05): where it went wrong.
    const step = Number(/from step (\d+)/.exec((await byId('diagnostics-warning').textContent()) ?? '')?.[1])
    console.log(`guidance 15, DDIM 10: flagged from step ${step}`)
    expect(step).toBeGreaterThan(1)
    await shoot('explore-08-warning')
    // The same run with its guidance rescaled: the history says so, as the run's PNG line does.
    await byId('guidance-rescale').fill('0.7')
    await byId('generate').click()
    await waitForStatus('done')
    await expect.poll(() => byId('history-item').first().textContent()).toContain('g 15 φ 0.7')
    await byId('guidance-rescale').fill('0')
  })

  test("DPM++ 2M Karras from the sampler table: each sampler's own controls, its name in the history", async () => {
    await byId('guidance').fill('3')
    await byId('sampler').selectOption('dpmpp-2m')
    expect(await byId('eta').count()).toBe(0) // DDIM's option, not DPM-Solver's
    await byId('option-sigmas').selectOption('karras')
    expect(await byId('option-solver-type').inputValue()).toBe('midpoint')
    await byId('steps').fill('10')
    await byId('generate').click()
    await waitForStatus('done')
    await expect.poll(() => byId('history-item').first().textContent()).toContain('DPM++ 2M Karras 10')
    await byId('sampler').selectOption('heun')
    expect(await byId('option-sigmas').inputValue()).toBe('karras') // kept where the sampler reads it
    expect(await byId('option-solver-type').count()).toBe(0)
    await shoot('explore-09-dpmpp-2m-karras')
  })
})
