/**
 * A restricted unpickler (the opcodes of CPython's Lib/pickle.py and pickletools.py, protocols 0-5): it
 * builds plain data (None, bools, numbers, strings, bytes, lists, tuples, dicts) and resolves a GLOBAL only
 * through the table its caller gives, so a pickle that names anything else (os.system, builtins.eval,
 * a class to instantiate) is refused by name before anything runs. Nothing in a pickle is ever executed:
 * the callables in the table are our own functions that build data.
 */
import { EngineError } from '../../errors'

export type PyValue =
  null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyDict | PyGlobal | { readonly kind: string }

/** A dict or OrderedDict, insertion-ordered; int and str keys stay distinct. */
export type PyDict = Map<string | number, PyValue>

/** What a GLOBAL resolves to: a function of ours that REDUCE may call, or a value (a storage type). */
export interface PyGlobal {
  readonly kind: 'global'
  readonly name: string
  readonly call?: (args: PyValue[]) => PyValue
}

export interface UnpickleOptions {
  /** 'module.name' -> what it stands for; anything not here is refused. */
  globals: Record<string, PyGlobal>
  /** BINPERSID: what a persistent id (torch: a storage reference) stands for. */
  persistentLoad?: (pid: PyValue) => PyValue
}

const MARK = Symbol('mark')
type Slot = PyValue | typeof MARK

export const pyGlobal = (name: string, call?: PyGlobal['call']): PyGlobal => ({ kind: 'global', name, call })
export const isDict = (v: unknown): v is PyDict => v instanceof Map

const OPCODE_NAMES: Record<number, string> = {
  0x69: 'INST',
  0x6f: 'OBJ',
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x50: 'PERSID',
}

