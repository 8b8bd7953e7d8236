/**
 * What was dropped or picked: the top-level items and every file under them. A file's relativePath is '' at
 * the top level, and otherwise starts with the dropped folder's name ("my-model/unet/model.onnx"), as
 * File.webkitRelativePath does for an <input webkitdirectory>.
 */
import type { DroppedFile } from '../../../src-preload/contract'
import { MAX_IMAGE_BYTES } from '../../../src-shared/limits'

export interface Dropped {
  top: File[]
  files: DroppedFile[]
}

const fileOf = (entry: FileSystemFileEntry) => new Promise<File>((resolve, reject) => entry.file(resolve, reject))

/** readEntries answers in chunks (100 in Chromium) until it answers none. */
async function childrenOf(dir: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = dir.createReader()
  const all: FileSystemEntry[] = []
  for (;;) {
    const chunk = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject))
    if (chunk.length === 0) return all
    all.push(...chunk)
  }
}

async function walk(entry: FileSystemEntry, prefix: string, out: DroppedFile[]) {
  if (entry.isFile) {
    out.push({
      file: await fileOf(entry as FileSystemFileEntry),
      relativePath: prefix ? `${prefix}/${entry.name}` : '',
    })
  } else if (entry.isDirectory) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name
    for (const child of await childrenOf(entry as FileSystemDirectoryEntry)) await walk(child, path, out)
  }
}

/** Read a drop: entries must be taken synchronously, before the event handler returns. */
export async function readDrop(data: DataTransfer): Promise<Dropped> {
  const items = [...data.items].filter((i) => i.kind === 'file')
  const pairs = items.map((i) => ({ file: i.getAsFile(), entry: i.webkitGetAsEntry?.() ?? null }))
  const top: File[] = []
  const files: DroppedFile[] = []
  for (const { file: given, entry } of pairs) {
    // A folder's item may give no File; a stand-in named after the folder marks it (see readPicked).
    const file = given ?? (entry?.isDirectory ? new File([], entry.name) : null)
    if (!file) continue
    top.push(file)
    if (entry) await walk(entry, '', files)
    else files.push({ file, relativePath: '' })
  }
  // Synthetic DataTransfers (tests) may carry files without items.
  if (top.length === 0)
    for (const file of data.files) {
      top.push(file)
      files.push({ file, relativePath: '' })
    }
  return { top, files }
}

/**
 * Files from an <input type=file>: single files as they are; a folder (webkitdirectory) as one stand-in
 * top-level File named after the folder, since the input gives no File for the folder itself.
 */
export function readPicked(list: FileList): Dropped {
  const picked = [...list]
  const inFolder = picked.filter((f) => f.webkitRelativePath)
  if (inFolder.length === 0) return { top: picked, files: picked.map((file) => ({ file, relativePath: '' })) }
  const folders = [...new Set(inFolder.map((f) => f.webkitRelativePath.split('/')[0]))]
  return {
    top: folders.map((name) => new File([], name)),
    files: inFolder.map((file) => ({ file, relativePath: file.webkitRelativePath })),
  }
}

export const isPng = (f: File) => f.type === 'image/png' || /\.png$/i.test(f.name)

/**
 * Why an image file is not sent to the engine, or undefined: the whole file travels in one request (over
 * the browser host's socket, or IPC), so a file too large is refused here, before it is read.
 */
export const imageTooLarge = (f: File): string | undefined =>
  f.size > MAX_IMAGE_BYTES
    ? `${f.name} is ${Math.ceil(f.size / 1024 ** 2)} MiB; images dropped here may be up to ${MAX_IMAGE_BYTES / 1024 ** 2} MiB`
    : undefined
