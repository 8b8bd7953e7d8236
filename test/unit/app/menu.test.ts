/**
 * The native menu as data. menu.ts calls no Electron API (index.ts hands its options to
 * Menu.buildFromTemplate), so a mocked electron would add nothing here.
 */
import { describe, expect, it } from 'vitest'

import { type MenuItemSpec, menuOptions, menuTemplate } from '../../../src-main/app/menu'
import { COMMANDS } from '../../../src-preload/contract'

describe('the native menu', () => {
  const items = (spec: MenuItemSpec[]): MenuItemSpec[] => spec.flatMap((i) => [i, ...items(i.submenu ?? [])])
  it('offers every renderer command once, with distinct shortcuts, on each platform', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const all = items(menuTemplate(platform, 'Stepwise'))
      expect(
        all
          .filter((i) => i.command)
          .map((i) => i.command)
          .sort(),
      ).toEqual([...COMMANDS].sort())
      const accelerators = all.map((i) => i.accelerator).filter(Boolean)
      expect(new Set(accelerators).size).toBe(accelerators.length)
      expect(accelerators).not.toContain('Escape') // text fields and dialogs need it
      expect(all.find((i) => i.command === 'open-model')).toMatchObject({
        label: 'Open Model...',
        accelerator: 'CmdOrCtrl+O',
      })
      expect(all.find((i) => i.command === 'open-folder')?.label).toBe('Open Folder...')
      expect(all.find((i) => i.command === 'export-png')?.accelerator).toBe('CmdOrCtrl+S')
      expect(all.find((i) => i.command === 'generate')?.accelerator).toBe('CmdOrCtrl+Enter')
      expect(all.filter((i) => i.role === 'quit')).toHaveLength(1)
    }
    expect(menuTemplate('darwin', 'Stepwise')[0].label).toBe('Stepwise')
    expect(menuTemplate('linux', 'Stepwise')[0].label).toBe('File')
  })
  it('offers Toggle Developer Tools in development builds only', () => {
    for (const platform of ['darwin', 'win32', 'linux'] as const) {
      const roles = (devTools?: boolean) =>
        items(menuTemplate(platform, 'Stepwise', devTools === undefined ? undefined : { devTools })).map((i) => i.role)
      expect(roles(true)).toContain('toggleDevTools')
      expect(roles(false)).not.toContain('toggleDevTools')
      expect(roles()).not.toContain('toggleDevTools')
      expect(roles(false)).toContain('reload')
    }
  })
  it("hands a command item's click to the renderer as its command", () => {
    const sent: string[] = []
    const options = menuOptions(menuTemplate('linux', 'Stepwise'), (command) => sent.push(command))
    const run = options.find((o) => o.label === 'Run')
    const generate = (run?.submenu as { label?: string; click?: () => void }[]).find((o) => o.label === 'Generate')
    generate?.click?.()
    expect(sent).toEqual(['generate'])
    const edit = options.find((o) => o.label === 'Edit')
    expect((edit?.submenu as { role?: string; click?: unknown }[]).every((o) => !o.click)).toBe(true)
  })
})
