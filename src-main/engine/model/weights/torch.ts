/**
 * What `torch.save` writes since PyTorch 1.6 (torch/serialization.py, _save and _load): a zip archive
 * with `<root>/data.pkl` (the object, pickled), `<root>/data/<key>` (one entry per storage, raw
 * little-endian bytes) and `<root>/version` (`<root>/byteorder` in newer versions). A tensor in the pickle
 * is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks)`, its storage a
 * persistent id `('storage', torch.FloatStorage, key, location, numel)`. Only those, the storage types
 * and `collections.OrderedDict` are known to the unpickler (pickle.ts): anything else is refused. A
 * tensor's bytes are read when asked for (stored entries of a file in memory: views, never copies).
 */
import { EngineError } from '../../errors'
import { isDict, type PyDict, type PyGlobal, pyGlobal, type PyValue, unpickle } from './pickle'
import { type ByteSource, bytesSource } from './source'
import { type StoredTensor, WEIGHT_DTYPES, type WeightDType, type Weights } from './tensor'
import { isZip, openZip } from './zip'

/** torch.<X>Storage -> its element type. */
const STORAGE_DTYPES: Record<string, WeightDType> = {
  FloatStorage: 'F32',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  DoubleStorage: 'F64',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
}

interface Storage {
  readonly kind: 'storage'
  dtype: WeightDType
  byteLength: number
  /** Its entry's bytes (a view of a file in memory, else read from the file). */
  read(): Uint8Array
}

/** A tensor of the archive: its bytes are read (a view when contiguous) only when asked for. */
export interface TorchTensor {
  readonly kind: 'tensor'
  dtype: WeightDType
  shape: number[]
  stored(): StoredTensor
}

export const isTensor = (v: PyValue | undefined): v is TorchTensor =>
  !!v && typeof v === 'object' && 'kind' in v && v.kind === 'tensor'

function rebuildTensor(file: string, args: PyValue[]): TorchTensor {
  const [storage, offset, size, stride] = args as [Storage, number, number[], number[]]
  if (storage?.kind !== 'storage' || !Array.isArray(size) || !Array.isArray(stride) || typeof offset !== 'number')
    throw new EngineError('bad-weights', `${file}: a tensor in the pickle is not (storage, offset, size, stride)`)
  const item = WEIGHT_DTYPES[storage.dtype]
  const shape = size.map(Number)
  return {
    kind: 'tensor',
    dtype: storage.dtype,
    shape,
    stored(): StoredTensor {
      const n = shape.reduce((a, b) => a * b, 1)
      let expected = 1
      let contiguous = true
      for (let d = shape.length - 1; d >= 0; d--) {
        if (shape[d] !== 1 && stride[d] !== expected) contiguous = false
        expected *= shape[d]
      }
      const last = offset + shape.reduce((s, dim, d) => s + (dim - 1) * stride[d], 0)
      if (n > 0 && (offset < 0 || (last + 1) * item > storage.byteLength))
        throw new EngineError(
          'bad-weights',
          `${file}: a tensor [${shape.join(', ')}] reaches past its storage of ${storage.byteLength / item} values`,
        )
      const bytes = (): Uint8Array => {
        const all = storage.read()
        if (contiguous) return all.subarray(offset * item, (offset + n) * item)
        // A strided view (a transposed or sliced tensor saved as it was): gather it in row-major order.
        const out = new Uint8Array(n * item)
        const index = new Array<number>(shape.length).fill(0)
        for (let k = 0; k < n; k++) {
          const from = (offset + index.reduce((s, i, d) => s + i * stride[d], 0)) * item
          out.set(all.subarray(from, from + item), k * item)
          for (let d = shape.length - 1; d >= 0 && ++index[d] === shape[d]; d--) index[d] = 0
        }
        return out
      }
      return {
        dtype: storage.dtype,
        shape,
        get bytes() {
          return bytes()
        },
      }
    },
  }
}

