/**
 * A network whose time input is not a timestep (lucidrains' continuous-time models take log SNR) behind a
 * virtual schedule: the graph's timestep t indexes a table of the network's own time values, one per training
 * timestep, read between entries by linear interpolation. The table being log SNR, that is where diffusers'
 * samplers put a fractional timestep (they interpolate log sigma, -log SNR / 2, linearly between timesteps):
 * the network sees the noise level the sampler assumes, at every t.
 */
import type { GraphBuilder } from './builder'

/** The interpolated table value at `timestep` ([B] float), clamped to the table's ends. */
export function tableLookup(g: GraphBuilder, table: ArrayLike<number>, timestep: string): string {
  const scope = 'time_table'
  const last = table.length - 1
  const values = g.floats(table)
  const t = g.op(scope, 'Clip', [timestep, g.floats([0], []), g.floats([last], [])])
  const below = g.op(scope, 'Floor', [t])
  const i0 = g.op(scope, 'Cast', [below], { to: 7 }) // int64
  const i1 = g.op(scope, 'Min', [g.op(scope, 'Add', [i0, g.ints([1])]), g.ints([last])])
  const v0 = g.op(scope, 'Gather', [values, i0], { axis: 0 })
  const v1 = g.op(scope, 'Gather', [values, i1], { axis: 0 })
  const w = g.op(scope, 'Sub', [t, below])
  return g.op(scope, 'Add', [v0, g.op(scope, 'Mul', [w, g.op(scope, 'Sub', [v1, v0])])])
}
