/**
 * Graphs built from a config and weights, kept by the content hash of what they were built from, so the
 * second open of a model is a file read. Two levels: `graphs/<content>.onnx` + `.onnx.data` (the weights as
 * ONNX external data, which onnxruntime maps instead of copying) + `.json` (what the build found out,
 * written last: an entry without it is unfinished) by the SHA-256 of the builder version and the source
 * files' own SHA-256s; and `seen/<stat>.json` mapping the files' paths, sizes and modification times to that
 * hash, so an unchanged model is found without reading (and hashing) its weights again. A model copied
 * elsewhere hashes to the same graph.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'

import { writeFileAtomic } from '../files'
import { fileSha256 } from './file-hash'
import { type OnnxGraph, writeOnnxExternal } from './graph/onnx-graph'

export interface GraphCache {
  /** The built graph and what was recorded with it, found by the files' stats or their content. */
  find<T>(key: CacheKey): Promise<{ path: string; info: T } | undefined>
  /** Write the graph; its path, or undefined when the cache cannot be written (never an error). */
  store<T>(key: CacheKey, graph: OnnxGraph, info: T): Promise<string | undefined>
}

export interface CacheKey {
  /** The builder's version: a change to how graphs are built makes new entries. */
  builder: string
  /** The files the graph is built from; their bytes are hashed (streamed) only when their stats are new. */
  files: string[]
}

const sha256 = (parts: string[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(`${p.length}:${p}`)
  return h.digest('hex')
}

/**
 * The builder's version and each file's SHA-256 (file-hash.ts: streamed once and remembered, so the model
 * hash of the weights file that loading computes next reads nothing again).
 */
const contentHash = async (key: CacheKey): Promise<string> =>
  sha256([key.builder, ...(await Promise.all(key.files.map(fileSha256)))])

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T
  } catch {
    return undefined
  }
}

async function statKey(key: CacheKey): Promise<string> {
  const stats = await Promise.all(key.files.map((f) => stat(f)))
  return sha256([key.builder, ...key.files.flatMap((f, i) => [f, String(stats[i].size), String(stats[i].mtimeMs)])])
}

/** A cache in `dir` (created when first written); a cache that cannot be written is skipped, never fatal. */
export function graphCache(dir: string): GraphCache {
  const graphs = join(dir, 'graphs')
  const seen = join(dir, 'seen')
  const entry = async <T>(hash: string) => {
    const path = join(graphs, `${hash}.onnx`)
    const info = await readJson<T>(join(graphs, `${hash}.json`))
    const isFile = (p: string) =>
      stat(p).then(
        (s) => s.isFile(),
        () => false,
      )
    return info !== undefined && (await isFile(path)) && (await isFile(`${path}.data`)) ? { path, info } : undefined
  }
  return {
    async find<T>(key: CacheKey) {
      const stats = await statKey(key)
      const known = await readJson<{ hash: string }>(join(seen, `${stats}.json`))
      if (known) {
        const found = await entry<T>(known.hash)
        if (found) return found
      }
      const hash = await contentHash(key)
      const found = await entry<T>(hash)
      if (found) await remember(seen, stats, hash)
      return found
    },
    async store<T>(key: CacheKey, graph: OnnxGraph, info: T) {
      try {
        const hash = await contentHash(key)
        await mkdir(graphs, { recursive: true })
        const path = join(graphs, `${hash}.onnx`)
        await writeOnnxExternal(graph, path)
        await writeFileAtomic(join(graphs, `${hash}.json`), JSON.stringify(info), { overwrite: true })
        await remember(seen, await statKey(key), hash)
        return path
      } catch {
        return undefined
      }
    },
  }
}

async function remember(seen: string, statHash: string, hash: string) {
  try {
    await mkdir(seen, { recursive: true })
    await writeFileAtomic(join(seen, `${statHash}.json`), JSON.stringify({ hash }), { overwrite: true })
  } catch {
    // an unwritable cache only costs the next open a hash
  }
}

/** The cache's folder name inside the app's user-data folder and the browser host's settings folder. */
export const MODEL_CACHE_DIR = 'model-cache'

/** The per-user cache folder for the CLI (the app passes its user-data folder, the host its settings folder). */
export function defaultCacheDir(): string {
  const home = homedir()
  if (process.platform === 'win32')
    return join(process.env.LOCALAPPDATA ?? join(home, 'AppData', 'Local'), 'stepwise', 'cache')
  if (process.platform === 'darwin') return join(home, 'Library', 'Caches', 'stepwise')
  return join(process.env.XDG_CACHE_HOME ?? join(home, '.cache'), 'stepwise')
}
