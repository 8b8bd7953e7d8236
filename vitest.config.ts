import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defaultClientConditions } from 'vite'
import { defineConfig } from 'vitest/config'

/** Tests of the renderer's rune modules (`*.svelte.ts`) are `*.svelte.test.ts`: they need the Svelte compiler. */
const SVELTE_TESTS = 'test/**/*.svelte.test.ts'
/**
 * Tests that print timings (the app against the CLI): they run alone, after every other test file, so the
 * numbers they print measure Stepwise and not the other test files sharing the machine's cores.
 */
const TIMED_TESTS = ['test/e2e/speed.test.ts']

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // onnxruntime-node is a native addon: forks keep each test file in its own process.
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: [SVELTE_TESTS, ...TIMED_TESTS],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        // Only this project compiles Svelte: the Node-side tests keep a plain Vite.
        plugins: [svelte({ configFile: false })],
        // The page's conditions: `svelte` is its client runtime (Node's would load the server one, whose
        // flushSync does nothing), esm-env's DEV matches the dev compile.
        resolve: { conditions: [...defaultClientConditions] },
        test: {
          name: 'svelte',
          include: [SVELTE_TESTS],
          // Node globals, modules transformed as for the page (see the file).
          environment: './test/unit/renderer/client-environment.ts',
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: 'timed', include: TIMED_TESTS, sequence: { groupOrder: 1 } },
      },
    ],
  },
})
