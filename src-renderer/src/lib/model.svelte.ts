/**
 * The loaded model and how to get another: the default at start, a drop, Open Model..., a recent one.
 * A failed load leaves the previous model in place and says why in a toast.
 */
import type { DroppedFile, ModelCard, ProviderChoice } from '../../../src-preload/contract'
import { isWeightsFile } from '../../../src-shared/model'
import { api } from './api'
import { toasts } from './toasts.svelte'

class Model {
  card = $state.raw<ModelCard | null>(null)
  recent = $state.raw<string[]>([])
  loading = $state(false)
  /** The execution provider to try first ('auto': the platform's order), kept in the settings. */
  preferred = $state<ProviderChoice>('auto')
  /** What the current model was loaded from (undefined: the bundled default). */
  #path: string | undefined
  #listeners: ((card: ModelCard) => void)[] = []

  /** Be told of each model that becomes the current one. */
  onLoad(listener: (card: ModelCard) => void) {
    this.#listeners.push(listener)
  }

  #set(card: ModelCard) {
    this.card = card
    this.#listeners.forEach((l) => l(card))
    void this.refreshRecent()
  }

  /** Load a model file or folder (the bundled default when no path). */
  async load(path?: string): Promise<boolean> {
    this.loading = true
    try {
      const r = await api.invoke('model.load', path ? { path } : {})
      if (!r.ok) {
        toasts.error(r.error)
        return false
      }
      this.#path = path
      this.#set(r.value)
      return true
    } finally {
      this.loading = false
    }
  }

  /** Electron's Open Model... dialog (the shell loads what was picked). */
  async open(): Promise<void> {
    this.loading = true
    try {
      const r = await api.invoke('model.open', {})
      if (!r.ok) toasts.error(r.error)
      else if (r.value) {
        this.#path = r.value.path
        this.#set(r.value)
      }
    } finally {
      this.loading = false
    }
  }

  /**
   * Stage dropped or picked files where the engine can open them, then load: of an .onnx + .json pair the
   * .onnx, of a weights file + its config.json the weights, of anything else the first item (a folder, or
   * a file the engine will say is no model).
   */
  async loadFiles(top: File[], files: DroppedFile[]): Promise<void> {
    if (top.length === 0) return
    this.loading = true
    let staged: string[]
    try {
      const r = await api.stage(top, files)
      if (!r.ok) {
        toasts.error(r.error)
        return
      }
      staged = r.value
    } finally {
      this.loading = false
    }
    const onnx = top.findIndex((f) => /\.onnx$/i.test(f.name))
    const weights = top.findIndex((f) => isWeightsFile(f.name))
    const path = staged[onnx >= 0 ? onnx : weights >= 0 ? weights : 0]
    if (path) await this.load(path)
  }

  /** A model the shell loaded on its own (menu, file association). */
  adopt(card: ModelCard) {
    this.#path = card.path
    this.#set(card)
  }

  /** Prefer another execution provider: kept in the settings, and the current model reloaded on it. */
  async prefer(choice: ProviderChoice) {
    const r = await api.invoke('settings.set', { provider: choice })
    if (!r.ok) {
      toasts.error(r.error)
      return
    }
    this.preferred = r.value.provider
    await this.load(this.#path)
  }

  async refreshRecent() {
    const r = await api.invoke('settings.get', {})
    if (r.ok) {
      this.recent = r.value.recentModels
      this.preferred = r.value.provider
    }
  }
}

export const model = new Model()

/** "model.onnx" from "/a/b/model.onnx" or "C:\\a\\model.onnx". */
export const baseName = (path: string) => path.split(/[\\/]/).filter(Boolean).pop() ?? path
