/**
 * How the window is laid out, apart from the data: which tool the main area shows, which panels are
 * open, the results' tile size, which view of the selected image the stage shows, the large view
 * ("look closer"), a tile's menu and the shortcuts sheet.
 */
export const TABS = [
  { id: 'results', label: 'Results' },
  { id: 'compare', label: 'Compare' },
  { id: 'noise', label: 'Noise' },
  { id: 'grid', label: 'Grid' },
] as const
export type Tab = (typeof TABS)[number]['id']

/** Which of the step's images the stage shows large. */
export type StageView = 'x0' | 'xt' | 'eps'

/** Results tiles: CSS pixels a side, from the tile-size control. */
export const TILE_MIN = 40
export const TILE_MAX = 200
export const TILE_DEFAULT = 64
/** Below this window width tiles start smaller, leaving the image the room. */
const NARROW_WIDTH = 1200
const TILE_NARROW = 52
/** Below this window width the history starts closed (it takes space from the image). */
export const HISTORY_OPEN_MIN_WIDTH = 1500

/** The large view's zoom: 1 fits the image to the window, up to 16 times that. */
export const ZOOM_MIN = 1
export const ZOOM_MAX = 16
/** From this many screen pixels an image pixel, the large view draws the pixel grid. */
export const PIXEL_GRID_MIN_PX = 12

const windowWidth = () => (typeof window === 'undefined' ? Infinity : window.innerWidth)

class View {
  tab = $state<Tab>('results')
  historyOpen = $state(windowWidth() >= HISTORY_OPEN_MIN_WIDTH)
  sidebarOpen = $state(true)
  tile = $state(windowWidth() < NARROW_WIDTH ? TILE_NARROW : TILE_DEFAULT)
  stage = $state<StageView>('x0')
  /** The large view of the selected image. */
  closer = $state(false)
  zoom = $state(ZOOM_MIN)
  shortcutsOpen = $state(false)
  /** A tile's menu: which image, where (client coordinates). */
  menu = $state<{ index: number; x: number; y: number } | null>(null)

  zoomBy(factor: number) {
    this.zoom = Math.min(ZOOM_MAX, Math.max(ZOOM_MIN, Math.round(this.zoom * factor * 4) / 4))
  }

  openCloser() {
    this.zoom = ZOOM_MIN
    this.closer = true
  }
}

export const view = new View()
