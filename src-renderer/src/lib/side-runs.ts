/**
 * Several runs started together (the compare view's variants, the grid's classes): each started, kept in
 * the history and followed by its run id; failures to start shown as toasts; all cancelled at once.
 */
import type { SampleStarted, SampleStartRequest } from '../../../src-preload/contract'
import { api } from './api'
import { history, type RunKind } from './history.svelte'
import { toasts } from './toasts.svelte'

/** Start every request; the runs that started, with the index of their request. */
export async function startRuns(
  requests: SampleStartRequest[],
  kind: RunKind,
): Promise<{ index: number; started: SampleStarted }[]> {
  const results = await Promise.all(requests.map((req) => api.invoke('sample.start', req)))
  return results.flatMap((r, index) => {
    if (!r.ok) {
      toasts.error(r.error)
      return []
    }
    history.started(r.value, kind)
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
