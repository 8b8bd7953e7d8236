import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'electron-vite'

/**
 * A path from this file's folder, not the working directory: the browser host builds the renderer from
 * wherever `stepwise serve` was started (electron-vite gives the config its own import.meta.url).
 */
const at = (path: string) => resolve(dirname(fileURLToPath(import.meta.url)), path)

// Our folders are src-main / src-preload / src-renderer, not electron-vite's default src/*: name each input.
export default defineConfig({
  main: {
    // Main is ESM (package.json "type": "module"), so dependencies stay external imports resolved from
    // node_modules at run time: electron-store (ESM-only) loads as it is, and onnxruntime-node must (a
    // native addon beside its shared libraries).
    // The engine runs in a worker thread of its own module (onnxruntime's session.run blocks its thread).
    build: {
      rollupOptions: {
        input: { index: at('src-main/index.ts'), 'engine-worker': at('src-main/service/engine-worker.ts') },
      },
    },
  },
  preload: {
    // Sandboxed preloads cannot load ESM: build CommonJS.
    build: {
      rollupOptions: {
        input: { index: at('src-preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: at('src-renderer'),
    build: { rollupOptions: { input: at('src-renderer/index.html') } },
    plugins: [svelte()],
  },
})
