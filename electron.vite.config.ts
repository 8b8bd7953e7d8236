import { resolve } from 'node:path'

import { svelte } from '@sveltejs/vite-plugin-svelte'
import { defineConfig } from 'electron-vite'

// Our folders are src-main / src-preload / src-renderer, not electron-vite's default src/*: name each input.
export default defineConfig({
  main: {
    // Main is ESM (package.json "type": "module"), so dependencies stay external imports resolved from
    // node_modules at run time: electron-store (ESM-only) loads as it is, and onnxruntime-node must (a
    // native addon beside its shared libraries).
    // The engine runs in a worker thread of its own module (onnxruntime's session.run blocks its thread).
    build: {
      rollupOptions: {
        input: { index: resolve('src-main/index.ts'), 'engine-worker': resolve('src-main/service/engine-worker.ts') },
      },
    },
  },
  preload: {
    // Sandboxed preloads cannot load ESM: build CommonJS.
    build: {
      rollupOptions: {
        input: { index: resolve('src-preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src-renderer'),
    build: { rollupOptions: { input: resolve('src-renderer/index.html') } },
    plugins: [svelte()],
  },
})
