/**
 * The native menu as data: Open Model..., the exports, Generate / Cancel and the usual roles. Items that
 * act on the renderer's state send it a command (the contract's `command` event); the shell builds the
 * Electron menu from this template.
 */
import type { MenuItemConstructorOptions } from 'electron'

import { type Command, SHORTCUTS } from '../../src-preload/contract'

export interface MenuItemSpec {
  label?: string
  /** Electron's own type, so a misspelt role fails to compile instead of making an empty item. */
  role?: MenuItemConstructorOptions['role']
  accelerator?: string
  command?: Command
  type?: 'separator'
  submenu?: MenuItemSpec[]
}

/** `devTools`: offer View > Toggle Developer Tools (development builds only). */
export function menuTemplate(
  platform: NodeJS.Platform,
  appName: string,
  { devTools }: { devTools: boolean } = { devTools: false },
): MenuItemSpec[] {
  const mac = platform === 'darwin'
  const file: MenuItemSpec = {
    label: 'File',
    submenu: [
      { label: 'Open Model...', accelerator: SHORTCUTS['open-model'], command: 'open-model' },
      { label: 'Open Folder...', command: 'open-folder' },
      { type: 'separator' },
      { label: 'Export PNG...', accelerator: SHORTCUTS['export-png'], command: 'export-png' },
      { label: 'Export All PNGs...', accelerator: SHORTCUTS['export-all'], command: 'export-all' },
      { label: 'Export Contact Sheet...', command: 'export-sheet' },
      { label: 'Export GIF...', accelerator: SHORTCUTS['export-gif'], command: 'export-gif' },
      ...(mac ? [] : ([{ type: 'separator' }, { role: 'quit', accelerator: 'CmdOrCtrl+Q' }] satisfies MenuItemSpec[])),
    ],
  }
  const run: MenuItemSpec = {
    label: 'Run',
    submenu: [
      { label: 'Generate', accelerator: SHORTCUTS['generate'], command: 'generate' },
      { label: 'Cancel', accelerator: SHORTCUTS['cancel'], command: 'cancel' },
    ],
  }
  const macApp: MenuItemSpec = {
    label: appName,
    submenu: [
      { role: 'about' },
      { type: 'separator' },
      { role: 'hide' },
      { role: 'hideOthers' },
      { role: 'unhide' },
      { type: 'separator' },
      { role: 'quit' },
    ],
  }
  return [
    ...(mac ? [macApp] : []),
    file,
    {
      label: 'Edit',
      submenu: [
        { role: 'undo' },
        { role: 'redo' },
        { type: 'separator' },
        { role: 'cut' },
        { role: 'copy' },
        { role: 'paste' },
        { role: 'selectAll' },
      ],
    },
    run,
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(devTools ? ([{ role: 'toggleDevTools' }] satisfies MenuItemSpec[]) : []),
        { type: 'separator' },
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    { label: 'Window', submenu: [{ role: 'minimize' }, { role: 'close' }] },
  ]
}

/** Electron's menu options for a template: a command item's click hands its command on. */
export function menuOptions(
  items: MenuItemSpec[],
  onCommand: (command: Command) => void,
): MenuItemConstructorOptions[] {
  return items.map(({ command, submenu, ...rest }) => ({
    ...rest,
    ...(submenu ? { submenu: menuOptions(submenu, onCommand) } : {}),
    ...(command ? { click: () => onCommand(command) } : {}),
  }))
}
