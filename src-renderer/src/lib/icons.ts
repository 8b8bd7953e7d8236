/**
 * The icon set: Lucide's (@lucide/svelte, ISC), one table so an icon is named once and looks the same
 * everywhere; components draw them with components/Icon.svelte. Each icon is its own module, so the
 * bundle carries only these.
 */
import ArrowDown from '@lucide/svelte/icons/arrow-down'
import ArrowLeftRight from '@lucide/svelte/icons/arrow-left-right'
import ArrowRight from '@lucide/svelte/icons/arrow-right'
import ArrowUp from '@lucide/svelte/icons/arrow-up'
import Bell from '@lucide/svelte/icons/bell'
import BellOff from '@lucide/svelte/icons/bell-off'
import ChevronLeft from '@lucide/svelte/icons/chevron-left'
import ChevronRight from '@lucide/svelte/icons/chevron-right'
import CircleQuestionMark from '@lucide/svelte/icons/circle-question-mark'
import Columns2 from '@lucide/svelte/icons/columns-2'
import Copy from '@lucide/svelte/icons/copy'
import Dices from '@lucide/svelte/icons/dices'
import Download from '@lucide/svelte/icons/download'
import Ellipsis from '@lucide/svelte/icons/ellipsis'
import Funnel from '@lucide/svelte/icons/funnel'
import GitFork from '@lucide/svelte/icons/git-fork'
import Grid3x3 from '@lucide/svelte/icons/grid-3x3'
import History from '@lucide/svelte/icons/history'
import Keyboard from '@lucide/svelte/icons/keyboard'
import LayoutGrid from '@lucide/svelte/icons/layout-grid'
import ListOrdered from '@lucide/svelte/icons/list-ordered'
import Maximize from '@lucide/svelte/icons/maximize'
import PanelLeft from '@lucide/svelte/icons/panel-left'
import PanelRight from '@lucide/svelte/icons/panel-right'
import Pause from '@lucide/svelte/icons/pause'
import Play from '@lucide/svelte/icons/play'
import Repeat from '@lucide/svelte/icons/repeat'
import RotateCcw from '@lucide/svelte/icons/rotate-ccw'
import Search from '@lucide/svelte/icons/search'
import Shuffle from '@lucide/svelte/icons/shuffle'
import Sparkles from '@lucide/svelte/icons/sparkles'
import Square from '@lucide/svelte/icons/square'
import Trash2 from '@lucide/svelte/icons/trash-2'
import TriangleAlert from '@lucide/svelte/icons/triangle-alert'
import X from '@lucide/svelte/icons/x'
import ZoomIn from '@lucide/svelte/icons/zoom-in'
import ZoomOut from '@lucide/svelte/icons/zoom-out'

export const ICONS = {
  play: Play,
  pause: Pause,
  dices: Dices,
  copy: Copy,
  download: Download,
  'git-fork': GitFork,
  maximize: Maximize,
  'zoom-in': ZoomIn,
  'zoom-out': ZoomOut,
  x: X,
  'trash-2': Trash2,
  'chevron-left': ChevronLeft,
  'chevron-right': ChevronRight,
  'panel-left': PanelLeft,
  'panel-right': PanelRight,
  history: History,
  keyboard: Keyboard,
  repeat: Repeat,
  'arrow-left-right': ArrowLeftRight,
  'arrow-right': ArrowRight,
  'rotate-ccw': RotateCcw,
  columns: Columns2,
  ellipsis: Ellipsis,
  'layout-grid': LayoutGrid,
  grid: Grid3x3,
  square: Square,
  'circle-help': CircleQuestionMark,
  'triangle-alert': TriangleAlert,
  sparkles: Sparkles,
  shuffle: Shuffle,
  'arrow-up': ArrowUp,
  'arrow-down': ArrowDown,
  bell: Bell,
  'bell-off': BellOff,
  funnel: Funnel,
  search: Search,
  'list-ordered': ListOrdered,
}

export type IconName = keyof typeof ICONS
