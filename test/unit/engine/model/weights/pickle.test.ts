/** The restricted unpickler builds plain data from what CPython's pickle writes, and refuses to call anything. */
import { describe, expect, it } from 'vitest'

import { pyGlobal, unpickle } from '../../../../../src-main/engine/model/weights/pickle'

const hex = (h: string) => Uint8Array.from(h.match(/../g)!.map((b) => parseInt(b, 16)))
/** A pickle written as a byte string ('\x80\x02...'), one byte a character. */
const raw = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))

// Python 3.11: v = {'ints': [0, 255, 65535, -1, 2**31-1, -2**31, 2**40, -2**70], 'floats': (1.5, -0.25, 1e300),
// 'flags': (True, False, None), 'text': 'ünï', 'nested': {1: 'one', (1, 2): 'pair'}, 'shared': [l, l]}, l = [1, 2]
const PROTOCOL_2 =
  '80027d7100285804000000696e747371015d7102284b004bff4dffff4affffffff4affffff7f4a000000808a060000000000018a0900000000' +
  '00000000c0655806000000666c6f6174737103473ff800000000000047bfd0000000000000477e37e43c8800759c877104580500000066' +
  '6c616773710588894e87710658040000007465787471075805000000c3bc6ec3af710858060000006e657374656471097d710a284b015803' +
  '0000006f6e65710b4b014b0286710c580400000070616972710d755806000000736861726564710e5d710f285d7110284b014b026568106575' +
  '2e'
// the same with 'bytes': b'\x00\x01', pickle.dumps(v, protocol=4) (frames, SHORT_BINUNICODE, MEMOIZE, SHORT_BINBYTES)
const PROTOCOL_4 =
  '800495c1000000000000007d94288c04696e7473945d94284b004bff4dffff4affffffff4affffff7f4a000000808a060000000000018a09' +
  '0000000000000000c0658c06666c6f61747394473ff800000000000047bfd0000000000000477e37e43c8800759c87948c05666c6167739488' +
  '894e87948c0474657874948c05c3bc6ec3af948c0562797465739443020001948c066e6573746564947d94284b018c036f6e65944b014b0286' +
  '948c047061697294758c06736861726564945d94285d94284b014b0265681265752e'

describe('plain data, as CPython pickles it', () => {
  for (const [protocol, bytes] of [
    [2, PROTOCOL_2],
    [4, PROTOCOL_4],
  ] as const) {
    it(`protocol ${protocol}: ints (BININT*, LONG1), floats, True/False/None, text, tuple keys, shared lists`, () => {
      const v = unpickle(hex(bytes), 'v.pkl', { globals: {} }) as Map<string, any>
      expect(v.get('ints')).toEqual([0, 255, 65535, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 40, -(2n ** 70n)])
      expect(v.get('floats')).toEqual([1.5, -0.25, 1e300])
      expect(v.get('flags')).toEqual([true, false, null])
      expect(v.get('text')).toBe('ünï')
      expect([...v.get('nested')]).toEqual([
        [1, 'one'],
        ['[1,2]', 'pair'],
      ])
      const [a, b] = v.get('shared')
      expect(a).toBe(b) // BINGET gives back the memoized list itself
      if (protocol === 4) expect(Array.from(v.get('bytes'))).toEqual([0, 1])
    })
  }
})

describe('anything that would run code is refused by name, before it runs', () => {
  it('a GLOBAL outside the table (protocol 2 bytes are _codecs.encode calls)', () => {
    const bytes = hex(
      '8002635f636f646563730a656e636f64650a710058020000000001710158060000006c6174696e3171028671035271042e',
    )
    expect(() => unpickle(bytes, 'b.pkl', { globals: {} })).toThrow(/b\.pkl: pickle calls _codecs\.encode: refused/)
  })

  it('os.system', () => {
    const bytes = raw('\x80\x02cos\nsystem\nX\x02\x00\x00\x00ls\x85R.')
    expect(() => unpickle(bytes, 'evil.pkl', { globals: {} })).toThrow(
      expect.objectContaining({ code: 'unsafe-pickle', message: expect.stringContaining('pickle calls os.system') }),
    )
  })

  it('REDUCE of a table entry that is a value, not a function', () => {
    const bytes = raw('\x80\x02ctorch\nFloatStorage\n)R.')
    const globals = { 'torch.FloatStorage': pyGlobal('torch.FloatStorage') }
    expect(() => unpickle(bytes, 's.pkl', { globals })).toThrow(/pickle calls torch\.FloatStorage: refused/)
  })

  it('NEWOBJ and INST build objects: refused, named', () => {
    const inst = raw('(ibuiltins\nobject\n.')
    expect(() => unpickle(inst, 'i.pkl', { globals: {} })).toThrow(/builds an object with INST: refused/)
    const newobj = raw('\x80\x02)\x81.')
    expect(() => unpickle(newobj, 'n.pkl', { globals: {} })).toThrow(/builds an object with NEWOBJ: refused/)
  })

  it('an allowed function is called with its arguments', () => {
    const bytes = raw('\x80\x02cmath\nhypot\nK\x03K\x04\x86R.')
    const globals = { 'math.hypot': pyGlobal('math.hypot', ([a, b]) => Math.hypot(a as number, b as number)) }
    expect(unpickle(bytes, 'h.pkl', { globals })).toBe(5)
  })
})

describe('damaged pickles say so', () => {
  it('a pickle cut short', () => {
    expect(() => unpickle(hex(PROTOCOL_2).subarray(0, 40), 'cut.pkl', { globals: {} })).toThrow(
      /cut\.pkl: damaged pickle \(it ends early/,
    )
  })
  it('an opcode no state dict uses', () => {
    expect(() => unpickle(new Uint8Array([0x80, 0x02, 0xff]), 'odd.pkl', { globals: {} })).toThrow(/opcode 0xff/)
  })
})
