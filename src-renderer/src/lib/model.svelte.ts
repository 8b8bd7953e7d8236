/**
 * The loaded model and how to get another: the default at start, a drop, Open Model..., a recent one.
 * A failed load leaves the previous model in place and says why in a toast.
 */
import { type DroppedFile, MAX_RECENT_MODELS, type ModelCard, type ProviderChoice } from '../../../src-preload/contract'
import { type CheckpointWeights, filesToStage, isWeightsFile } from '../../../src-shared/model'
import { api } from './api'
import { toasts } from './toasts.svelte'

/** What Stepwise opens, as a dropped file that is none of them is told. */
export const OPENS =
  'Stepwise opens an .onnx model (with its .json sidecar if it has one), a diffusers folder (or a ' +
  "training script's checkpoint-N folder), a .safetensors / .bin weights file with its config.json, or a " +
  'lucidrains checkpoint (model-N.pt, or its results folder); a Stepwise PNG restores its parameters'
const isModelFile = (name: string) => /\.(onnx|json)$/i.test(name) || isWeightsFile(name)

/** A model staged for the engine (an upload in the browser host): where it is, and the name it was dropped as. */
export interface Staged {
  path: string
  name: string
}

class Model {
  card = $state.raw<ModelCard | null>(null)
  /** Models loaded by path before, newest first (the settings' list). */
  recent = $state.raw<string[]>([])
  /**
   * Models dropped into this page and loaded (browser host): uploads live as long as the host runs, so
   * they are recent for this session only, under the names they were dropped as.
   */
  dropped = $state.raw<Staged[]>([])
  loading = $state(false)
  /** The execution provider to try first ('auto': the platform's order), kept in the settings. */
  preferred = $state<ProviderChoice>('auto')
  /** What the current model was loaded from (undefined: the bundled default). */
  #path: string | undefined
  /** The set of weights asked of its checkpoint (undefined: the default, the EMA's where it has one). */
  #weights: CheckpointWeights | undefined
  #listeners: ((card: ModelCard, again: boolean) => void)[] = []

  /**
   * Be told of each model that becomes the current one; `again` when it is the current one loaded anew (on
   * another execution provider, or with the checkpoint's other weights): what was set for it stays.
   */
  onLoad(listener: (card: ModelCard, again: boolean) => void) {
    this.#listeners.push(listener)
  }

  #set(card: ModelCard, again = false) {
    this.card = card
    this.#listeners.forEach((l) => l(card, again))
    void this.refreshRecent()
  }

  /**
   * Load a model file or folder (the bundled default when no path). A staged file's errors name it as it
   * was dropped, never by the host's temporary path.
   */
  async load(path?: string, staged?: Staged, weights?: CheckpointWeights): Promise<boolean> {
    this.loading = true
    try {
      const r = await api.invoke('model.load', { ...(path && { path }), ...(weights && { weights }) })
      if (!r.ok) {
        toasts.error(staged ? { ...r.error, message: r.error.message.split(staged.path).join(staged.name) } : r.error)
        return false
      }
      const again = this.card !== null && path === this.#path
      this.#path = path
      this.#weights = weights
      this.#set(r.value, again)
      if (staged && api.host === 'browser')
        this.dropped = [staged, ...this.dropped.filter((d) => d.name !== staged.name)].slice(0, MAX_RECENT_MODELS)
      return true
    } finally {
      this.loading = false
    }
  }

  /** Electron's Open Model... (or, `folder`, Open Folder...) dialog; the shell loads what was picked. */
  async open(folder = false): Promise<void> {
    this.loading = true
    try {
      const r = await api.invoke('model.open', folder ? { folder } : {})
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
    // A single file that is no model (a folder arrives as a stand-in with files under its name).
    const folder = (f: File) => files.some((d) => d.relativePath.startsWith(`${f.name}/`))
    const strays = top.filter((f) => !folder(f) && !isModelFile(f.name))
    if (strays.length === top.length) {
      toasts.error(`${strays.map((f) => f.name).join(', ')}: not a model. ${OPENS}.`)
      return
    }
    this.loading = true
    let staged: string[]
    try {
      // A training checkpoint's optimizer state, a results folder's older checkpoints: nothing reads them.
      const r = await api.stage(
        top,
        filesToStage(files, (d) => d.relativePath),
      )
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
    const k = onnx >= 0 ? onnx : weights >= 0 ? weights : top.findIndex((f) => !strays.includes(f))
    if (staged[k]) await this.load(staged[k], { path: staged[k], name: top[k].name })
  }

  /** The current checkpoint's other set of weights (its EMA's or its online model's): the same file again. */
  async useWeights(weights: CheckpointWeights): Promise<void> {
    if (this.card?.weights?.both && this.card.weights.taken !== weights) await this.load(this.#path, undefined, weights)
  }

  /** A model the shell loaded on its own (menu, file association). */
  adopt(card: ModelCard) {
    this.#path = card.path
    this.#weights = undefined
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
    await this.load(this.#path, undefined, this.#weights)
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
