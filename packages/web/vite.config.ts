import { resolve } from 'node:path';
import { defaultClientConditions, defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

const root = import.meta.dirname;

/**
 * Multi-page build: the app (index.html), the two-pane demo (duo.html) and the audio doctor
 * (doctor.html). The engine test page lives with the tests (test/harness/) and is built only for
 * them.
 */
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
        doctor: resolve(root, 'doctor.html'),
      },
    },
  },
  worker: { format: 'es' },
  define: {
    // Shown as <html data-build>; a test builds twice with different ids to check the update path.
    __IMV_BUILD__: JSON.stringify(process.env.IMV_BUILD_ID ?? 'dev'),
  },
  plugins: [
    // The service worker (src/pwa/sw.ts) precaches the app shell. The manifest stays our own
    // public/manifest.webmanifest, and the page registers the worker itself (src/pwa/register.ts).
    VitePWA({
      strategies: 'injectManifest',
      srcDir: 'src/pwa',
      filename: 'sw.ts',
      injectRegister: false,
      manifest: false,
      injectManifest: {
        globPatterns: [
          'index.html',
          'assets/**/*.{js,css,wasm}',
          'icons/*',
          'manifest.webmanifest',
        ],
        // The WASM codec (libopus) is the largest file; the app cannot talk offline without it anyway,
        // but it must be there when the server comes back behind a flaky network.
        maximumFileSizeToCacheInBytes: 4 * 1024 * 1024,
      },
    }),
  ],
});
