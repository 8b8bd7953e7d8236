import { describe, expect, it } from 'vitest'

import { taskbarProgress } from '../../../src-main/app/taskbar'

describe('taskbar progress', () => {
  it('is the mean of the runs in flight, and no bar without one', () => {
    expect(taskbarProgress(new Map())).toBe(-1)
    expect(taskbarProgress(new Map([['a', 0.5]]))).toBe(0.5)
    expect(
      taskbarProgress(
        new Map([
          ['a', 0.2],
          ['b', 0.6],
        ]),
      ),
    ).toBeCloseTo(0.4)
  })
})
