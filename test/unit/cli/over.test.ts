/** The command line as parsed: --then and --variant pairs over the command's own, and negative values. */
import { describe, expect, it } from 'vitest'

import { over, parse } from '../../../src-main/cli/options'

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

describe('parse', () => {
  it('takes a negative number after an option that takes a value as that value', () => {
    expect(parse(['--apg-momentum', '-0.5', '--guidance', '-.5', '--steps', '3']).values).toMatchObject({
      'apg-momentum': '-0.5',
      guidance: '-.5',
      steps: '3',
    })
    expect(parse(['--apg-momentum=-0.75']).values['apg-momentum']).toBe('-0.75')
    // A switch takes no value: a negative number after it is refused, as is an option where a value belongs.
    expect(() => parse(['--walk', '-1'])).toThrow(/Unknown option '-1'/)
    expect(() => parse(['--apg-momentum', '--steps'])).toThrow(/ambiguous/)
  })
})
