/**
 * Several runs started together (the compare view's variants, the grid's classes): each started as one
 * group (the history shows it as one entry) and followed by its run id; failures to start shown as toasts;
 * all cancelled at once.
 */
import type { RunGroup, SampleStarted, SampleStartRequest } from '../../../src-preload/contract'
import { api } from './api'
import { history } from './history.svelte'
import { toasts } from './toasts.svelte'

/** Start every request in one new group of `kind`; the runs that started, with the index of their request. */
export async function startRuns(
  requests: SampleStartRequest[],
  kind: RunGroup['kind'],
): Promise<{ index: number; started: SampleStarted }[]> {
  const group: RunGroup = { id: `${kind}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`, kind }
  const results = await Promise.all(requests.map((req) => api.invoke('sample.start', { ...req, group })))
  return results.flatMap((r, index) => {
    if (!r.ok) {
      toasts.error(r.error)
      return []
    }
    history.started(r.value, group)
    return [{ index, started: r.value }]
  })
}

/** `list` with the entry of this run changed (the same list when none is). */
export function updateRun<T extends { runId: string }>(list: T[], runId: string, change: (r: T) => T): T[] {
  return list.some((r) => r.runId === runId) ? list.map((r) => (r.runId === runId ? change(r) : r)) : list
}

/** Cancel those still running. */
export async function cancelRuns(runs: { runId: string; status: string }[]): Promise<void> {
  await Promise.all(
    runs.filter((r) => r.status === 'running').map((r) => api.invoke('sample.cancel', { runId: r.runId })),
  )
}
