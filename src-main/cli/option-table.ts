/**
 * The sampler options as the CLI documents them, from the vocabulary's table: the usage text and the README's
 * table are both made from these rows (test/unit/cli/option-table.test.ts holds the README to them).
 */
import { SAMPLER_OPTIONS, samplerReads, SAMPLERS } from '../../src-shared/names'

export interface OptionRow {
  flag: string
  /** Its values as the usage writes them: `true|false`, the choices, k (integer) / x (number), or t1,t2,... */
  values: string
  diffusers: string
  /** The samplers that read it, or 'every sampler'. */
  readers: string
}

export const SAMPLER_OPTION_ROWS: readonly OptionRow[] = Object.entries(SAMPLER_OPTIONS).map(([name, o]) => {
  const values =
    o.kind === 'boolean'
      ? 'true|false'
      : o.kind === 'choice'
        ? o.values.join('|')
        : o.kind === 'timesteps'
          ? 't1,t2,...'
          : o.kind === 'integer'
            ? 'k'
            : 'x'
  const readers = SAMPLERS.filter((s) => samplerReads(s, name))
  return {
    flag: o.flag,
    values,
    diffusers: o.diffusers,
    readers: readers.length === SAMPLERS.length ? 'every sampler' : readers.join(', '),
  }
})

/** The README's table of sampler flags, in Markdown. */
export function optionTableMarkdown(): string {
  const rows = SAMPLER_OPTION_ROWS.map(
    (r) => `| \`--${r.flag} ${r.values.replaceAll('|', '\\|')}\` | \`${r.diffusers}\` | ${r.readers} |`,
  )
  return ['| flag | diffusers | read by |', '|---|---|---|', ...rows].join('\n')
}