export function unpickle(bytes: Uint8Array, file: string, options: UnpickleOptions): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const text = new TextDecoder('utf-8', { fatal: false })
  const stack: Slot[] = []
  const memo = new Map<number, PyValue>()
  let at = 0

  const bad = (why: string) => new EngineError('bad-weights', `${file}: damaged pickle (${why} at byte ${at})`)
  const need = (n: number) => {
    if (at + n > bytes.length) throw bad('it ends early')
  }
  const take = (n: number) => {
    need(n)
    const out = bytes.subarray(at, at + n)
    at += n
    return out
  }
  const u8 = () => (need(1), bytes[at++])
  const u16 = () => (need(2), (at += 2), view.getUint16(at - 2, true))
  const u32 = () => (need(4), (at += 4), view.getUint32(at - 4, true))
  const i32 = () => (need(4), (at += 4), view.getInt32(at - 4, true))
  const u64 = () => (need(8), (at += 8), Number(view.getBigUint64(at - 8, true)))
  const line = () => {
    const end = bytes.indexOf(0x0a, at)
    if (end < 0) throw bad('a GLOBAL has no end of line')
    const s = text.decode(bytes.subarray(at, end))
    at = end + 1
    return s
  }
  const pop = (): PyValue => {
    const v = stack.pop()
    if (v === undefined || v === MARK) throw bad('the stack is empty')
    return v
  }
  const top = (): PyValue => {
    const v = stack[stack.length - 1]
    if (v === undefined || v === MARK) throw bad('the stack is empty')
    return v
  }
  const popMark = (): PyValue[] => {
    const k = stack.lastIndexOf(MARK)
    if (k < 0) throw bad('no MARK')
    const items = stack.splice(k) as PyValue[]
    items.shift()
    return items
  }
  /** Two's complement little-endian integer (LONG1, LONG4). */
  const long = (raw: Uint8Array): number | bigint => {
    if (raw.length === 0) return 0
    let v = 0n
    for (let i = raw.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(raw[i])
    if (raw[raw.length - 1] & 0x80) v -= 1n << BigInt(8 * raw.length)
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v
  }
  const key = (k: PyValue): string | number => {
    if (typeof k === 'string' || typeof k === 'number') return k
    if (typeof k === 'boolean') return k ? 1 : 0
    if (typeof k === 'bigint') return String(k)
    return JSON.stringify(k, (_, v) => (typeof v === 'bigint' ? String(v) : v))
  }
  const setItems = (dict: PyValue, items: PyValue[]) => {
    if (!isDict(dict)) throw bad('SETITEM on something that is not a dict')
    for (let i = 0; i + 1 < items.length; i += 2) dict.set(key(items[i]), items[i + 1])
  }
  const append = (list: PyValue, items: PyValue[]) => {
    if (!Array.isArray(list)) throw bad('APPEND on something that is not a list')
    list.push(...items)
  }
  const resolve = (module: string, name: string): PyGlobal => {
    const found = options.globals[`${module}.${name}`]
    if (!found)
      throw new EngineError(
        'unsafe-pickle',
        `${file}: pickle calls ${module}.${name}: refused (a weights file needs only tensors, dicts and lists; this one would run code)`,
      )
    return found
  }

  for (;;) {
    const op = u8()
    switch (op) {
      case 0x80: // PROTO
        u8()
        break
      case 0x95: // FRAME
        take(8)
        break
      case 0x2e: // STOP
        return pop()
      case 0x28: // MARK
        stack.push(MARK)
        break
      case 0x30: // POP
        stack.pop()
        break
      case 0x31: // POP_MARK
        popMark()
        break
      case 0x32: // DUP
        stack.push(top())
        break
      case 0x4e: // NONE
        stack.push(null)
        break
      case 0x88: // NEWTRUE
        stack.push(true)
        break
      case 0x89: // NEWFALSE
        stack.push(false)
        break
      case 0x4a: // BININT
        stack.push(i32())
        break
      case 0x4b: // BININT1
        stack.push(u8())
        break
      case 0x4d: // BININT2
        stack.push(u16())
        break
      case 0x8a: // LONG1
        stack.push(long(take(u8())))
        break
      case 0x8b: // LONG4
        stack.push(long(take(u32())))
        break
      case 0x47: // BINFLOAT: big-endian double
        need(8)
        stack.push(view.getFloat64(at, false))
        at += 8
        break
      case 0x58: // BINUNICODE
        stack.push(text.decode(take(u32())))
        break
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text.decode(take(u8())))
        break
      case 0x8d: // BINUNICODE8
        stack.push(text.decode(take(u64())))
        break
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(new TextDecoder('latin1').decode(take(i32())))
        break
      case 0x55: // SHORT_BINSTRING
        stack.push(new TextDecoder('latin1').decode(take(u8())))
        break
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice())
        break
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice())
        break
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice())
        break
      case 0x7d: // EMPTY_DICT
        stack.push(new Map())
        break
      case 0x64: {
        // DICT
        const d: PyDict = new Map()
        setItems(d, popMark())
        stack.push(d)
        break
      }
      case 0x5d: // EMPTY_LIST
        stack.push([])
        break
      case 0x6c: // LIST
        stack.push(popMark())
        break
      case 0x29: // EMPTY_TUPLE
        stack.push([])
        break
      case 0x74: // TUPLE
        stack.push(popMark())
        break
      case 0x85: // TUPLE1
        stack.push([pop()])
        break
      case 0x86: {
        // TUPLE2
        const b = pop()
        stack.push([pop(), b])
        break
      }
      case 0x87: {
        // TUPLE3
        const c = pop()
        const b = pop()
        stack.push([pop(), b, c])
        break
      }
      case 0x73: {
        // SETITEM
        const v = pop()
        const k = pop()
        setItems(top(), [k, v])
        break
      }
      case 0x75: {
        // SETITEMS
        const items = popMark()
        setItems(top(), items)
        break
      }
      case 0x61: {
        // APPEND
        const v = pop()
        append(top(), [v])
        break
      }
      case 0x65: {
        // APPENDS
        const items = popMark()
        append(top(), items)
        break
      }
      case 0x63: {
        // GLOBAL
        const module = line()
        stack.push(resolve(module, line()))
        break
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop()
        const module = pop()
        if (typeof module !== 'string' || typeof name !== 'string') throw bad('STACK_GLOBAL of a non-string')
        stack.push(resolve(module, name))
        break
      }
      case 0x52: {
        // REDUCE
        const args = pop()
        const fn = pop() as PyGlobal
        if (fn?.kind !== 'global' || !fn.call)
          throw new EngineError(
            'unsafe-pickle',
            `${file}: pickle calls ${fn?.kind === 'global' ? fn.name : 'a non-function'}: refused`,
          )
        if (!Array.isArray(args)) throw bad('REDUCE without an argument tuple')
        stack.push(fn.call(args))
        break
      }
      case 0x62: {
        // BUILD: set an object's state. OrderedDict's _metadata and a tensor's state carry nothing we use.
        pop()
        const obj = top()
        if (!isDict(obj) && !(obj && typeof obj === 'object' && 'kind' in obj && obj.kind !== 'global'))
          throw bad('BUILD on something that is neither a dict nor a tensor')
        break
      }
      case 0x51: {
        // BINPERSID
        const pid = pop()
        if (!options.persistentLoad) throw bad('a persistent id where none is expected')
        stack.push(options.persistentLoad(pid))
        break
      }
      case 0x71: // BINPUT
        memo.set(u8(), top())
        break
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top())
        break
      case 0x94: // MEMOIZE
        memo.set(memo.size, top())
        break
      case 0x68: // BINGET
      case 0x6a: {
        // LONG_BINGET
        const k = op === 0x68 ? u8() : u32()
        if (!memo.has(k)) throw bad(`memo ${k} was never stored`)
        stack.push(memo.get(k)!)
        break
      }
      default: {
        at--
        const name = OPCODE_NAMES[op]
        if (name)
          throw new EngineError(
            'unsafe-pickle',
            `${file}: pickle builds an object with ${name}: refused (a weights file needs only tensors, dicts and lists)`,
          )
        throw bad(`opcode 0x${op.toString(16).padStart(2, '0')} is not one a state dict uses`)
      }
    }
  }
}
