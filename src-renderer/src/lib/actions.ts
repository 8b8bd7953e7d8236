/**
 * What the user does, across the state modules: start up, generate, drop files, carry out menu commands.
 * Components call these; the modules themselves stay unaware of each other where they can.
 */
import type { Command, NoisePreview } from '../../../src-preload/contract'
import { MAX_BATCHES } from '../../../src-shared/limits'
import { imageOwnLabel, imageParameters, imageSeedLabel } from '../../../src-shared/parameters'
import { api } from './api'
import { compare } from './compare.svelte'
import { imageTooLarge, isPng, readDrop, readPicked } from './drop'
import { exporter } from './export.svelte'
import { fit } from './fit.svelte'
import { type Entry, kindOf } from './gallery'
import { grid } from './grid.svelte'
import { history } from './history.svelte'
import { model } from './model.svelte'
import { noise } from './noise.svelte'
import { COMPARE_OPTIONS, DEFAULT_VARIATION_STRENGTH, parameters } from './parameters.svelte'
import { queue } from './queue.svelte'
import { run } from './run.svelte'
import { commandOf } from './shortcuts'
import { timeline } from './timeline.svelte'
import { toasts } from './toasts.svelte'
import { view } from './view.svelte'

/** Persisting the controls waits for this, so the defaults never overwrite what the last session left. */
let restored = false
export const isRestored = () => restored

model.onLoad((card, again) => again || parameters.adoptCard(card))
model.onLoad((card, again) => again || noise.adoptCard(card))

/** First start: the last session's controls, the default model under them. */
export async function startUp(): Promise<void> {
  const settings = await api.invoke('settings.get', {})
  // A settings file with bad values was repaired (or set aside) at start: said here, once.
  if (settings.ok && settings.value.problem) toasts.error(settings.value.problem)
  await model.load()
  if (settings.ok) {
    parameters.restore(settings.value.parameters, model.card)
    queue.notify = settings.value.notifyLongRuns
    fit.kept = settings.value.fits
    exporter.restore(settings.value.export)
  } else toasts.error(settings.error)
  restored = true
}

/**
 * Generate `batches` batches with the sidebar's settings: now, or after the runs waiting (queue.svelte.ts).
 * With the dice on each draws its seed; with a seed typed in, batch k starts at seed + k x batch. With a
 * variation the images differ by their variation seeds: a typed one goes on the same way, the seed stays.
 */
export async function generate(batches = 1): Promise<void> {
  const card = model.card
  if (!card || model.loading) return
  const count = Math.max(1, Math.min(MAX_BATCHES, Math.round(Number.isFinite(batches) ? batches : 1)))
  const requests = Array.from({ length: count }, () => parameters.request(card))
  const [first] = requests
  requests.forEach((req, k) => {
    if (req.variation && first.variation) {
      if (parameters.variationSeedLocked) req.variation.seed = first.variation.seed + k * req.batch
    } else if (parameters.seedLocked) req.seed = first.seed + k * req.batch
  })
  await queue.submit(requests)
}

// The queue starts its runs as Generate did: following the new run from its first step, in the results.
queue.useStarter(async (req) => {
  timeline.reset(req.batch)
  view.tab = 'results'
  return run.start(req)
})

/** Can the run shown be forked at the step shown? (It needs its frames in the engine: any run that has some.) */
export const canFork = () => !!model.card && !!run.runId && !run.running && timeline.shown >= 0

/**
 * Continue the run shown from the step shown (the x_t entering it) with the sidebar's sampler settings.
 * Seed, batch, size and class are the parent's; guidance is the sidebar's when the parent was conditional.
 */
export async function forkHere(): Promise<void> {
  const card = model.card
  const parent = run.parameters
  if (!card || !parent || !run.runId || !canFork()) return
  const step = timeline.shown
  const req = parameters.request(card, { redraw: false })
  const guided =
    card.classes?.nullClassId != null &&
    parent.classLabel !== undefined &&
    parent.classLabel !== card.classes.nullClassId
  const image = timeline.image
  req.seed = parent.seed
  req.batch = run.shape?.batch ?? req.batch
  delete req.classLabel
  if (guided) req.guidance = parameters.guidance
  else delete req.guidance
  req.fork = { runId: run.runId, step }
  timeline.reset(req.batch)
  timeline.select(image)
  await run.start(req)
}

/**
 * Denoise an image (float32 [C, H, W] in [-1, 1]) from timestep t with the sidebar's settings (SDEdit),
 * from the seed in the seed field (the noise the preview showed), not a new one.
 */
