/**
 * What the Electron shell and the browser host both do with a request from the renderer: check it
 * against the contract (the one place requests are validated; the engine behind trusts them), answer the shell's own channels (settings, saving exports, the open dialog) and
 * hand the engine's to the engine worker. Each host supplies only what differs: where files are saved
 * and how a model is picked.
 */
import {
  type Channel,
  type ExportRequest,
  isEngineChannel,
  type ModelCard,
  type ModelLoadRequest,
  type ModelOpenRequest,
  parseRequest,
  type ProviderChoice,
  type Result,
  type SettingsSetRequest,
} from '../../src-preload/contract'
import type { ProviderName } from '../../src-shared/names'
import { toErrorData } from '../engine/errors'
import type { SettingsStore } from '../settings'
import type { EngineClient } from './engine-client'

export interface ShellPorts {
  engine: EngineClient
  settings: SettingsStore
  /** Write exported files where the user wants them; the paths written, [] when the user cancelled. */
  save(files: { name: string; bytes: Uint8Array }[], request: ExportRequest): Promise<string[]>
  /** Start the OS drag of a file out of the window (Electron); false when it could not start. */
  dragOut?(file: { name: string; bytes: Uint8Array }): Promise<boolean>
  /** Ask the user for a model (the Open Model... dialog); undefined when cancelled. */
  pickModel?(options?: { folder?: boolean }): Promise<string | undefined>
  /** The bundled model, where this host keeps it (a packaged app's resources); the engine's own guess when absent. */
  defaultModelPath?: string
  /** Whether a loaded model belongs in the recent list (not, say, a temporary upload). Default: yes. */
  remember?(path: string): boolean
  /**
   * Model paths as the page names them and as the engine opens them, where they differ (the browser host's
   * uploads): `open` turns the page's into the engine's, `show` the engine's back in an answer's text.
   */
  paths?: { open(path: string): string; show(text: string): string }
}

export interface Shell {
  /** Any request from the renderer, checked here; always answers with a Result. */
  handle(channel: string, payload: unknown): Promise<Result<unknown>>
  /** model.load with the preferred provider, remembering the model among the recent ones. */
  loadModel(request: ModelLoadRequest): Promise<Result<ModelCard>>
}

/** The providers to try for a preference: the platform's order for 'auto', else that one with the CPU behind it. */
export const providersFor = (choice: ProviderChoice): ProviderName[] | undefined =>
  choice === 'auto' ? undefined : choice === 'cpu' ? ['cpu'] : [choice, 'cpu']

const unavailable = (channel: string) =>
  ({ ok: false, error: { code: 'bad-argument', message: `${channel} is not available in this host` } }) as const

export function createShell(ports: ShellPorts): Shell {
  const { engine, settings } = ports
  let problem = settings.problem

  const loadModel = async (request: ModelLoadRequest): Promise<Result<ModelCard>> => {
    const providers = request.providers ?? providersFor(settings.get().provider)
    const path = request.path === undefined ? ports.defaultModelPath : (ports.paths?.open(request.path) ?? request.path)
    const weights = request.weights
    const result = await engine.request('model.load', { path, providers, ...(weights && { weights }) })
    if (result.ok && path && request.path && (ports.remember?.(path) ?? true)) settings.rememberModel(path)
    const show = ports.paths?.show
    if (!show) return result
    return result.ok
      ? { ok: true, value: { ...result.value, path: show(result.value.path), onnxPath: show(result.value.onnxPath) } }
      : { ok: false, error: { ...result.error, message: show(result.error.message) } }
  }

  const handlers: { [C in Exclude<Channel, 'model.load'>]?: (request: never) => Promise<Result<unknown>> } = {
    'settings.get': async () => {
      // What was wrong with the settings file goes to the first page that asks: it is said once.
      const value = problem ? { ...settings.get(), problem } : settings.get()
      problem = undefined
      return { ok: true, value }
    },
    'settings.set': async (patch: SettingsSetRequest) => {
      const current = settings.get()
      return {
        ok: true,
        value: settings.update({
          parameters: patch.parameters ?? current.parameters,
          provider: patch.provider ?? current.provider,
          notifyLongRuns: patch.notifyLongRuns ?? current.notifyLongRuns,
          fits: patch.fits ?? current.fits,
          export: patch.export ?? current.export,
        }),
      }
    },
    'model.open': async (request: ModelOpenRequest) => {
      if (!ports.pickModel) return unavailable('model.open')
      const path = await ports.pickModel({ folder: request.folder })
      return path ? loadModel({ path }) : { ok: true, value: null }
    },
    'export.save': async (request: ExportRequest) => {
      const encoded = await engine.request('export.encode', request)
      if (!encoded.ok) return encoded
      try {
        const paths = await ports.save(
          encoded.value.files.map((f) => ({ name: f.name, bytes: new Uint8Array(f.bytes) })),
          request,
        )
        return { ok: true, value: { paths } }
      } catch (e) {
        return { ok: false, error: toErrorData(e) }
      }
    },
    'image.drag': async (request: ExportRequest) => {
      if (!ports.dragOut) return unavailable('image.drag')
      if (request.kind !== 'png' || request.index === undefined)
        return { ok: false, error: { code: 'bad-argument', message: 'image.drag: one image (kind png, an index)' } }
      const encoded = await engine.request('export.encode', request)
      if (!encoded.ok) return encoded
      const [file] = encoded.value.files
      const started = await ports.dragOut({ name: file.name, bytes: new Uint8Array(file.bytes) })
      return { ok: true, value: { started } }
    },
  }

  return {
    loadModel,
    async handle(channel, payload) {
      const parsed = parseRequest(channel, payload)
      if (!parsed.ok) return parsed
      if (channel === 'model.load') return loadModel(parsed.value as ModelLoadRequest)
      const own = handlers[channel as keyof typeof handlers]
      if (own) return own(parsed.value as never)
      if (isEngineChannel(channel)) return engine.request(channel, parsed.value as never)
      return unavailable(channel)
    },
  }
}
