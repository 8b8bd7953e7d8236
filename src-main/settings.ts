/**
 * Settings kept between sessions: the last parameters, recent models, the preferred execution provider and
 * the window bounds, checked against the contract's schema. The app keeps them with electron-store, the
 * browser host with conf (electron-store's base, no electron): both are handed in as `make`.
 *
 * A settings file that is not JSON is set aside (renamed beside itself) and replaced with defaults; a field
 * with a bad value falls back to its default alone. Neither stops the app.
 */
import { existsSync, renameSync } from 'node:fs'

import { DEFAULT_SETTINGS, MAX_RECENT_MODELS, type Settings, settingsSchema } from '../src-preload/contract'

/** What Stepwise needs of conf / electron-store. */
export interface KeyValueFile {
  store: Record<string, unknown>
}

export interface SettingsStore {
  get(): Settings
  /** Merge top-level fields; the result is checked and written. */
  update(patch: Partial<Settings>): Settings
  /** Put a model first in the recent list (once, at most MAX_RECENT_MODELS kept). */
  rememberModel(path: string): Settings
  /** Where a corrupt settings file was moved to, when it was. */
  readonly setAside?: string
}

export interface SettingsOptions {
  /** The JSON file `make` reads and writes (to move it aside when it is corrupt). */
  file: string
  make: () => KeyValueFile
  now?: () => Date
}

export function openSettings({ file, make, now = () => new Date() }: SettingsOptions): SettingsStore {
  let kv: KeyValueFile
  let setAside: string | undefined
  try {
    kv = make()
  } catch (e) {
    if (!existsSync(file)) throw e
    setAside = file.replace(/\.json$/, '') + `.corrupt-${now().toISOString().replace(/[:.]/g, '-')}.json`
    renameSync(file, setAside)
    kv = make()
  }
  let current = settingsSchema.parse(kv.store)
  const write = (next: Settings) => {
    current = settingsSchema.parse(next)
    // JSON has no undefined: drop absent optional fields rather than writing them.
    kv.store = JSON.parse(JSON.stringify(current))
    return current
  }
  // Writes back the cleaned settings, so a bad field is repaired on disk, not only in memory.
  write(current)
  return {
    get: () => current,
    update: (patch) => write({ ...current, ...patch }),
    rememberModel: (path) =>
      write({
        ...current,
        recentModels: [path, ...current.recentModels.filter((p) => p !== path)].slice(0, MAX_RECENT_MODELS),
      }),
    setAside,
  }
}

export { DEFAULT_SETTINGS }
