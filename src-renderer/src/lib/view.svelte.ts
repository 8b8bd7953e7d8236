/** Which tool the main area shows, and whether the history panel is open. */
export const TABS = [
  { id: 'results', label: 'Results' },
  { id: 'compare', label: 'Compare' },
  { id: 'noise', label: 'Noise' },
  { id: 'grid', label: 'Grid' },
] as const
export type Tab = (typeof TABS)[number]['id']

class View {
  tab = $state<Tab>('results')
  historyOpen = $state(true)
}

export const view = new View()
