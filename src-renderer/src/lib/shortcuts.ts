/**
 * The keyboard: the menu commands' shortcuts (src-preload/channels.ts SHORTCUTS, which the native menu
 * fires in Electron and the page fires itself in the browser host) and the page's own keys, listed once
 * for the shortcuts sheet (`?`).
 */
import { type Command, SHORTCUTS } from '../../../src-preload/contract'

const mac = typeof navigator !== 'undefined' && /Mac/i.test(navigator.platform)
/** How the modifier key reads on this platform. */
export const MOD = mac ? '⌘' : 'Ctrl'

/** "CmdOrCtrl+Shift+S" -> "Ctrl+Shift+S" (or "⌘+Shift+S"). */
export const keysOf = (accelerator: string) => accelerator.replace('CmdOrCtrl', MOD)

/** Does this key event match an Electron accelerator such as "CmdOrCtrl+Alt+S"? */
export function matches(event: KeyboardEvent, accelerator: string): boolean {
  const parts = accelerator.split('+')
  const key = parts.pop()!
  const wants = new Set(parts)
  const mod = mac ? event.metaKey : event.ctrlKey
  if (wants.has('CmdOrCtrl') !== mod || wants.has('Shift') !== event.shiftKey || wants.has('Alt') !== event.altKey)
    return false
  // event.code, not event.key: Alt and Shift change the character (Alt+S is "ß" on a Mac).
  if (key === 'Enter') return event.key === 'Enter'
  if (key === '.') return event.code === 'Period' || event.key === '.'
  return event.code === `Key${key.toUpperCase()}`
}

/** The command a key event asks for, if any. */
export function commandOf(event: KeyboardEvent): Command | undefined {
  return (Object.entries(SHORTCUTS) as [Command, string][]).find(([, acc]) => matches(event, acc))?.[0]
}

/** Every shortcut as the sheet lists it. */
export const SHEET: { keys: string; what: string }[] = [
  { keys: keysOf(SHORTCUTS.generate!), what: 'Generate' },
  { keys: keysOf(SHORTCUTS.cancel!), what: 'Cancel the run' },
  { keys: keysOf(SHORTCUTS['open-model']!), what: 'Open a model' },
  { keys: keysOf(SHORTCUTS['export-png']!), what: 'Export the selected image as PNG' },
  { keys: keysOf(SHORTCUTS['export-gif']!), what: "Export the selected image's denoising as GIF" },
  { keys: keysOf(SHORTCUTS['export-all']!), what: 'Export every image of the batch as PNG' },
  { keys: 'Space', what: 'Look closer: open the selected image large' },
  { keys: '← →', what: 'Previous / next image (results, the large view); steps in the film strip' },
  { keys: '+ − 0', what: 'Large view: zoom in, out, fit' },
  { keys: ', . Home End', what: 'Large view: previous / next, first / last step (K plays)' },
  { keys: 'Click', what: 'Large view: plot the pixel over the steps (x_t, x̂0, ε̂)' },
  { keys: 'Home End', what: 'Film strip: first / last step' },
  { keys: 'K', what: 'Play / pause the timeline' },
  { keys: 'Esc', what: 'Close the large view, a menu or this sheet' },
  { keys: '?', what: 'This sheet' },
]
