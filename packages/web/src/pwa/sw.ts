/*
 * The service worker (built by vite-plugin-pwa's injectManifest strategy into /sw.js). It keeps the
 * app shell (index.html, scripts, worklets, the WASM codec, icons) so the installed app opens with no
 * server reachable; voice messages are kept by the page itself (src/offline/offline-messages.ts).
 * A new build has a new precache manifest: it installs, takes over at once (skipWaiting +
 * clientsClaim) and the page reloads itself (src/pwa/register.ts), so no old shell lingers.
 */
/// <reference lib="webworker" />
import { clientsClaim } from 'workbox-core';
import {
  cleanupOutdatedCaches,
  createHandlerBoundToURL,
  precacheAndRoute,
  type PrecacheEntry,
} from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { openFromNotification } from './notification-click.js';

declare const self: ServiceWorkerGlobalScope & { __WB_MANIFEST: (string | PrecacheEntry)[] };

void self.skipWaiting();
clientsClaim();
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

// Page loads of the app (`/`, `/?room=crew`, `/index.html?…`) get the cached shell; every other
// navigation (/duo, /api/…, the CA download, the onboarding page) goes to the server as usual.
registerRoute(
  new NavigationRoute(createHandlerBoundToURL('index.html'), {
    allowlist: [/^\/(index\.html)?(\?.*)?$/],
  }),
);

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openFromNotification(self, event.notification.data));
});
