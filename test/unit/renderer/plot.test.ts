import { describe, expect, test } from 'vitest'

import { ticksPath, xOf } from '../../../src-renderer/src/lib/plot'

describe('the schedule plot', () => {
  test('marks the timesteps as one path, a tick a distinct x', () => {
    expect(ticksPath([999, 500, 0], 1000, 360, 150, 155)).toBe('M360.0 150V155M180.2 150V155M0.0 150V155')
    // Timesteps a tenth of a pixel apart or less share their tick.
    expect(ticksPath([999, 998.9, 0], 1000, 360, 0, 5)).toBe('M360.0 0V5M0.0 0V5')
    const all = Array.from({ length: 1000 }, (_, i) => 999 - i)
    const ticks = ticksPath(all, 1000, 360, 0, 5).match(/M[\d.]+ /g)!
    expect(ticks).toHaveLength(1000)
    expect(ticks[1]).toBe(`M${xOf(998, 1000, 360).toFixed(1)} `)
    expect(ticksPath([], 1000, 360, 0, 5)).toBe('')
  })
})
