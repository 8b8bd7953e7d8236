/**
 * Effects as a mounted component has them: `$effect.root` around `$effect`s. Loaded by loadRenderer
 * after vi.resetModules, so it shares the Svelte runtime of the state modules it watches (a runtime
 * imported before the reset would be another instance, blind to their state).
 */
export function mount(...effects: (() => void | (() => void))[]): () => void {
  return $effect.root(() => {
    for (const effect of effects) $effect(effect)
  })
}
