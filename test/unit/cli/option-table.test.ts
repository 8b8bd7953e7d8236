import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import { describe, expect, it } from 'vitest'

import { optionTableMarkdown, SAMPLER_OPTION_ROWS } from '../../../src-main/cli/option-table'
import { SAMPLER_OPTIONS } from '../../../src-shared/names'

describe('the sampler option table', () => {
  it('has a row for every option of the vocabulary, naming who reads it', () => {
    expect(SAMPLER_OPTION_ROWS.map((r) => r.flag)).toEqual(Object.values(SAMPLER_OPTIONS).map((o) => o.flag))
    const skip = SAMPLER_OPTION_ROWS.find((r) => r.flag === 'skip-prk-steps')
    expect(skip).toMatchObject({ values: 'true|false', diffusers: 'skip_prk_steps', readers: 'pndm' })
    expect(SAMPLER_OPTION_ROWS.find((r) => r.flag === 'prediction')?.readers).toBe('every sampler')
  })

  it("is the README's, word for word (regenerate it with optionTableMarkdown() when an option changes)", () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../README.md'), 'utf8')
    const indented = optionTableMarkdown()
      .split('\n')
      .map((line) => `  ${line}`)
      .join('\n')
    expect(readme).toContain(indented)
  })
})
