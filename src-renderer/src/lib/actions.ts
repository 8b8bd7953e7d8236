/**
 * What the user does, across the state modules: start up, generate, drop files, carry out menu commands.
 * Components call these; the modules themselves stay unaware of each other where they can.
 */
import type { Command } from '../../../src-preload/contract'
import { api } from './api'
import { imageTooLarge, isPng, readDrop, readPicked } from './drop'
import { exporter } from './export.svelte'
import { history } from './history.svelte'
import { model } from './model.svelte'
import { noise } from './noise.svelte'
import { parameters } from './parameters.svelte'
import { run } from './run.svelte'
import { timeline } from './timeline.svelte'
import { toasts } from './toasts.svelte'
import { view } from './view.svelte'

/** Persisting the controls waits for this, so the defaults never overwrite what the last session left. */
let restored = false
export const isRestored = () => restored

model.onLoad((card) => parameters.adoptCard(card))
model.onLoad((card) => noise.adoptCard(card))

/** First start: the last session's controls, the default model under them. */
export async function startUp(): Promise<void> {
  const settings = await api.invoke('settings.get', {})
  // A settings file with bad values was repaired (or set aside) at start: said here, once.
  if (settings.ok && settings.value.problem) toasts.error(settings.value.problem)
  await model.load()
  if (settings.ok) parameters.restore(settings.value.parameters, model.card)
  else toasts.error(settings.error)
  restored = true
}

export async function generate(): Promise<void> {
  const card = model.card
  if (!card || run.running || model.loading) return
  const req = parameters.request(card)
  timeline.reset(req.batch)
  view.tab = 'results'
  await run.start(req)
}

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

/** Denoise an image (float32 [C, H, W] in [-1, 1]) from timestep t with the sidebar's settings (SDEdit). */
export async function denoiseFrom(image: ArrayBuffer, timestep: number): Promise<void> {
  const card = model.card
  if (!card || run.running || model.loading) return
  const req = parameters.request(card)
  // A copy: the request may be transferred, and the caller keeps the image for the next try.
  req.fromImage = { image: image.slice(0), timestep }
  timeline.reset(req.batch)
  view.tab = 'results'
  await run.start(req)
}

/** Show a run of the history in the results and the timeline (its frames fetched from the engine). */
export async function reopen(runId: string): Promise<void> {
  view.tab = 'results'
  if (runId === run.runId || run.running) return
  const frames = await history.frames(runId)
  if (!frames) return
  timeline.reset(frames.shape.batch)
  run.open(frames)
  if (frames.samples && !history.thumbnails[runId]) history.keepThumbnail(runId, frames.samples, frames.shape)
}

export async function deleteRun(runId: string): Promise<void> {
  if (await history.remove(runId)) {
    if (runId === run.runId) run.clear()
  }
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
  if (model.card && p.model !== model.card.name)
    toasts.info(`${file.name} was made with ${p.model}; its parameters are applied to ${model.card.name}`)
  parameters.applyPng(p, model.card)
  toasts.info(`Parameters restored from ${file.name} (seed ${p.seed}, locked)`)
}

/** Menu commands; opening a model needs the page's file input in the browser host (passed in). */
export function runCommand(name: Command, openInBrowser: () => void): void {
  switch (name) {
    case 'open-model':
      return api.host === 'electron' ? void model.open() : openInBrowser()
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
