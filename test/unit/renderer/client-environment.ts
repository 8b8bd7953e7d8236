/**
 * A vitest environment for the renderer's rune modules: plain Node globals, but modules transformed for
 * Vite's client environment, so vite-plugin-svelte compiles `.svelte.ts` for the browser (real `$state`,
 * `$derived` and `$effect`, not the server's one-shot values) and `svelte` resolves to its browser entry
 * (a working `flushSync`). No DOM: the state modules need none, and no jsdom or happy-dom is installed.
 */
import type { Environment } from 'vitest/environments'

export default {
  name: 'svelte-client',
  viteEnvironment: 'client',
  setup: () => ({ teardown: () => {} }),
} satisfies Environment
