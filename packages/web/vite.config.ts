import { resolve } from 'node:path';
import { defaultClientConditions, defineConfig } from 'vite';

const root = import.meta.dirname;

/** Multi-page build: the app (index.html), the two-pane demo (duo.html) and the bare test page (harness.html). */
export default defineConfig({
  root,
  base: './',
  // The workspace packages (@imv/protocol, @imv/media) are bundled from their TypeScript sources.
  resolve: { conditions: ['imv-source', ...defaultClientConditions] },
  build: {
    outDir: resolve(root, 'dist'),
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        index: resolve(root, 'index.html'),
        duo: resolve(root, 'duo.html'),
        harness: resolve(root, 'harness.html'),
      },
    },
  },
  worker: { format: 'es' },
});
