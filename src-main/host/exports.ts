/**
 * Where the browser host puts exports: one folder (--out), no dialog. A name already taken gets the file
 * manager's "name (2).png" instead of replacing anything, however many exports run at once. The files written are also offered for
 * download at /exports/<name>, since the page may be on another machine than the folder.
 */
import type { ServerResponse } from 'node:http'
import { basename, join, resolve } from 'node:path'

import { ensureFolder, writeFileNumbered } from '../engine/files'
import { sendFile } from '../static/send-file'

export interface ExportFolder {
  readonly dir: string
  /** The ShellPorts.save of this host: the absolute paths written. */
  save(files: { name: string; bytes: Uint8Array }[]): Promise<string[]>
  /** Send back a file this server wrote; false when it wrote none of that name. */
  download(name: string, res: ServerResponse): Promise<boolean>
}

/** The engine suggests names like "seed-42.png"; anything path-like is reduced to its last part. */
const safeName = (name: string): string => basename(name.replace(/\\/g, '/')).replace(/^\.+/, '') || 'export'

export function exportFolder(dir: string): ExportFolder {
  const root = resolve(dir)
  const written = new Map<string, string>()
  return {
    dir: root,
    async save(files) {
      await ensureFolder(root)
      const paths: string[] = []
      for (const f of files) {
        const path = await writeFileNumbered(join(root, safeName(f.name)), f.bytes)
        written.set(basename(path), path)
        paths.push(path)
      }
      return paths
    },
    async download(name, res) {
      const path = written.get(name)
      if (!path) return false
      return sendFile(path, res, () => ({
        'content-type': 'application/octet-stream',
        'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
      }))
    },
  }
}
