/**
 * The taskbar / dock progress (no security-checklist item): what BrowserWindow.setProgressBar shows
 * while runs are in flight.
 */

/** The mean fraction of the runs in flight (a compare or grid runs several), or -1 (no bar) when none runs. */
export function taskbarProgress(runs: ReadonlyMap<string, number>): number {
  if (runs.size === 0) return -1
  let sum = 0
  for (const fraction of runs.values()) sum += fraction
  return sum / runs.size
}
