/**
 * The contract's names without its schemas: every request channel, every event, the menu commands and
 * the IPC channel events travel on. The preload imports this (it bundles no zod); contract.ts checks
 * that these lists and its request and event types name the same things.
 */

/** Channels the engine answers (in its worker), whoever carries them. */
export const ENGINE_CHANNELS = [
  'model.load',
  'sample.start',
  'sample.cancel',
  'schedule.get',
  'export.encode',
  'png.read',
  'noise.preview',
  'runs.list',
  'runs.frames',
  'runs.steps',
  'runs.pixel',
  'runs.delete',
  'runs.thumbnails',
  'runs.budget',
  'fit.timesteps',
  'fit.cancel',
] as const
/** Channels the shell (Electron main, browser host) answers itself, using the engine where needed. */
export const SHELL_CHANNELS = ['export.save', 'image.drag', 'model.open', 'settings.get', 'settings.set'] as const
export const CHANNELS = [...ENGINE_CHANNELS, ...SHELL_CHANNELS] as const
export type Channel = (typeof CHANNELS)[number]
export type EngineChannel = (typeof ENGINE_CHANNELS)[number]

/**
 * Requests answered only at their end, to the page that asked, each with the request that stops it: a host
 * stops one whose page goes (closed, reloaded) before its answer, which nobody could then receive.
 */
export const STOPPED_WITH_THEIR_PAGE: Partial<Record<Channel, EngineChannel>> = { 'fit.timesteps': 'fit.cancel' }

export const isChannel = (name: unknown): name is Channel =>
  typeof name === 'string' && (CHANNELS as readonly string[]).includes(name)
export const isEngineChannel = (name: unknown): name is EngineChannel =>
  typeof name === 'string' && (ENGINE_CHANNELS as readonly string[]).includes(name)

export const EVENTS = ['progress', 'frame', 'done', 'failed', 'model', 'command', 'fit'] as const
export type EventName = (typeof EVENTS)[number]

/** Menu commands the renderer carries out (the menu lives in the shell, the state in the renderer). */
export const COMMANDS = [
  'open-model',
  'open-folder',
  'export-png',
  'export-all',
  'export-sheet',
  'export-gif',
  'generate',
  'cancel',
] as const
export type Command = (typeof COMMANDS)[number]

/**
 * The commands' keyboard shortcuts in Electron's accelerator syntax: the native menu shows and fires them,
 * and the renderer fires them itself in the browser host (which has no menu).
 */
export const SHORTCUTS: Partial<Record<Command, string>> = {
  'open-model': 'CmdOrCtrl+O',
  'export-png': 'CmdOrCtrl+S',
  'export-all': 'CmdOrCtrl+Alt+S',
  'export-gif': 'CmdOrCtrl+Shift+S',
  generate: 'CmdOrCtrl+Enter',
  // Not Escape: that belongs to text fields and dialogs.
  cancel: 'CmdOrCtrl+.',
}

/**
 * The one Electron IPC channel events travel on: a message is the events gathered since the last one, in
 * order, as [{ event, payload }, ...] (src-main/service/event-batch.ts).
 */
export const EVENTS_CHANNEL = 'stepwise:events'
