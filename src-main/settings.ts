/**
 * Settings kept between sessions: the last parameters, recent models, the preferred execution provider, the
 * timesteps fitted in the app and the window bounds, checked against the contract's schema. The app keeps
 * them with electron-store, the browser host with conf (electron-store's base, no electron): both are handed
 * in as `make`.
 *
 * Nothing in the file can stop the app or cost more than the values that are wrong:
 * - a file that is not JSON is moved aside (`settings.corrupt-<time>.json`) and the defaults are used;
 * - JSON that is not an object of settings (null, an array) is copied aside (`settings.invalid-<time>.json`)
 *   and the defaults are used;
 * - a bad value (a batch of 1e9, an unknown provider) is reset to its default alone, every valid field is
 *   kept, and the original file is copied aside as well.
 * `problem` says what happened, for the user: the shell hands it to the page once (settings.get).
 */
import { copyFileSync, existsSync, readFileSync, renameSync } from 'node:fs'
import { basename } from 'node:path'

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
  /** Where the settings file was moved or copied because something in it was wrong. */
  readonly setAside?: string
  /** What was wrong with the settings file and what was done about it, in a sentence for the user. */
  readonly problem?: string
}

export interface SettingsOptions {
  /** The JSON file `make` reads and writes (to move it aside when it is corrupt). */
  file: string
  make: () => KeyValueFile
  now?: () => Date
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** A value as the message shows it: short, on one line. */
const shown = (v: unknown): string => {
  const json = JSON.stringify(v) ?? String(v)
  return json.length > 40 ? `${json.slice(0, 37)}...` : json
}

/**
 * Take out the value at `path`; when nothing is there (a required field is missing), its container goes
 * instead. Answers the path taken out.
 */
function removeAt(root: Record<string, unknown>, path: PropertyKey[]): PropertyKey[] {
  const parent = valueAt(root, path.slice(0, -1)) as Record<PropertyKey, unknown> | unknown[] | undefined
  const key = path.at(-1)!
  if ((parent as Record<PropertyKey, unknown> | undefined)?.[key] === undefined && path.length > 1)
    return removeAt(root, path.slice(0, -1))
  if (Array.isArray(parent)) parent.splice(Number(key), 1)
  else if (parent) delete parent[key]
  return path
}

/**
 * What goes with a bad value inside a list: a list of numbers (timesteps) is one value and goes whole, and an
 * entry of any other list (a recent model, a kept fit) goes whole with everything in it, so that no list of
 * timesteps comes back shorter than it was saved.
 */
function unitOf(root: Record<string, unknown>, path: PropertyKey[]): PropertyKey[] {
  for (let i = 1; i <= path.length; i++) {
    const v = valueAt(root, path.slice(0, i))
    if (!Array.isArray(v)) continue
    const bad = Number(path[i])
    if (v.some((x, k) => k !== bad && typeof x === 'number')) return path.slice(0, i)
    if (i < path.length) return path.slice(0, i + 1)
  }
  return path
}

const valueAt = (root: unknown, path: PropertyKey[]): unknown =>
  path.reduce<unknown>((v, key) => (v as Record<PropertyKey, unknown> | undefined)?.[key], root)

/** More bad values than a settings file has fields: not a settings file, whatever it says. */
const MAX_REPAIRS = 1000

const within = (inner: PropertyKey[], outer: PropertyKey[]) =>
  outer.length < inner.length && outer.every((key, i) => key === inner[i])

/**
 * The settings in `raw` with each value that breaks the schema taken out, so that field alone gets its
 * default; `reset` names each one with the value it had ("parameters.batch (1000000000)").
 */
export function repairSettings(raw: Record<string, unknown>): { settings: Settings; reset: string[] } {
  const value = structuredClone(raw)
  const removed: PropertyKey[][] = []
  // Each round takes out at least one value, so the rounds are bounded by the file's size.
  for (let round = 0; round < MAX_REPAIRS; round++) {
    const parsed = settingsSchema.safeParse(value)
    if (parsed.success) {
      const reset = removed
        .filter((path) => !removed.some((other) => within(path, other)))
        .map((path) => `${path.join('.')} (${shown(valueAt(raw, path))})`)
      return { settings: parsed.data, reset }
    }
    removed.push(removeAt(value, unitOf(value, parsed.error.issues[0].path)))
  }
  return { settings: DEFAULT_SETTINGS, reset: ['everything (the file is too far from the settings to repair)'] }
}

type Found =
  | { kind: 'missing' }
  | { kind: 'corrupt'; why: string }
  | { kind: 'not-settings'; raw: unknown }
  | { kind: 'settings'; raw: Record<string, unknown> }

function readSettingsFile(file: string): Found {
  if (!existsSync(file)) return { kind: 'missing' }
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    return { kind: 'corrupt', why: (e as Error).message }
  }
  return isPlainObject(raw) ? { kind: 'settings', raw } : { kind: 'not-settings', raw }
}

export function openSettings({ file, make, now = () => new Date() }: SettingsOptions): SettingsStore {
  const aside = (kind: string) =>
    file.replace(/\.json$/, '') + `.${kind}-${now().toISOString().replace(/[:.]/g, '-')}.json`
  const name = basename(file)
  const found = readSettingsFile(file)
  let setAside: string | undefined
  let problem: string | undefined
  let raw: Record<string, unknown> = {}
  if (found.kind === 'corrupt') {
    setAside = aside('corrupt')
    renameSync(file, setAside)
    problem = `${name} could not be read (${found.why}); it was moved to ${setAside} and the default settings are used`
  } else if (found.kind === 'not-settings') {
    setAside = aside('invalid')
    copyFileSync(file, setAside)
    problem = `${name} holds ${shown(found.raw)}, not settings; the default settings are used and the file was kept as ${setAside}`
  } else if (found.kind === 'settings') {
    raw = found.raw
  }
  const { settings, reset } = repairSettings(raw)
  if (reset.length > 0) {
    setAside = aside('invalid')
    copyFileSync(file, setAside)
    problem =
      `${name}: ${reset.length === 1 ? 'a saved setting was' : `${reset.length} saved settings were`} invalid and ` +
      `reset to the default: ${reset.join(', ')}; the other settings were kept, and the file as it was is ${setAside}`
  }

  let kv: KeyValueFile
  try {
    kv = make()
  } catch (e) {
    // What was read above parsed; the store may still refuse it (a file changed since, unreadable).
    if (!existsSync(file)) throw e
    setAside = aside('corrupt')
    renameSync(file, setAside)
    problem = `${name} could not be read (${(e as Error).message}); it was moved to ${setAside} and the default settings are used`
    kv = make()
  }
  let current = settings
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
    problem,
  }
}

export { DEFAULT_SETTINGS }
