import { describe, expect, it } from 'vitest'

import { restorableBounds } from '../../../src-main/app/bounds'

describe('window bounds', () => {
  const screen = [{ x: 0, y: 0, width: 1920, height: 1040 }]
  const saved = { x: 100, y: 80, width: 1280, height: 820, maximized: false }
  it('are restored where a display still shows them, else dropped', () => {
    expect(restorableBounds(saved, screen)).toEqual(saved)
    expect(restorableBounds({ ...saved, x: 2500 }, screen)).toBeUndefined() // the second monitor is gone
    expect(restorableBounds({ ...saved, x: 2500 }, [...screen, { x: 1920, y: 0, width: 2560, height: 1400 }])).toEqual({
      ...saved,
      x: 2500,
    })
    expect(restorableBounds({ ...saved, y: -800 }, screen)).toBeUndefined() // title bar above the screen
    expect(restorableBounds(undefined, screen)).toBeUndefined()
  })
})
