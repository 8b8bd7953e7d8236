/**
 * The workspace end to end in Chromium against the browser host (issue 13): a layout that gives the image
 * the room, seeds that behave, looking closer, per-image actions, playback, scaled exports, the keyboard,
 * tooltips on every diffusion term, and the smaller faults. One page, in order; screenshots at 1024x700,
 * 1280x820 and 1920x1080 in light and dark land in test-results/e2e/.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { decode } from 'fast-png'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'

import { main } from '../../src-main/cli'
import { decodeGifFrames } from '../../src-main/engine/export/gif'
import { readPngText, readStepwiseParameters } from '../../src-main/engine/export/png'
import { defaultModelPath } from '../../src-main/engine/model/default-model'
import { type Harness, startHarness } from './harness'
import { ui } from './ui'

const STEPS = 10
const SIZES = [
  [1024, 700],
  [1280, 820],
  [1920, 1080],
] as const
let h: Harness
let page: Page

beforeAll(async () => {
  h = await startHarness({ viewport: { width: 1280, height: 820 } })
  page = h.page
  await h.page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(h.host.url).origin })
}, 180_000)
afterAll(async () => {
  await h?.close()
})

const { byId, waitForStatus, dismissToasts, exportOne } = ui(() => page)
const toastTexts = (kind: 'info' | 'error') =>
  page.locator(`[data-testid=toast][data-kind=${kind}] .message`).allTextContents()
const tileSeeds = () => byId('result').evaluateAll((tiles) => tiles.map((t) => Number(t.getAttribute('data-seed'))))
/** Keys go to the window, not to the field last typed in. */
const unfocus = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
const generate = async () => {
  await byId('generate').click()
  await waitForStatus('done')
}

/** The page in light and dark at each size. */
async function shootSizes(name: string) {
  for (const [width, height] of SIZES) {
    await page.setViewportSize({ width, height })
    for (const scheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: scheme })
      await h.screenshot(`${name}-${width}x${height}-${scheme}`)
    }
  }
  await page.emulateMedia({ colorScheme: 'light' })
  await page.setViewportSize({ width: 1280, height: 820 })
}

/** What overflows sideways: the page, any element scrolled sideways other than the film strip, the run bar. */
const sideways = () =>
  page.evaluate(() => {
    const out: string[] = []
    if (document.documentElement.scrollWidth > document.documentElement.clientWidth) out.push('page')
    for (const el of document.querySelectorAll<HTMLElement>('*')) {
      const style = getComputedStyle(el)
      const scrolls = style.overflowX === 'auto' || style.overflowX === 'scroll'
      if (scrolls && el.scrollWidth > el.clientWidth + 1 && el.dataset.testid !== 'filmstrip')
        out.push(`${el.tagName.toLowerCase()}.${el.className}`)
    }
    // The run bar's buttons within its width (a button out past it is cut by the sidebar's edge).
    const bar = document.querySelector('.run-bar')!.getBoundingClientRect()
    for (const b of document.querySelectorAll('.run-bar button'))
      if (b.getBoundingClientRect().right > bar.right + 1) out.push(`run bar: ${b.textContent!.trim()}`)
    return out
  })

