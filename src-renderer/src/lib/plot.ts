/**
 * The schedule plot's geometry: three curves over t on one normalized axis (each labelled with its own
 * range), and where the sampling timesteps fall. Pure functions of the schedule tables.
 */
import type { ScheduleTables } from '../../../src-preload/contract'

export interface Curve {
  name: string
  label: string
  color: string
  path: string
  min: number
  max: number
}

/** Keeps log-SNR finite where alpha-bar reaches 0 or 1 (the cosine schedule's last step, zero terminal SNR). */
const EPS = 1e-12
export const logSnr = (alphaBar: number) => {
  const a = Math.min(1 - EPS, Math.max(EPS, alphaBar))
  return Math.log(a / (1 - a))
}

/** An SVG path through the values, x = t, y normalized to [min, max] and flipped (up is larger). */
function pathOf(values: ArrayLike<number>, width: number, height: number, min: number, max: number): string {
  const n = values.length
  const span = max - min || 1
  // One point a pixel column is plenty; 1000 steps on a 600-px plot need no more.
  const every = Math.max(1, Math.floor(n / width))
  const points: string[] = []
  for (let i = 0; i < n; i += every)
    points.push(
      `${((i / Math.max(1, n - 1)) * width).toFixed(1)},${(height - ((values[i] - min) / span) * height).toFixed(1)}`,
    )
  if ((n - 1) % every !== 0) points.push(`${width},${(height - ((values[n - 1] - min) / span) * height).toFixed(1)}`)
  return `M${points.join('L')}`
}

const range = (values: number[]) =>
  values.reduce(([lo, hi], v) => [Math.min(lo, v), Math.max(hi, v)], [Infinity, -Infinity])

export function curvesOf(tables: ScheduleTables, width: number, height: number): Curve[] {
  const snr = tables.alphasCumprod.map(logSnr)
  const [bLo, bHi] = range(tables.betas)
  const [sLo, sHi] = range(snr)
  return [
    {
      name: 'beta',
      label: 'β_t',
      color: 'var(--plot-beta)',
      path: pathOf(tables.betas, width, height, 0, bHi),
      min: bLo,
      max: bHi,
    },
    {
      name: 'alpha-bar',
      label: 'ᾱ_t',
      color: 'var(--plot-alphabar)',
      path: pathOf(tables.alphasCumprod, width, height, 0, 1),
      min: 0,
      max: 1,
    },
    {
      name: 'log-snr',
      label: 'log-SNR',
      color: 'var(--plot-snr)',
      path: pathOf(snr, width, height, sLo, sHi),
      min: sLo,
      max: sHi,
    },
  ]
}

/** x of timestep t on a plot of `trainSteps` steps. */
export const xOf = (t: number, trainSteps: number, width: number) => (t / Math.max(1, trainSteps - 1)) * width

/**
 * The sampling timesteps as ticks from y0 to y1: one SVG path (a run of 1000 steps is 1000 ticks, and 1000
 * elements cost the page a long task to create), a tick a distinct x.
 */
export function ticksPath(timesteps: ArrayLike<number>, trainSteps: number, width: number, y0: number, y1: number) {
  const xs = new Set<string>()
  for (let i = 0; i < timesteps.length; i++) xs.add(xOf(timesteps[i], trainSteps, width).toFixed(1))
  return [...xs].map((x) => `M${x} ${y0}V${y1}`).join('')
}

export const fmt = (v: number) =>
  Math.abs(v) >= 100 || v === 0 ? v.toFixed(0) : Math.abs(v) >= 0.01 ? v.toFixed(2) : v.toExponential(1)
