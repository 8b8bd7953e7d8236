/** Words the CLI and the page both print. */

/** "1 run", "32 probe images": a count with its noun, plural but for one. */
export const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`