export async function denoiseFrom(
  { image, height, width }: Pick<NoisePreview, 'image' | 'height' | 'width'>,
  timestep: number,
): Promise<void> {
  const card = model.card
  if (!card || run.running || model.loading) return
  // At the image's size, the model's own (the noise preview's), whatever Size asks of a new run.
  const req = { ...parameters.request(card, { redraw: false }), height, width }
  // The noise the preview showed is the seed's own, without a variation.
  delete req.variation
  // A copy: the request may be transferred, and the caller keeps the image for the next try.
  req.fromImage = { image: image.slice(0), timestep }
  timeline.reset(req.batch)
  view.tab = 'results'
  await run.start(req)
}

/**
 * Show a run of the history in the results and the timeline (its steps fetched from the engine, their
 * images as they are shown), its parameters in the sidebar (seed kept: Generate makes it again).
 */
export async function reopen(runId: string): Promise<void> {
  view.tab = 'results'
  if (run.running) return
  if (runId !== run.runId) {
    const frames = await history.frames(runId)
    if (!frames) return
    timeline.reset(frames.shape.batch)
    run.open(frames)
    if (frames.samples && !history.thumbnails[runId]) history.keepThumbnail(runId, frames.samples, frames.shape)
  }
  if (run.parameters && run.shape) parameters.applyPng({ ...run.parameters, batch: run.shape.batch }, model.card)
}

/** Reopen an entry of the gallery: a grid or a comparison in its own tab, a run in the results. */
export async function reopenEntry(e: Entry): Promise<void> {
  if (e.kind === 'grid') {
    view.tab = 'grid'
    await grid.reopen(e.runs, model.card)
  } else if (e.kind === 'compare') {
    view.tab = 'compare'
    await compare.reopen(e.runs)
  } else await reopen(e.first.runId)
}

/** Delete an entry of the gallery (with undo); the run shown goes from the view once it is deleted. */
export function deleteEntry(e: Pick<Entry, 'kind' | 'runs'>): void {
  history.remove(e, (gone) => {
    if (run.runId && gone.includes(run.runId)) run.clear()
  })
}

/** Delete one run (the one shown, or a tile's), with undo. */
export function deleteRun(runId: string): void {
  const summary = history.runs.find((r) => r.runId === runId)
  if (summary) deleteEntry({ kind: kindOf(summary), runs: [summary] })
}

/** A drop anywhere: Stepwise PNGs restore their parameters; anything else is offered to the engine as a model. */
export async function acceptDrop(data: DataTransfer): Promise<void> {
  const dropped = await readDrop(data)
  const pngs = dropped.top.filter(isPng)
  for (const png of pngs) await restoreFromPng(png)
  if (pngs.length < dropped.top.length) {
    const top = dropped.top.filter((f) => !isPng(f))
    const files = dropped.files.filter((f) => !(f.relativePath === '' && isPng(f.file)))
    await model.loadFiles(top, files)
  }
}

/** Files picked in the browser host's file inputs. */
export async function acceptPicked(list: FileList | null): Promise<void> {
  if (!list || list.length === 0) return
  const { top, files } = readPicked(list)
  await model.loadFiles(top, files)
}

export async function restoreFromPng(file: File): Promise<void> {
  const tooLarge = imageTooLarge(file)
  if (tooLarge) return toasts.error(tooLarge)
  const bytes = await file.arrayBuffer()
  const r = await api.invoke('png.read', { name: file.name, bytes })
  if (!r.ok) {
    toasts.error(r.error)
    return
  }
  const p = r.value
  // The model's name is what every PNG records (the planner's, in the app and the CLI alike); its hash,
  // where both have one, tells other weights under the same name (another checkpoint of a training).
  const card = model.card
  if (card && p.model !== card.name)
    toasts.info(`${file.name} was made with ${p.model}; its parameters are applied to ${card.name}`)
  else if (card?.hash && p.modelHash && p.modelHash !== card.hash)
    toasts.info(
      `${file.name} was made with other weights of ${p.model} (model hash ${p.modelHash}, loaded ${card.hash}); ` +
        'its parameters are applied to the loaded ones',
    )
  parameters.applyPng(p, model.card)
  toasts.info(`Parameters restored from ${file.name} (seed ${p.seed}, locked)`)
}

// ---- one image of the run shown: the tiles' menu and the stage's buttons ----------------------------

/** Image `index` of the run shown as a run of its own: its seed (and variation seed), its parameters. */
const imageOf = (index: number) =>
  run.parameters && run.shape ? imageParameters(run.parameters, index, run.shape.batch) : null

/** What tells image `index` of the run shown apart: "43", "42 var 8" (seed 42, variation seed 8), "42 to 8 at 0.5". */
export const seedOf = (index: number) =>
  run.parameters && run.shape ? imageSeedLabel(run.parameters, index, run.shape.batch) : null

/** A tile's caption: what sets image `index` apart within its batch (its seed, variation seed or place on a walk). */
export const tileSeedOf = (index: number) =>
  run.parameters && run.shape ? imageOwnLabel(run.parameters, index, run.shape.batch) : null

