/**
 * Seeded Gaussian noise, the one generator Stepwise uses everywhere.
 *
 * Generator: xoshiro128** (Blackman & Vigna) on 32-bit words, its state filled by splitmix32 from the
 * seed; uniforms are 53-bit doubles from two outputs; normals by the Box-Muller transform, both values
 * of each pair used, in order. The same seed gives the same numbers on every machine (only integer ops
 * and Math.log / sqrt / cos / sin of doubles, rounded to float32 at the end).
 *
 * Which stream each image of a batch draws from is the seed rule, in seed-noise.ts.
 */
import { EngineError } from './errors'

function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
    return (z ^ (z >>> 16)) >>> 0
  }
}

export class Gaussian {
  private s0: number
  private s1: number
  private s2: number
  private s3: number
  private spare: number | undefined

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0)
      throw new EngineError('bad-argument', `seed must be a non-negative integer, got ${seed}`)
    // Mix the high bits in too, so seeds above 2^32 are distinct streams.
    const init = splitmix32((seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x27d4eb2d))
    this.s0 = init()
    this.s1 = init()
    this.s2 = init()
    this.s3 = init()
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** xoshiro128**: one 32-bit unsigned output. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return result
  }

  /** Uniform in (0, 1): 53 bits, never 0 (Box-Muller takes its log). */
  uniform(): number {
    const hi = this.nextUint32() >>> 5 // 27 bits
    const lo = this.nextUint32() >>> 6 // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992
  }

  normal(): number {
    if (this.spare !== undefined) {
      const v = this.spare
      this.spare = undefined
      return v
    }
    const r = Math.sqrt(-2 * Math.log(this.uniform()))
    const theta = 2 * Math.PI * this.uniform()
    this.spare = r * Math.sin(theta)
    return r * Math.cos(theta)
  }

  /** Fill `out` with standard normals (float32). */
  fill(out: Float32Array): Float32Array {
    for (let i = 0; i < out.length; i++) out[i] = this.normal()
    return out
  }
}

const rotl = (x: number, k: number) => (x << k) | (x >>> (32 - k))
