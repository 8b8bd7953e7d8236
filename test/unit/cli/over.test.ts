/** --then and --variant: "name=value" pairs of sample options over the command's own. */
import { describe, expect, it } from 'vitest'

import { over } from '../../../src-main/cli/options'

describe('over', () => {
  it('changes only what the pairs name, negative numbers included', () => {
    const v = over({ sampler: 'ddim', steps: '20', guidance: '3' }, 'steps=10 apg-momentum=-0.5', '--then')
    expect(v).toEqual({ sampler: 'ddim', steps: '10', guidance: '3', 'apg-momentum': '-0.5' })
  })

  it('sets and clears a switch by true or false, and refuses any other value', () => {
    expect(over({}, 'walk=true', '--variant').walk).toBe(true)
    expect(over({ walk: true }, 'walk=false', '--variant').walk).toBe(false)
    expect(() => over({}, 'walk=yes', '--variant')).toThrow('--variant: "walk=yes": walk is true or false')
  })

  it('refuses a pair that is not name=value, and an option that does not exist', () => {
    expect(() => over({}, 'steps', '--then')).toThrow('--then: "steps" is not name=value')
    expect(() => over({}, 'nope=1', '--then')).toThrow(/nope/)
  })
})
