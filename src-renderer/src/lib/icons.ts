/**
 * The icon set: each icon is the SVG elements of a 24 x 24 line drawing (stroke 2, round caps and joins),
 * drawn for Stepwise in the style of Lucide. One table, so an icon is named once and looks the same
 * everywhere; components draw them with components/Icon.svelte.
 *
 * TODO(lead): swap for @lucide/svelte (Svelte 5, ISC, no dependencies) once it is a dependency: the
 * names below are Lucide's, so Icon.svelte can map each to its component.
 */
type Shape =
  | { path: string }
  | { circle: [number, number, number]; fill?: boolean }
  | { rect: [number, number, number, number, number] }

export const ICONS = {
  play: [{ path: 'M6 3l14 9-14 9z' }],
  pause: [{ rect: [6, 4, 4, 16, 1] }, { rect: [14, 4, 4, 16, 1] }],
  dices: [
    { rect: [3, 3, 18, 18, 3] },
    { circle: [8, 8, 1.2], fill: true },
    { circle: [16, 16, 1.2], fill: true },
    { circle: [12, 12, 1.2], fill: true },
    { circle: [16, 8, 1.2], fill: true },
    { circle: [8, 16, 1.2], fill: true },
  ],
  copy: [{ rect: [8, 8, 13, 13, 2] }, { path: 'M4 16V5a1 1 0 0 1 1-1h11' }],
  download: [{ path: 'M12 3v12M7 10l5 5 5-5M5 21h14' }],
  'git-fork': [
    { circle: [6, 5, 2] },
    { circle: [18, 5, 2] },
    { circle: [12, 19, 2] },
    { path: 'M6 7v1a4 4 0 0 0 4 4h4a4 4 0 0 0 4-4V7M12 12v5' },
  ],
  maximize: [{ path: 'M15 3h6v6M9 21H3v-6M21 3l-7 7M3 21l7-7' }],
  'zoom-in': [{ circle: [11, 11, 7] }, { path: 'M21 21l-4.3-4.3M11 8v6M8 11h6' }],
  'zoom-out': [{ circle: [11, 11, 7] }, { path: 'M21 21l-4.3-4.3M8 11h6' }],
  x: [{ path: 'M18 6L6 18M6 6l12 12' }],
  'chevron-left': [{ path: 'M15 18l-6-6 6-6' }],
  'chevron-right': [{ path: 'M9 18l6-6-6-6' }],
  'panel-left': [{ rect: [3, 3, 18, 18, 2] }, { path: 'M9 3v18' }],
  'panel-right': [{ rect: [3, 3, 18, 18, 2] }, { path: 'M15 3v18' }],
  history: [{ path: 'M3 12a9 9 0 1 0 3-6.7L3 8M3 3v5h5M12 7v5l3 2' }],
  keyboard: [{ rect: [2, 6, 20, 12, 2] }, { path: 'M6 10h.01M10 10h.01M14 10h.01M18 10h.01M7 14h10' }],
  repeat: [{ path: 'M17 2l4 4-4 4M3 11V9a3 3 0 0 1 3-3h15M7 22l-4-4 4-4M21 13v2a3 3 0 0 1-3 3H3' }],
  'arrow-left-right': [{ path: 'M8 3L4 7l4 4M4 7h16M16 21l4-4-4-4M20 17H4' }],
  'arrow-right': [{ path: 'M5 12h14M12 5l7 7-7 7' }],
  'trash-2': [{ path: 'M3 6h18M8 6V4h8v2M19 6l-1 14H6L5 6M10 11v6M14 11v6' }],
  'rotate-ccw': [{ path: 'M3 12a9 9 0 1 0 3-6.7L3 8M3 3v5h5' }],
  columns: [{ rect: [3, 3, 18, 18, 2] }, { path: 'M12 3v18' }],
  ellipsis: [
    { circle: [5, 12, 1.2], fill: true },
    { circle: [12, 12, 1.2], fill: true },
    { circle: [19, 12, 1.2], fill: true },
  ],
  'layout-grid': [
    { rect: [3, 3, 7, 7, 1] },
    { rect: [14, 3, 7, 7, 1] },
    { rect: [3, 14, 7, 7, 1] },
    { rect: [14, 14, 7, 7, 1] },
  ],
  grid: [{ rect: [3, 3, 18, 18, 2] }, { path: 'M3 9h18M3 15h18M9 3v18M15 3v18' }],
  square: [{ rect: [3, 3, 18, 18, 2] }],
  'circle-help': [{ circle: [12, 12, 9] }, { path: 'M9.1 9a3 3 0 0 1 5.8 1c0 2-3 3-3 3M12 17h.01' }],
  'triangle-alert': [
    { path: 'M10.3 3.9L1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0zM12 9v4M12 17h.01' },
  ],
  sparkles: [{ path: 'M12 3l1.9 5.1L19 10l-5.1 1.9L12 17l-1.9-5.1L5 10l5.1-1.9zM19 3v4M17 5h4' }],
} satisfies Record<string, Shape[]>

export type IconName = keyof typeof ICONS
export type { Shape }
