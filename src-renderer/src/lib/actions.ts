/**
 * What the user does, across the state modules: start up, generate, drop files, carry out menu commands.
 * Components call these; the modules themselves stay unaware of each other where they can.
 */
import type { Command } from '../../../src-preload/contract'
import { api } from './api'
import { isPng, readDrop, readPicked } from './drop'
import { exporter } from './export.svelte'
import { model } from './model.svelte'
import { parameters } from './parameters.svelte'
import { run } from './run.svelte'
import { timeline } from './timeline.svelte'
import { toasts } from './toasts.svelte'

/** Persisting the controls waits for this, so the defaults never overwrite what the last session left. */
let restored = false
export const isRestored = () => restored

model.onLoad((card) => parameters.adoptCard(card))

/** First start: the last session's controls, the default model under them. */
export async function startUp(): Promise<void> {
  const settings = await api.invoke('settings.get', {})
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
  await run.start(req)
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
  const bytes = await file.arrayBuffer()
  const r = await api.invoke('png.read', { name: file.name, bytes })
  if (!r.ok) {
    toasts.error(r.error)
    return
  }
  const p = r.value
  if (model.card && p.model !== model.card.name) toasts.info(`${file.name} was made with ${p.model}; its parameters are applied to ${model.card.name}`)
  parameters.applyPng(p, model.card)
  toasts.info(`Parameters restored from ${file.name} (seed ${p.seed}, locked)`)
}

/** Menu commands; opening a model needs the page's file input in the browser host (passed in). */
export function runCommand(name: Command, openInBrowser: () => void): void {
  switch (name) {
    case 'open-model': return api.host === 'electron' ? void model.open() : openInBrowser()
    case 'generate': return void generate()
    case 'cancel': return void run.cancel()
    case 'export-png': return void exporter.save('png')
    case 'export-all': return void exporter.save('all')
    case 'export-sheet': return void exporter.save('sheet')
    case 'export-gif': return void exporter.save('gif')
  }
}
