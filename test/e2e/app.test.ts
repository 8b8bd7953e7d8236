/**
 * The app end to end in Chromium against the browser host: load, generate, scrub the timeline, export,
 * a bad drop, cancel, a diffusers weights file. One page for the whole file, in order, like a user's session. Screenshots of each
 * state land in test-results/e2e/.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

import { decodeGifFrames } from '../../src-main/engine/export/gif'
import { decodePng, pngChunks, readStepwiseParameters } from '../../src-main/engine/export/png'
import { defaultModelPath } from '../../src-main/engine/model/default-model'
import { startHarness } from './harness'
import { ui } from './ui'

type Harness = Awaited<ReturnType<typeof startHarness>>

const SEED = 1234
let h: Harness
let page: Page

beforeAll(async () => {
  h = await startHarness()
  page = h.page
}, 180_000)
afterAll(async () => {
  await h?.close()
})

const { byId, waitForStatus, dismissToasts, exportOne, scrubTo, canvases } = ui(() => page)
const progressText = async () => (await byId('progress').textContent()) ?? ''
const status = () => byId('progress').getAttribute('data-status')

/** Drop a file (its bytes from this process) onto the window, as a synthetic drop event. */
const dropFile = (name: string, bytes: Uint8Array, type: string) =>
  page.evaluate(
    ({ name, bytes, type }) => {
      const data = new DataTransfer()
      data.items.add(new File([new Uint8Array(bytes)], name, { type }))
      document
        .querySelector('[data-testid=drop-zone]')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }))
    },
    { name, bytes: [...bytes], type },
  )

/** Drop several files at once (a weights file with its config.json), as one synthetic drop. */
const dropFiles = (files: { name: string; bytes: Uint8Array; type: string }[]) =>
  page.evaluate(
    (files) => {
      const data = new DataTransfer()
      for (const f of files) data.items.add(new File([new Uint8Array(f.bytes)], f.name, { type: f.type }))
      document
        .querySelector('[data-testid=drop-zone]')!
        .dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }))
    },
    files.map((f) => ({ ...f, bytes: [...f.bytes] })),
  )

let exportedPng = ''

/** The three timeline canvases as data URLs. */
const views = async () =>
  (await Promise.all(['view-xt', 'view-x0', 'view-noise'].map((id) => canvases(`[data-testid=${id}]`)))).map(
    (c) => c[0],
  )

