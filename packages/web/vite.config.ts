import { resolve } from 'node:path';
import { defineConfig } from 'vite';

const root = import.meta.dirname;

/**
 * Multi-page build: the app (index.html) and the two-pane demo (duo.html). The engine test page
 * lives with the tests (test/harness/) and is built only for them.
 */
export default defineConfig({
  root,
  base: './',
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        index: resolve(root, 'index.html'),
        duo: resolve(root, 'duo.html'),
      },
    },
  },
  worker: { format: 'es' },
});
