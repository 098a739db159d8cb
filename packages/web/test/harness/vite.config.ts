import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

/**
 * The engine test page (harness.html), built on its own for tests and the latency bench
 * (test/browser/helpers.ts buildWeb puts it beside the app's build). The production build
 * (../../vite.config.ts) never contains it.
 */
export default defineConfig({
  root,
  base: './',
  build: {
    target: 'es2022',
    rollupOptions: { input: { harness: resolve(root, 'harness.html') } },
  },
  worker: { format: 'es' },
});