describe('Stepwise in the browser host', () => {
  test('loads the default model: the card shows its name, hash and the provider in use', async () => {
    await byId('model-card').waitFor({ timeout: 60_000 })
    expect(await byId('model-name').textContent()).toContain('Stepwise digits')
    const sha256 = createHash('sha256').update(readFileSync(defaultModelPath())).digest('hex')
    expect((await byId('model-hash').textContent())?.trim()).toBe(sha256.slice(0, 10))
    // Its graph fixes 28x28: no size to ask for.
    expect(await byId('height').count()).toBe(0)
    expect((await byId('model-provider').textContent())?.trim()).toMatch(/^(cpu|cuda|dml|coreml|webgpu)( \(.+\))?$/)
    await h.screenshot('01-loaded')
  })

  test('starts on DPM++ 2M Karras, 20 steps; warns before a configuration diffusers itself ends in NaN', async () => {
    expect(await byId('sampler').inputValue()).toBe('dpmpp-2m')
    expect(await byId('steps').inputValue()).toBe('20')
    expect(await byId('option-sigmas').inputValue()).toBe('karras')
    expect(await byId('sampler-warning').count()).toBe(0)
    await byId('option-final-sigmas').selectOption('sigma_min')
    await byId('option-solver-type').selectOption('heun')
    await byId('sampler-warning').waitFor()
    expect(await byId('sampler-warning').textContent()).toMatch(/sigma_min final sigmas and karras sigmas ends in NaN/)
    // The run bar says so too, wherever the sidebar is scrolled, and brings the warning into view.
    const inView = (e: Element) => {
      const [r, box] = [e, e.closest('.sidebar-scroll')!].map((x) => x.getBoundingClientRect())
      return r.top >= box.top && r.bottom <= box.bottom
    }
    await page.locator('.sidebar-scroll').evaluate((e) => e.scrollTo(0, 0))
    expect(await byId('sampler-warning').evaluate(inView)).toBe(false)
    await byId('run-warning').click()
    await expect.poll(() => byId('sampler-warning').evaluate(inView)).toBe(true)
    await h.screenshot('01-sampler-warning')
    await byId('option-solver-type').selectOption('midpoint')
    await byId('option-final-sigmas').selectOption('zero')
    await byId('sampler-warning').waitFor({ state: 'detached' })
    expect(await byId('run-warning').count()).toBe(0)
  })

  test("UniPC with timesteps of one's own: typed in, they set the steps and the sigmas, and run", async () => {
    await byId('sampler').selectOption('unipc')
    const field = byId('option-timesteps')
    expect(await field.getAttribute('placeholder')).toBe('from the spacing')
    await field.fill('40, 600')
    await field.press('Tab')
    expect(await field.getAttribute('aria-invalid')).toBe('true')
    expect(await byId('option-timesteps-problem').textContent()).toMatch(/descending.*; the run keeps the spacing/)
    await field.fill('999, 600 250,40')
    await field.press('Tab')
    expect(await field.getAttribute('aria-invalid')).toBe('false')
    expect(await byId('option-timesteps-problem').count()).toBe(0)
    expect(await field.inputValue()).toBe('999, 600, 250, 40')
    expect(await byId('steps').inputValue()).toBe('4')
    expect(await byId('steps').isDisabled()).toBe(true)
    expect(await byId('timestep-spacing').isDisabled()).toBe(true)
    expect(await byId('option-sigmas').inputValue()).toBe('spacing')
    await byId('generate').click()
    await waitForStatus('done')
    expect(await progressText()).toContain('4 / 4')
    await h.screenshot('01-own-timesteps')
    await field.fill('')
    await field.press('Tab')
    expect(await byId('steps').isDisabled()).toBe(false)
  })

  test('Fit to this model: the engine fits the timesteps on probe images and fills the field; Stop keeps none early', async () => {
    // DPM++ 2M SDE takes timesteps of its own but adds noise: no ODE solution to fit them to, so no button.
    await byId('sampler').selectOption('dpmpp-2m-sde')
    await byId('option-timesteps').waitFor()
    expect(await byId('fit').count()).toBe(0)
    await byId('sampler').selectOption('unipc')
    await byId('steps').fill('4')
    const field = byId('option-timesteps')
    expect(await field.inputValue()).toBe('')
    // Stopped during its reference run (DPM++ 3M at every timestep) it has nothing to keep (16 images: a long one).
    await byId('fit-probe').fill('16')
    await byId('fit-start').click()
    await byId('fit-progress').waitFor()
    await expect.poll(async () => (await byId('fit-status').textContent()) ?? '').toMatch(/Reference run .*: [1-9]\d*%/)
    await h.screenshot('01-fit-reference')
    await byId('fit-stop').click()
    await byId('fit-outcome').waitFor({ timeout: 60_000 })
    expect(await byId('fit-outcome').textContent()).toMatch(/Stopped before the reference run ended: nothing to keep/)
    expect(await field.inputValue()).toBe('')
    // Run to its end on 2 probe images: the field takes the fitted timesteps, which set the steps.
    await byId('fit-probe').fill('2')
    await byId('fit-start').click()
    await byId('fit-stop').waitFor()
    await byId('fit-start').waitFor({ timeout: 120_000 })
    const outcome = (await byId('fit-outcome').textContent()) ?? ''
    const m = /RMS to the ODE's solution (\d\.\d{4}), from (\d\.\d{4}) \(2 probe images, (\d+) runs/.exec(outcome)
    expect(m, outcome).toBeTruthy()
    expect(Number(m![1])).toBeLessThanOrEqual(Number(m![2]))
    expect(Number(m![3])).toBeGreaterThan(1)
    const fitted = (await field.inputValue()).split(', ').map(Number)
    expect(fitted).toHaveLength(4)
    expect(fitted[0]).toBe(999)
    expect(fitted.every((t, i) => i === 0 || t < fitted[i - 1])).toBe(true)
    expect(fitted).not.toEqual([999, 749, 500, 250]) // the spacing's, where it started
    expect(await byId('steps').inputValue()).toBe('4')
    expect(await byId('fit-start').textContent()).toMatch(/Refine for this model/)
    await h.screenshot('01-fitted')
    await byId('generate').click()
    await waitForStatus('done')
    expect(await progressText()).toContain('4 / 4')
    // Kept for this model, UniPC and 4 steps: cleared from the field, it is offered again.
    await field.fill('')
    await field.press('Tab')
    expect(await byId('steps').inputValue()).toBe('4')
    await byId('fit-kept').waitFor()
    expect((await byId('fit-kept').textContent())?.replace(/\s+/g, ' ')).toMatch(
      /Fitted before \(.+\): RMS \d\.\d{4} from \d\.\d{4} on 2 images/,
    )
    await h.screenshot('01-fit-kept')
    await byId('fit-use').click()
    expect(await field.inputValue()).toBe(fitted.join(', '))
    expect(await byId('fit-kept').count()).toBe(0)
    await field.fill('')
    await field.press('Tab')
  })

  test('generates 4 images with DDIM, 20 steps', async () => {
    await byId('sampler').selectOption('ddim')
    await byId('steps').fill('20')
    await byId('batch').fill('4')
    await byId('seed').fill(String(SEED)) // a typed seed turns the dice off: Generate uses it
    await byId('generate').click()
    await waitForStatus('done')
    expect(await progressText()).toContain('20 / 20')
    await expect.poll(() => byId('result').count()).toBe(4)
    await h.screenshot('02-generated')
  })

  test('scrubbing the timeline changes x_t, predicted x0 and predicted noise', async () => {
    await byId('result').nth(1).click()
    await scrubTo(2)
    const early = await views()
    const earlyInfo = await byId('step-info').textContent()
    await scrubTo(15)
    const late = await views()
    const lateInfo = (await byId('step-info').textContent()) ?? ''
    for (let i = 0; i < 3; i++) expect(late[i], ['x_t', 'x0', 'noise'][i]).not.toBe(early[i])
    expect(lateInfo).not.toBe(earlyInfo)
    expect(lateInfo).toMatch(/step 16 \/ 20/)
    expect(lateInfo).toMatch(/t = \d+/)
    expect(lateInfo).toMatch(/ᾱ_t = [\d.]+/)
    await h.screenshot('03-scrubbed')
  })

  test('exports the selected PNG with its parameters embedded', async () => {
    const path = await exportOne('export-png')
    exportedPng = path
    const parameters = readStepwiseParameters(readFileSync(path), path) as {
      seed: number
      sampler: { steps: number; sampler: string }
    }
    // Image k of a batch has seed + k; image 2 (index 1) is selected.
    expect(parameters.seed).toBe(SEED + 1)
    expect(parameters.sampler.steps).toBe(20)
    expect(parameters.sampler.sampler).toBe('ddim')
  })

  test('exports a GIF of the timeline with the frames asked for', async () => {
    await byId('gif-options').click()
    await byId('gif-of').selectOption('xt')
    await byId('gif-frames').fill('8')
    await byId('gif-delay').fill('50')
    const path = await exportOne('export-gif')
    expect(decodeGifFrames(readFileSync(path))).toHaveLength(8)
    // The same animation as an APNG: 8 frames, exact pixels, the parameters inside.
    const apng = await exportOne('export-apng')
    expect(apng).toMatch(/\.apng\.png$/)
    const bytes = readFileSync(apng)
    expect([...pngChunks(bytes, apng)].filter((c) => c.type === 'fcTL')).toHaveLength(8)
    expect(readStepwiseParameters(bytes, apng)).toMatchObject({ seed: SEED + 1 })
    // The steps sheet: the selected image's x_t, x̂0 and ε̂ at 10 of its 20 steps, cells of 3 x 28 px.
    const stepsSheet = await exportOne('export-steps-sheet')
    expect(stepsSheet).toMatch(new RegExp(`steps-seed-${SEED + 1}\\.png$`))
    const sheet = decodePng(readFileSync(stepsSheet))
    expect(sheet.width).toBeGreaterThan(10 * 84)
    expect(sheet.height).toBeGreaterThan(3 * 84)
    expect(readStepwiseParameters(readFileSync(stepsSheet), stepsSheet)).toMatchObject({ seed: SEED + 1 })
    await h.screenshot('04-exported')
    await byId('gif-options').click()
  })

  test('dropping an exported PNG restores its parameters; a PNG without them says so', async () => {
    await dismissToasts()
    await byId('seed').fill('7')
    await byId('steps').fill('33')
    await byId('sampler').selectOption('ddpm')
    await dropFile('restore-me.png', readFileSync(exportedPng), 'image/png')
    await expect.poll(() => byId('seed').inputValue()).toBe(String(SEED + 1))
    expect(await byId('steps').inputValue()).toBe('20')
    expect(await byId('sampler').inputValue()).toBe('ddim')
    expect(await byId('seed-dice').getAttribute('aria-pressed')).toBe('false') // the seed is kept

    await dismissToasts()
    const foreign = new URL('../../resources/models/loss.png', import.meta.url)
    await dropFile('loss.png', readFileSync(foreign), 'image/png')
    const error = page.locator('[data-testid=toast][data-kind=error]')
    await error.first().waitFor({ timeout: 30_000 })
    expect(await error.first().textContent()).toContain('loss.png')
  })

  test('a dropped file that is not a model: an error toast, and the app keeps working', async () => {
    await dismissToasts()
    await dropFile('notes.txt', new TextEncoder().encode('just some notes'), 'text/plain')
    const error = page.locator('[data-testid=toast][data-kind=error]')
    await error.first().waitFor({ timeout: 30_000 })
    expect(await error.first().textContent()).toContain('notes.txt')
    await h.screenshot('05-bad-drop')
    // The previous model stays and still samples.
    expect(await byId('model-name').textContent()).toContain('Stepwise digits')
    await byId('generate').click()
    await waitForStatus('done')
    expect(await progressText()).toContain('20 / 20')
  })

  test('cancelling a long DDPM run stops it quietly', async () => {
    await dismissToasts()
    await byId('sampler').selectOption('ddpm')
    await byId('steps').fill('1000')
    await byId('generate').click()
    await page.waitForFunction(
      () => {
        const m = /(\d+) \/ 1000/.exec(document.querySelector('[data-testid=progress]')?.textContent ?? '')
        return m !== null && Number(m[1]) >= 5
      },
      null,
      { timeout: 60_000 },
    )
    // A pixel followed while the run samples: its plot grows with the steps.
    await byId('stage-canvas').click()
    const box = (await byId('closer-canvas').boundingBox())!
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)
    const plotted = async () => Number(/, (\d+) steps/.exec((await byId('pixel-plot').textContent()) ?? '')?.[1] ?? 0)
    await expect.poll(plotted).toBeGreaterThan(0)
    const first = await plotted()
    await expect.poll(plotted, { timeout: 30_000 }).toBeGreaterThan(first)
    await page.keyboard.press('Escape')
    await byId('cancel').click()
    await waitForStatus('cancelled')
    const stopped = await progressText()
    await page.waitForTimeout(1000)
    expect(await progressText()).toBe(stopped)
    expect(Number(/(\d+) \/ 1000/.exec(stopped)?.[1])).toBeLessThan(1000)
    expect(stopped).toContain('Cancelled')
    expect(await page.locator('[data-testid=toast][data-kind=error]').count()).toBe(0)
    expect(await status()).toBe('cancelled')
    await h.screenshot('06-cancelled')
  })

  test('a preferred execution provider and the last parameters are kept; the model reloads on the provider (falling back, with the reason)', async () => {
    expect(await byId('provider-preference').inputValue()).toBe('auto')
    const skipped = () => page.locator('[data-testid=model-card] details.skipped li').allTextContents()
    expect((await skipped()).length).toBeGreaterThan(1) // 'auto' tried the platform's whole order
    await byId('provider-preference').selectOption('webgpu')
    // No GPU adapter here: the model reloads trying WebGPU then the CPU only (not the platform's whole
    // order), runs on the CPU, and the card says why WebGPU was skipped.
    await expect.poll(skipped).toEqual([expect.stringMatching(/^webgpu: /)])
    expect(await byId('model-provider').textContent()).toBe('cpu')
    await page.reload()
    await byId('model-card').waitFor()
    await expect.poll(() => byId('provider-preference').inputValue()).toBe('webgpu')
    // The last parameters come back too (the cancelled run's DDPM, 1000 steps).
    await expect.poll(() => byId('sampler').inputValue()).toBe('ddpm')
    expect(await byId('steps').inputValue()).toBe('1000')
    await byId('provider-preference').selectOption('auto')
    await expect.poll(() => byId('provider-preference').inputValue()).toBe('auto')
  })

  test('a diffusers .bin dropped with its config.json: built into a graph, the card shows its source, and it samples', async () => {
    await dismissToasts()
    const unet = join(import.meta.dirname, '..', 'fixtures', 'peers', 'diffusers', 'class-gray28', 'pipeline', 'unet')
    await dropFiles([
      { name: 'config.json', bytes: readFileSync(join(unet, 'config.json')), type: 'application/json' },
      { name: 'diffusion_pytorch_model.bin', bytes: readFileSync(join(unet, 'diffusion_pytorch_model.bin')), type: '' },
    ])
    await expect.poll(() => byId('model-source').textContent(), { timeout: 60_000 }).toContain('diffusers UNet2DModel')
    expect(await byId('model-source').textContent()).toContain('281 k parameters')
    expect(await byId('model-name').textContent()).toContain('diffusion_pytorch_model.bin')
    expect(await byId('model-signature').textContent()).toContain('1 × 28 × 28')
    await byId('sampler').selectOption('ddim')
    await byId('steps').fill('10')
    await byId('generate').click()
    await waitForStatus('done')
    expect(await progressText()).toContain('10 / 10')
    await h.screenshot('08-diffusers-weights')
  })

  test('a lucidrains model-N.pt dropped: its inferred Unet on the card, and it samples as its ddim_sample', async () => {
    await dismissToasts()
    // The smallest of our checkpoints (a self-conditioned Unet): the bytes cross into the page as a JSON array.
    const checkpoint = join(import.meta.dirname, '..', 'fixtures', 'lucidrains', 'self-cond', 'model-3.pt')
    await dropFiles([{ name: 'model-3.pt', bytes: readFileSync(checkpoint), type: '' }])
    await expect.poll(() => byId('model-source').textContent(), { timeout: 60_000 }).toContain('lucidrains')
    expect(await byId('model-source').textContent()).toContain('58 k parameters')
    const facts = await byId('model-facts').textContent()
    expect(facts).toContain('dim_mults=(1, 2)')
    expect(facts).toContain('self_condition=true')
    expect(facts).toContain('weights=ema')
    // Its alphas_cumprod buffer is lucidrains' cosine: the card names it, not "custom".
    expect(await byId('model-card').textContent()).toMatch(
      /cosine, T = 1000 \(its alphas_cumprod\);\s+predicts epsilon/,
    )
    await byId('sampler').selectOption('ddim')
    expect(await byId('timestep-spacing').inputValue()).toBe('lucidrains')
    await byId('steps').fill('10')
    // No sample grid came with it: the size is assumed, and another asked for under Batch, in multiples of
    // what its Unet halves by (2 here: 23 is taken as 24).
    expect(await byId('model-signature').textContent()).toContain('assumed')
    expect(await byId('height').getAttribute('placeholder')).toBe('32')
    expect(await byId('height').getAttribute('step')).toBe('2')
    await byId('height').fill('16')
    await byId('width').fill('23')
    await byId('generate').click()
    await waitForStatus('done')
    expect(await progressText()).toContain('10 / 10')
    const canvas = byId('stage-canvas')
    expect([await canvas.getAttribute('height'), await canvas.getAttribute('width')]).toEqual(['16', '24'])
    expect(await byId('width').inputValue()).toBe('24')
    await h.screenshot('09-lucidrains-checkpoint')
    // It holds the online model's weights too: the card offers them, and the model is named apart.
    expect(await byId('model-weights').inputValue()).toBe('ema')
    await byId('model-weights').selectOption('online')
    await expect.poll(() => byId('model-name').textContent()).toContain('model-3.pt (online weights)')
    expect(await byId('model-weights').inputValue()).toBe('online')
  })

  test("an RGB model: look closer plots a pixel's channels' mean, or the one channel chosen", async () => {
    await dismissToasts()
    // lucidrains' x0-linear checkpoint: a Unet of 3 channels, sampled at 16x16.
    const checkpoint = join(import.meta.dirname, '..', 'fixtures', 'lucidrains', 'x0-linear', 'model-3.pt')
    await dropFiles([{ name: 'model-3.pt', bytes: readFileSync(checkpoint), type: '' }])
    await expect.poll(() => byId('model-facts').textContent(), { timeout: 60_000 }).toContain('dim_mults=(1, 2, 4)')
    expect(await byId('model-signature').textContent()).toMatch(/^3 ×/)
    await byId('height').fill('16')
    await byId('width').fill('16')
    await byId('sampler').selectOption('ddim')
    await byId('steps').fill('10')
    await byId('generate').click()
    await waitForStatus('done')
    await h.screenshot('10-rgb-model')
    await byId('stage-canvas').click()
    const box = (await byId('closer-canvas').boundingBox())!
    await page.mouse.click(box.x + box.width * (5.5 / 16), box.y + box.height * (7.5 / 16))
    await byId('pixel-plot').waitFor()
    expect(await byId('pixel-plot').textContent()).toContain('pixel (5, 7), mean of 3 channels, 10 steps')
    const drawn = () =>
      byId('pixel-plot')
        .locator('canvas')
        .evaluate((c: HTMLCanvasElement) => c.toDataURL())
    const blank = await byId('pixel-plot')
      .locator('canvas')
      .evaluate((c: HTMLCanvasElement) =>
        Object.assign(document.createElement('canvas'), { width: c.width, height: c.height }).toDataURL(),
      )
    await expect.poll(drawn).not.toBe(blank)
    const mean = await drawn()
    await byId('pixel-channel').selectOption({ label: 'G' })
    expect(await byId('pixel-plot').textContent()).toContain('pixel (5, 7), G, 10 steps')
    // The plot drawn anew for the channel, not only its numbers.
    await expect.poll(drawn).not.toBe(mean)
    // Its last x̂0 is the final sample's green at that pixel, as the readout says.
    const rgb = /^\(5, 7\) (-?[\d.]+), (-?[\d.]+), (-?[\d.]+)$/.exec(
      (await byId('pixel-readout').textContent())!.trim(),
    )
    const lastX0 = (await byId('pixel-plot').locator('.now').nth(1).textContent())!.trim()
    expect(Number(/^x̂0 (-?[\d.]+)$/.exec(lastX0)?.[1])).toBeCloseTo(Number(rgb?.[2]), 3)
    await h.screenshot('10-rgb-closer')
    await page.keyboard.press('Escape')
  })
})
