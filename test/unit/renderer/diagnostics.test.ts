/** The timeline's sparklines: drawn through finite values only. */
import { describe, expect, it } from 'vitest'

import { sparkPath } from '../../../src-renderer/src/lib/diagnostics'

describe('renderer diagnostics', () => {
  it('draws a sparkline through finite values only', () => {
    expect(sparkPath([0, 1, NaN, 1], 4, 30, 10, 0, 1)).toBe('M0.0,10.0L10.0,0.0M30.0,0.0')
  })
})