describe('the workspace', () => {
  test('first start teaches what Generate will show', async () => {
    await byId('model-card').waitFor({ timeout: 60_000 })
    const empty = await byId('stage-empty').textContent()
    expect(empty).toMatch(/Generate draws 4 images from pure noise with Stepwise digits/)
    expect(empty).toMatch(/each tile with its seed/)
    await shootSizes('ws-01-first-start')
  })

  test('the seed field is the seed the run uses; the dice draws one and shows it; -1 is random', async () => {
    await byId('steps').fill(String(STEPS))
    await byId('batch').fill('16')
    await byId('seed').fill('42')
    expect(await byId('seed-dice').getAttribute('aria-pressed')).toBe('false')
    await generate()
    expect(await tileSeeds()).toEqual(Array.from({ length: 16 }, (_, k) => 42 + k))
    expect(await byId('tile-seed').first().textContent()).toBe('42')
    expect(await byId('stage-seed').textContent()).toBe('42')
    await generate()
    expect((await tileSeeds())[0]).toBe(42) // kept

    await byId('seed-dice').click()
    await generate()
    const drawn = Number(await byId('seed').inputValue())
    expect(drawn).not.toBe(42)
    expect((await tileSeeds())[0]).toBe(drawn)

    await byId('seed').fill('-1')
    await generate()
    expect(await byId('seed').inputValue()).toBe('-1')
    const random = (await tileSeeds())[0]
    expect(random).toBeGreaterThanOrEqual(0)
    await generate()
    expect((await tileSeeds())[0]).not.toBe(random)
    await byId('seed').fill('42')
    await generate()
  })

  test('the image is the largest thing: 384 px and more at 1280x820, a batch of 16 without scrolling', async () => {
    const measure = () =>
      page.evaluate(() => {
        const stage = document.querySelector('[data-testid=stage-canvas]')!.getBoundingClientRect()
        const tiles = document.querySelector<HTMLElement>('[data-testid=results]')!.parentElement!
        const canvases = [...document.querySelectorAll('canvas')].map((c) => c.getBoundingClientRect().width)
        return {
          stage: stage.width,
          largest: Math.max(...canvases),
          tilesScroll: tiles.scrollHeight - tiles.clientHeight,
        }
      })
    await page.setViewportSize({ width: 1280, height: 820 })
    const m = await measure()
    console.log(`1280x820: image ${m.stage.toFixed(0)} px, 16 tiles overflow ${m.tilesScroll} px`)
    expect(m.stage).toBeGreaterThanOrEqual(384)
    expect(m.stage).toBe(m.largest)
    expect(m.tilesScroll).toBe(0)
    for (const [width, height] of [[960, 640], ...SIZES, [2560, 1440]] as const) {
      await page.setViewportSize({ width, height })
      expect(await sideways(), `${width}x${height}`).toEqual([])
      const at = await measure()
      console.log(`${width}x${height}: image ${at.stage.toFixed(0)} px`)
      expect(at.stage, `${width}x${height}`).toBe(at.largest)
    }
    // The smallest window the app opens (window.ts) with the history open too: the results give up columns
    // and the small images go under the large one, which stays the largest.
    await page.setViewportSize({ width: 960, height: 640 })
    await byId('history-toggle').click()
    await byId('history').waitFor()
    const crowded = await measure()
    console.log(`960x640, history open: image ${crowded.stage.toFixed(0)} px`)
    expect(crowded.stage).toBe(crowded.largest)
    expect(crowded.stage).toBeGreaterThanOrEqual(160)
    await byId('history-toggle').click()
    await page.setViewportSize({ width: 1280, height: 820 })
    // The panels collapse: the image grows.
    await byId('sidebar-close').click()
    expect((await measure()).stage).toBeGreaterThan(m.stage)
    await byId('sidebar-open').click()
    await byId('result').nth(5).click()
    await shootSizes('ws-02-batch-of-16')
  })

  test('look closer: Space opens it, zoom to 16x with the pixel grid, arrows between images, Escape closes', async () => {
    // A click on a diagnostics plot goes to the step under it (the fourth of ten here), as the scrubber would.
    const diag = (await byId('diag-xt-plot').boundingBox())!
    await page.mouse.click(diag.x + diag.width * (3 / (STEPS - 1)), diag.y + diag.height / 2)
    expect(await byId('scrubber').inputValue()).toBe('3')
    await byId('scrubber').fill(String(STEPS - 1))
    await unfocus()
    await page.keyboard.press(' ')
    await byId('closer').waitFor()
    expect(await byId('closer').getAttribute('data-zoom')).toBe('1')
    const seedShown = () => byId('closer').locator('h2').textContent()
    expect(await seedShown()).toContain('seed 47')
    await page.keyboard.press('ArrowRight')
    expect(await seedShown()).toContain('seed 48')
    await page.keyboard.press('ArrowLeft')
    for (let i = 0; i < 5; i++) await page.keyboard.press('+')
    expect(await byId('closer').getAttribute('data-zoom')).toBe('16')
    expect(await byId('closer').getAttribute('data-grid')).toBe('true')
    await page.keyboard.press('0')
    // The pointer's pixel read out as the model made it: the top-left corner of a digit is background, -1.
    const box = (await byId('closer-canvas').boundingBox())!
    await page.mouse.move(box.x + box.width / 56, box.y + box.height / 56)
    const corner = /^\(0, 0\) (-?[\d.]+)$/.exec((await byId('pixel-readout').textContent())!.trim())
    expect(Number(corner?.[1])).toBeLessThan(-0.9)
    await page.mouse.move(box.x + box.width * (13.5 / 28), box.y + box.height * (20.5 / 28))
    expect((await byId('pixel-readout').textContent())!.trim()).toMatch(/^\(13, 20\) -?\d\.\d{3}$/)
    // A click follows that pixel over the steps: the engine reads it at each, the plot marks the step shown.
    await page.mouse.click(box.x + box.width * (13.5 / 28), box.y + box.height * (20.5 / 28))
    await byId('pixel-plot').waitFor()
    expect(await byId('pixel-plot').textContent()).toContain(`pixel (13, 20), ${STEPS} steps`)
    expect(await byId('pixel-plot-marker').getAttribute('data-step')).toBe(String(STEPS - 1))
    // Its last x̂0 is the final sample's value at that pixel, as the readout said.
    const readout = Number(/ (-?[\d.]+)$/.exec((await byId('pixel-readout').textContent())!.trim())![1])
    const last = await byId('pixel-plot').locator('.now').nth(1).textContent()
    expect(Number(/^x̂0 (-?[\d.]+)$/.exec(last!.trim())?.[1])).toBeCloseTo(readout, 3)
    await h.screenshot('ws-03-look-closer')
    // Its values copied as text, a line a step, the last x̂0 the readout's.
    await byId('pixel-probe-copy').click()
    const copied = (await page.evaluate(() => navigator.clipboard.readText())).trimEnd().split('\n')
    expect(copied).toHaveLength(STEPS + 1)
    expect(Number(copied[STEPS].split('\t')[4])).toBeCloseTo(readout, 3)
    // , and . move between steps in the large view: the image, its title and the plot's marker follow.
    await page.keyboard.press(',')
    await page.keyboard.press(',')
    expect(await byId('pixel-plot-marker').getAttribute('data-step')).toBe(String(STEPS - 3))
    expect(await byId('closer').locator('h2').textContent()).toContain(`x̂0 at step ${STEPS - 2}`)
    await page.keyboard.press('.')
    expect(await byId('pixel-plot-marker').getAttribute('data-step')).toBe(String(STEPS - 2))
    await page.keyboard.press('Home')
    expect(await byId('pixel-plot-marker').getAttribute('data-step')).toBe('0')
    await page.keyboard.press('End')
    expect(await byId('pixel-plot-marker').getAttribute('data-step')).toBe(String(STEPS - 1))
    // A click on the plot goes to the step under it: at the left end, the first.
    const plot = (await byId('pixel-plot-plot').boundingBox())!
    await page.mouse.click(plot.x + 2, plot.y + plot.height / 2)
    expect(await byId('pixel-plot-marker').getAttribute('data-step')).toBe('0')
    await page.keyboard.press('End')
    expect(await byId('closer').locator('h2').textContent()).toContain('final sample')
    await byId('pixel-probe-close').click()
    expect(await byId('pixel-probe').count()).toBe(0)
    await page.mouse.move(1, box.y + box.height / 2)
    expect((await byId('pixel-readout').textContent())!.trim()).toBe('')
    await page.emulateMedia({ colorScheme: 'dark' })
    await h.screenshot('ws-03-look-closer-dark')
    await page.emulateMedia({ colorScheme: 'light' })
    await page.keyboard.press('Escape')
    expect(await byId('closer').count()).toBe(0)
  })

  test('copy puts a PNG on the clipboard; download gives the PNG with its parameters', async () => {
    await dismissToasts()
    await byId('export-scale').selectOption('4')
    await byId('copy-image').click()
    // A 4x PNG encoded and written to the clipboard: past expect.poll's default second on a busy machine.
    await expect
      .poll(() => toastTexts('info'), { timeout: 15_000 })
      .toEqual([expect.stringContaining('Copied image 6 (seed 47)')])
    const copied = await page.evaluate(async () => {
      const [item] = await navigator.clipboard.read()
      return [...new Uint8Array(await (await item.getType('image/png')).arrayBuffer())]
    })
    const png = decode(new Uint8Array(copied))
    expect([png.width, png.height]).toEqual([112, 112])

    const [download] = await Promise.all([page.waitForEvent('download'), byId('download-image').click()])
    expect(download.suggestedFilename()).toBe('seed-47.png')
    const bytes = readFileSync((await download.path())!)
    expect(readStepwiseParameters(bytes, 'seed-47.png')).toMatchObject({ seed: 47, sampler: { steps: STEPS } })
    expect(decode(bytes).width).toBe(112)
    await byId('export-scale').selectOption({ label: 'auto' })
  })

  test("per-image actions: a tile's menu reuses its seed and compares samplers on it", async () => {
    await dismissToasts()
    await byId('result').nth(3).click({ button: 'right' })
    await byId('image-menu').waitFor()
    await h.screenshot('ws-04-image-menu')
    expect(await byId('image-menu').locator('[role=menuitem]').allTextContents()).toEqual([
      ' Look closer',
      ' Reuse this seed',
      ' Variations of this image',
      ' Export PNG',
      ' Export steps sheet',
      ' Copy image',
      ' Fork from the step shown',
      ' Compare samplers on it',
      ' Delete this run',
    ])
    await byId('menu-reuse-seed').click()
    expect(await byId('seed').inputValue()).toBe('45')

    // A tile's steps sheet: that image's, named by its seed.
    await byId('result').nth(1).click({ button: 'right' })
    await byId('menu-steps-sheet').click()
    await expect
      .poll(() => page.locator('[data-testid=toast][data-kind=info]').first().textContent(), { timeout: 60_000 })
      .toMatch(/steps-seed-43\.png/)
    await dismissToasts()

    await byId('result').nth(2).click({ button: 'right' })
    await byId('menu-compare').click()
    await expect.poll(() => byId('compare-variant').count()).toBe(2)
    expect(await byId('compare-steps').first().inputValue()).toBe(String(STEPS))
    expect(await byId('compare-next').textContent()).toContain('next: seed 44')
    await byId('compare-steps').nth(1).fill(String(STEPS))
    await byId('compare-run').click()
    await expect.poll(() => byId('compare-caption').textContent(), { timeout: 60_000 }).toContain('Seed 44')
    // The caption stays with the runs shown when the seed field moves on.
    await byId('seed').fill('7')
    expect(await byId('compare-caption').textContent()).toContain('Seed 44')
    expect(await byId('compare-next').textContent()).toContain('next: seed 7')
    await byId('tab-results').click()
    await byId('seed').fill('42')
  })

  test("variations of an image: its seed kept, a tile a variation seed, and no variations of a variation's image", async () => {
    await dismissToasts()
    await byId('result').nth(1).click({ button: 'right' })
    await byId('menu-variations').click()
    await waitForStatus('done')
    expect(await byId('variation-strength').inputValue()).toBe('0.2')
    expect(await byId('variation-seed-dice').getAttribute('aria-pressed')).toBe('true') // a new one each Generate
    expect(await byId('seed').inputValue()).toBe('43')
    const variationSeed = Number(await byId('variation-seed').inputValue())
    const labels = await byId('tile-seed').allTextContents()
    expect(labels.length).toBeGreaterThan(1)
    labels.forEach((label, k) => expect(label).toBe(`var ${variationSeed + k}`))
    await byId('result').nth(0).click()
    expect(await byId('stage-seed').textContent()).toBe(`43 var ${variationSeed}`)
    await h.screenshot('ws-04b-variations')
    await byId('result').nth(0).click({ button: 'right' })
    expect(await byId('menu-variations').isDisabled()).toBe(true)
    await page.keyboard.press('Escape')

    // A walk: from seed 43's image to the variation seed's, exported as a looping GIF of the images.
    await byId('variation-strength').fill('1')
    await byId('variation-walk').check()
    await byId('variation-seed').fill('44')
    await byId('generate').click()
    await waitForStatus('done')
    const walk = await byId('tile-seed').allTextContents()
    expect(walk[0]).toBe('at 0')
    expect(walk.at(-1)).toBe('at 1')
    const gif = await exportOne('export-walk-gif')
    expect(gif).toMatch(/walk-seed-43-to-44\.gif$/)
    expect(decodeGifFrames(readFileSync(gif))).toHaveLength(2 * walk.length - 2)
    await byId('variation-walk').uncheck()
    await byId('variation-strength').fill('0')
    await expect.poll(() => byId('variation-seed').count()).toBe(0) // its seed folds away with the variation off
  })

  test('every diffusion term on screen has a tooltip with its meaning', async () => {
    const titles = await page
      .locator('[data-testid=term]')
      .evaluateAll((terms) => terms.map((t) => [t.getAttribute('data-term'), t.getAttribute('title')]))
    const byTerm = Object.fromEntries(titles)
    for (const term of ['xt', 'x0', 'eps', 'alphaBar', 'guidance', 'guidanceRescale', 'apg', 'variation', 't'])
      expect(byTerm[term], term).toMatch(/^.+: .{20,}/)
    await page.locator('[data-testid=schedule-plot]').count() // the plot folds in the sidebar
    expect(Object.keys(byTerm)).toEqual(expect.arrayContaining(['snr']))
    // The sidebar's options too, each sampler's own: DPM++ 2M's sigmas, DDIM's eta.
    await byId('sampler').selectOption('dpmpp-2m')
    expect(await page.locator('label[for=option-sigmas]').getAttribute('title')).toMatch(/Karras/)
    await byId('sampler').selectOption('ddim')
    expect(await page.locator('label[for=eta]').getAttribute('title')).toMatch(/deterministic/)
  })

  test('playback: speed and loop; the film strip follows the scrubber and is one tab stop with arrow keys', async () => {
    await byId('steps').fill('50')
    await byId('batch').fill('4')
    await generate()
    await page.setViewportSize({ width: 1024, height: 700 })
    const strip = byId('filmstrip')
    const scrolled = () => strip.evaluate((s) => s.scrollLeft)
    await byId('scrubber').fill('0')
    expect(await scrolled()).toBe(0)
    await byId('scrubber').fill('49')
    await expect.poll(scrolled).toBeGreaterThan(0)
    expect(await strip.locator('[tabindex="0"], button, input').count()).toBe(0) // the strip is the one stop
    await strip.focus()
    await page.keyboard.press('Home')
    expect(await byId('scrubber').inputValue()).toBe('0')
    await page.keyboard.press('ArrowRight')
    expect(Number(await byId('scrubber').inputValue())).toBeGreaterThan(0)
    await page.keyboard.press('End')
    expect(await byId('scrubber').inputValue()).toBe('49')

    await byId('play-speed').selectOption('4')
    await byId('play-mode-loop').click()
    await byId('play').click()
    const positions: number[] = []
    for (let i = 0; i < 30; i++) {
      positions.push(Number(await byId('scrubber').inputValue()))
      await page.waitForTimeout(60)
    }
    await byId('play').click()
    // At 4x a run plays in about 1 s: in 1.8 s it went round at least once.
    expect(positions.some((p, i) => i > 0 && p < positions[i - 1])).toBe(true)
    await page.setViewportSize({ width: 1280, height: 820 })
  })

  test('exports at a scale: the PNG 8x, the sheet captioned; a cancelled run exports the GIF of its steps', async () => {
    await byId('export-scale').selectOption('8')
    const png = decode(readFileSync(await exportOne('export-png')))
    expect([png.width, png.height]).toEqual([224, 224])
    const sheet = decode(readFileSync(await exportOne('export-sheet')))
    // 2 x 2 cells of 224 px, with a title line and a caption line over each row.
    expect(sheet.width).toBeGreaterThanOrEqual(448)
    expect(sheet.height).toBeGreaterThan(sheet.width)
    // Back to auto, the first start's scale: PNGs at the model's size, GIFs enlarged (below).
    await byId('export-scale').selectOption({ label: 'auto' })
    expect([decode(readFileSync(await exportOne('export-png'))).width]).toEqual([28])

    await byId('sampler').selectOption('ddpm')
    await byId('steps').fill('1000')
    await byId('generate').click()
    await page.waitForFunction(
      () => Number(/(\d+) \/ 1000/.exec(document.querySelector('[data-testid=progress]')?.textContent ?? '')?.[1]) >= 5,
      null,
      { timeout: 60_000 },
    )
    await byId('cancel').click()
    await waitForStatus('cancelled')
    expect(await byId('export-png').isDisabled()).toBe(true)
    await byId('gif-options').click()
    const made = Number((await byId('scrubber').getAttribute('max')) ?? 0) + 1
    const gif = decodeGifFrames(readFileSync(await exportOne('export-gif')))
    expect(gif.length).toBe(Math.min(40, made))
    // A 28 px digit's GIF, at no scale chosen, is one that can be seen: at least 256 px.
    expect(gif[0].width).toBeGreaterThanOrEqual(256)
    await byId('gif-options').click()
    await byId('sampler').selectOption('ddim')
    await byId('steps').fill(String(STEPS))
  })

  test("the keyboard: the menu's shortcuts in the browser host, the sheet on ?", async () => {
    await generate()
    const saved = async (keys: string) => {
      await dismissToasts()
      await unfocus()
      await page.keyboard.press(keys)
      await page.locator('[data-testid=toast][data-kind=info]').first().waitFor({ timeout: 30_000 })
      return (await toastTexts('info'))[0]
    }
    expect(await saved('Control+s')).toMatch(new RegExp(`Saved ${h.outDir}/seed-\\d+( \\(\\d+\\))?\\.png$`))
    expect(await saved('Control+Shift+S')).toMatch(/Saved .*denoising-x0-seed-\d+.*\.gif$/)
    expect(await saved('Control+Alt+s')).toMatch(/Saved 4 files/)
    await page.keyboard.press('Control+Enter')
    await waitForStatus('done')
    // Ctrl+O opens the page's file picker: its input is clicked (the chooser itself is the browser's).
    await page.evaluate(() => {
      const input = document.querySelector<HTMLInputElement>('input[type=file]:not([webkitdirectory])')!
      input.addEventListener('click', (e) => (e.preventDefault(), (document.body.dataset.picked = 'yes')), {
        once: true,
      })
    })
    await page.keyboard.press('Control+o')
    await page.waitForFunction(() => document.body.dataset.picked === 'yes', undefined, { timeout: 10_000 })
    await page.keyboard.press('?')
    await byId('shortcuts').waitFor()
    expect(await byId('shortcuts').textContent()).toContain('Export the selected image as PNG')
    await h.screenshot('ws-05-shortcuts')
    await page.keyboard.press('Escape')
    expect(await byId('shortcuts').count()).toBe(0)
  })

  test('smaller faults: a text file says what Stepwise opens; a CLI PNG restores as the same model', async () => {
    await dismissToasts()
    await page.evaluate(() => {
      const data = new DataTransfer()
      data.items.add(new File(['just some notes'], 'notes.txt', { type: 'text/plain' }))
      document
        .querySelector('[data-testid=drop-zone]')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }))
    })
    await expect.poll(() => toastTexts('error')).toHaveLength(1)
    const [error] = await toastTexts('error')
    expect(error).toMatch(/^notes\.txt: not a model\. Stepwise opens an \.onnx model/)
    expect(error).not.toMatch(/\/tmp|uploads|protobuf|index out of range/)

    const out = mkdtempSync(join(tmpdir(), 'stepwise-ws-cli-'))
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      expect(await main(['sample', '--steps', '3', '--seed', '5', '--class', '10', '--out', out])).toBe(0)
    } finally {
      vi.restoreAllMocks()
    }
    const cliPng = readFileSync(join(out, 'seed-5.png'))
    expect(readPngText(cliPng, 'seed-5.png').parameters).not.toMatch(/class/) // unconditional: no "class: 10"
    await dismissToasts()
    await page.evaluate(
      (bytes) => {
        const data = new DataTransfer()
        data.items.add(new File([new Uint8Array(bytes)], 'seed-5.png', { type: 'image/png' }))
        document.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }))
      },
      [...cliPng],
    )
    await expect.poll(() => byId('seed').inputValue()).toBe('5')
    expect(await toastTexts('info')).toEqual([expect.stringContaining('Parameters restored from seed-5.png')])
    expect(await byId('class-label').locator('option:checked').textContent()).toBe('unconditional')
    // The fork button's glyph is an icon, not a character the font may lack.
    expect(await byId('fork').locator('svg[data-icon=git-fork]').count()).toBe(1)
  })

  test('a cosine model: its card shows no beta range; models dropped into the page are recent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'stepwise-ws-cosine-'))
    writeFileSync(join(dir, 'cosine-digits.json'), JSON.stringify({ beta_schedule: 'squaredcos_cap_v2' }))
    await page.locator('input[type=file]:not([webkitdirectory])').setInputFiles([
      { name: 'cosine-digits.onnx', mimeType: 'application/octet-stream', buffer: readFileSync(defaultModelPath()) },
      {
        name: 'cosine-digits.json',
        mimeType: 'application/json',
        buffer: readFileSync(join(dir, 'cosine-digits.json')),
      },
    ])
    await expect.poll(() => byId('model-card').textContent(), { timeout: 60_000 }).toContain('cosine, T = 1000;')
    expect(await byId('model-card').textContent()).not.toContain('β')
    await byId('recent-models').locator('summary').click()
    expect(await byId('recent-model').allTextContents()).toEqual([expect.stringContaining('cosine-digits.onnx')])
    expect(await byId('recent-model').first().getAttribute('title')).not.toMatch(/\/tmp/)
    await h.screenshot('ws-06-cosine-model')
    expect(h.pageErrors).toEqual([])
  })

  test('a button clicked keeps no focus: Space after Generate looks closer, and the field typed in counts', async () => {
    await byId('model-card').waitFor({ timeout: 60_000 })
    await byId('steps').fill('7') // typed: the focus is in the field when Generate is clicked
    await byId('generate').click()
    await expect.poll(() => byId('step-info').textContent()).toContain('/ 7')
    await waitForStatus('done')
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('BODY')
    const runs = await byId('history-item').count()
    await page.keyboard.press(' ')
    await byId('closer').waitFor()
    await page.keyboard.press('Escape')
    // Space pressed nothing else: no second run.
    await page.waitForTimeout(500)
    expect(await byId('progress').getAttribute('data-status')).toBe('done')
    expect(await byId('history-item').count()).toBe(runs)
    expect(h.pageErrors).toEqual([])
  })
})
