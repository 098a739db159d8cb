import { Workbox } from 'workbox-window';

/** How often a page that stays open asks the server for a new build (the browser also checks on load). */
const UPDATE_CHECK_MS = 30 * 60 * 1000;

export interface ServiceWorkerOptions {
  /** True while reloading would cut something short (talking, a message playing): the reload waits. */
  busy(): boolean;
}

/**
 * Registers /sw.js (src/pwa/sw.ts). When a new build takes over, the page reloads itself once it is
 * idle, so it never runs old scripts against a new server. No service worker without a secure
 * context (plain http on a LAN address): the app then simply needs the server to load.
 */
export function registerServiceWorker(options: ServiceWorkerOptions): void {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  const wb = new Workbox('./sw.js', { scope: './' });
  wb.addEventListener('controlling', (event) => {
    if (!event.isUpdate) return; // the first install: this page is already the current build
    const reloadWhenIdle = () => {
      if (options.busy()) setTimeout(reloadWhenIdle, 1000);
      else location.reload();
    };
    reloadWhenIdle();
  });
  wb.register().then(
    () => setInterval(() => void wb.update().catch(() => undefined), UPDATE_CHECK_MS),
    (error: unknown) => console.warn('imv: service worker not registered', error),
  );
}