/** Put image `index`'s seed (and variation) in the fields, locked: Generate makes it again, with the sidebar's settings. */
export function reuseSeed(index: number): void {
  const image = imageOf(index)
  if (!image) return
  parameters.useNoiseOf(image)
  const what = image.variation ? `Seed ${image.seed} and variation seed ${image.variation.seed}` : `Seed ${image.seed}`
  toasts.info(`${what} in the seed fields (the dice is off)`)
}

/** Can image `index` of the run shown have variations? Not a variation itself: its noise mixes two seeds. */
export const canVary = () => !!model.card && !!run.parameters && !run.parameters.variation && !!run.samples

/**
 * Variations of image `index`: its parameters in the sidebar, its seed locked, a variation (the strength set,
 * or DEFAULT_VARIATION_STRENGTH) with a new variation seed at each Generate; and Generate.
 */
export async function variationsOf(index: number): Promise<void> {
  const image = imageOf(index)
  if (!image || !canVary() || !model.card) return
  const strength = parameters.variationStrength || DEFAULT_VARIATION_STRENGTH
  parameters.applyPng(image, model.card)
  parameters.variationStrength = strength
  parameters.variationSeedLocked = false
  parameters.variationWalk = false
  await generate()
}

/** Fork the run shown from the step shown, with image `index` selected. */
export async function forkImage(index: number): Promise<void> {
  timeline.select(index)
  await forkHere()
}

/**
 * Compare samplers on image `index`: its seed and class in the sidebar, the run's own settings as the
 * first variant, and the Compare tab open to run them.
 */
export function compareWith(index: number): void {
  const p = run.parameters
  const image = imageOf(index)
  if (!p || !image) return
  parameters.useNoiseOf(image)
  const nullId = model.card?.classes?.nullClassId ?? null
  parameters.classLabel = p.classLabel === undefined || p.classLabel === nullId ? null : p.classLabel
  if (p.guidance !== undefined) parameters.guidance = p.guidance
  // The row's own options as the run had them (its sigma schedule), eta where its sampler reads one.
  const set = COMPARE_OPTIONS.filter((o) => p.sampler[o] !== undefined)
  const options = Object.fromEntries(set.map((o) => [o, p.sampler[o]]))
  compare.adoptFirst({
    sampler: p.sampler.sampler,
    steps: p.sampler.steps,
    eta: p.sampler.eta ?? 0,
    schedule: p.schedule.schedule,
    guidance: p.guidance ?? parameters.guidance,
    ...(Object.keys(options).length > 0 && { options }),
  })
  view.tab = 'compare'
}

/** Look closer: image `index` large. */
export function openCloser(index = timeline.image): void {
  if (!run.shape) return
  timeline.select(index)
  view.openCloser()
}

/** Keys of the whole window: the menu's shortcuts in the browser host, the page's own keys everywhere. */
export function handleKey(event: KeyboardEvent, openInBrowser: (folder: boolean) => void): void {
  // The native menu fires its shortcuts in Electron; the browser host has none, so the page does.
  const command = api.host === 'browser' ? commandOf(event) : undefined
  if (command) {
    event.preventDefault()
    runCommand(command, openInBrowser)
    return
  }
  const target = event.target as HTMLElement | null
  const typing = !!target?.closest('input, select, textarea, [contenteditable]')
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return
  if (event.key === '?') {
    event.preventDefault()
    view.shortcutsOpen = !view.shortcutsOpen
  } else if (event.key === 'Escape') {
    if (view.menu) view.menu = null
    else if (view.shortcutsOpen) view.shortcutsOpen = false
  } else if (view.closer || view.shortcutsOpen || view.tab !== 'results' || target?.closest('[role=dialog]')) {
    // The large view and the sheet handle their own keys.
  } else if (event.key === ' ' && !target?.closest('button, a, [role=listbox]')) {
    event.preventDefault()
    openCloser()
  } else if (event.key === 'k' || event.key === 'K') {
    timeline.toggle()
  }
}

/** Menu commands; opening a model needs the page's file or folder input in the browser host (passed in). */
export function runCommand(name: Command, openInBrowser: (folder: boolean) => void): void {
  switch (name) {
    case 'open-model':
    case 'open-folder':
      return api.host === 'electron' ? void model.open(name === 'open-folder') : openInBrowser(name === 'open-folder')
    case 'generate':
      return void generate()
    case 'cancel':
      return void run.cancel()
    case 'export-png':
      return void exporter.save('png')
    case 'export-all':
      return void exporter.save('all')
    case 'export-sheet':
      return void exporter.save('sheet')
    case 'export-gif':
      return void exporter.save('gif')
  }
}
