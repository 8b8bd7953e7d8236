/**
 * The timeline's per-step diagnostics of one image: series over the steps for the sparklines, and the
 * warnings a model's author should not miss (NaN/infinity, a predicted x0 far outside the data range).
 * The engine computes the numbers (StepStats on every frame); this file only reads them.
 */

// The warning rule is the vocabulary's (src-shared): one rule, the same steps flagged in the engine and here.
export {
  FAR_OUT_RANGES,
  OUT_OF_RANGE_FRACTION,
  type StatsWarning,
  statsWarnings,
} from '../../../src-shared/diagnostics'

/** The SVG path of `values` over `count` steps (x = step, up is larger), NaN/infinite values skipped. */
export function sparkPath(
  values: number[],
  count: number,
  width: number,
  height: number,
  lo: number,
  hi: number,
): string {
  const span = hi - lo || 1
  const x = (i: number) => ((i / Math.max(1, count - 1)) * width).toFixed(1)
  const y = (v: number) => (height - ((Math.min(hi, Math.max(lo, v)) - lo) / span) * height).toFixed(1)
  let d = ''
  let pen = false
  values.forEach((v, i) => {
    if (!Number.isFinite(v)) {
      pen = false
      return
    }
    d += `${pen ? 'L' : 'M'}${x(i)},${y(v)}`
    pen = true
  })
  return d
}

/** The smallest and largest finite values, widened to hold `include` (e.g. 0, or 1 for the noise RMS). */
export function extent(series: number[][], include: number[] = []): [number, number] {
  let lo = Math.min(...include),
    hi = Math.max(...include)
  for (const values of series)
    for (const v of values)
      if (Number.isFinite(v)) {
        lo = Math.min(lo, v)
        hi = Math.max(hi, v)
      }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1]
  return lo === hi ? [lo - 1, hi + 1] : [lo, hi]
}

/** A value as the sparklines print it: short, finite or not. */
export const statText = (v: number | undefined) =>
  v === undefined
    ? '–'
    : !Number.isFinite(v)
      ? String(v)
      : Math.abs(v) >= 100
        ? v.toFixed(0)
        : v.toFixed(Math.abs(v) >= 10 ? 1 : 3)