/** The object a `torch.save` archive holds, with its tensors as TorchTensor. */
export function readTorchArchive(bytes: Uint8Array | ByteSource, file: string): PyValue {
  const source = bytes instanceof Uint8Array ? bytesSource(bytes) : bytes
  const start = source.read(0, Math.min(4, source.size))
  if (!isZip(start)) {
    const legacy = start[0] === 0x80 && source.size > 2
    throw new EngineError(
      'bad-weights',
      legacy
        ? `${file}: saved in PyTorch's format before 1.6; load and torch.save it again with a newer PyTorch`
        : `${file}: not a PyTorch checkpoint (no zip archive)`,
    )
  }
  const zip = openZip(source, file)
  const pkl = [...zip.entries.keys()].find((name) => name === 'data.pkl' || name.endsWith('/data.pkl'))
  if (!pkl) throw new EngineError('bad-weights', `${file}: a zip archive, but not a PyTorch checkpoint (no data.pkl)`)
  const root = pkl.slice(0, -'data.pkl'.length)
  const byteorder = zip.entries.get(`${root}byteorder`)
  if (byteorder && new TextDecoder().decode(zip.read(byteorder)).trim() !== 'little')
    throw new EngineError('bad-weights', `${file}: saved on a big-endian machine; Stepwise reads little-endian only`)

  const storages = new Map<string, Storage>()
  const persistentLoad = (pid: PyValue): PyValue => {
    const [tag, type, key] = (Array.isArray(pid) ? pid : []) as [PyValue, PyGlobal, PyValue]
    const dtype = type?.kind === 'global' ? STORAGE_DTYPES[type.name.replace(/^torch\./, '')] : undefined
    if (tag !== 'storage' || !dtype || typeof key !== 'string')
      throw new EngineError('bad-weights', `${file}: data.pkl refers to something other than a tensor storage`)
    let storage = storages.get(key)
    if (!storage) {
      const entry = zip.entries.get(`${root}data/${key}`)
      if (!entry) throw new EngineError('bad-weights', `${file}: storage ${key} is missing from the archive`)
      const found = entry
      storage = { kind: 'storage', dtype, byteLength: entry.size, read: () => zip.read(found) }
      storages.set(key, storage)
    }
    return storage
  }
  const globals: Record<string, PyGlobal> = {
    'collections.OrderedDict': pyGlobal('collections.OrderedDict', () => new Map()),
    'torch._utils._rebuild_tensor_v2': pyGlobal('torch._utils._rebuild_tensor_v2', (a) => rebuildTensor(file, a)),
    // An nn.Parameter saved directly: its data.
    'torch._utils._rebuild_parameter': pyGlobal('torch._utils._rebuild_parameter', (a) => a[0]),
  }
  for (const name of Object.keys(STORAGE_DTYPES)) globals[`torch.${name}`] = pyGlobal(`torch.${name}`)
  return unpickle(zip.read(zip.entries.get(pkl)!), file, { globals, persistentLoad })
}

/** The tensors of a state dict (name -> tensor), skipping what is not a tensor. */
export function weightsOfStateDict(dict: PyDict): Weights {
  const weights: Weights = new Map()
  for (const [name, value] of dict) if (isTensor(value)) weights.set(String(name), value.stored())
  return weights
}

/** A `torch.save(state_dict)` file as weights; what the dict is not is said in the error. */
export function readTorchStateDict(bytes: Uint8Array | ByteSource, file: string): Weights {
  const value = readTorchArchive(bytes, file)
  if (!isDict(value)) throw new EngineError('bad-weights', `${file}: holds no state dict (a ${typeName(value)})`)
  const weights = weightsOfStateDict(value)
  if (weights.size === 0) {
    const keys = [...value.keys()].slice(0, 6).join(', ')
    throw new EngineError('bad-weights', `${file}: a dict without tensors (keys ${keys || 'none'})`)
  }
  return weights
}

export function typeName(v: PyValue): string {
  if (v === null) return 'None'
  if (Array.isArray(v)) return 'list'
  if (isDict(v)) return 'dict'
  if (v instanceof Uint8Array) return 'bytes'
  if (typeof v === 'object') return v.kind
  return typeof v
}
