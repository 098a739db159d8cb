/// <reference lib="webworker" />
import type { NotificationTarget } from './notification-target.js';

function isTarget(data: unknown): data is NotificationTarget {
  return (
    typeof data === 'object' &&
    data !== null &&
    typeof (data as NotificationTarget).url === 'string'
  );
}

/**
 * Tapping a notification: focus an open page of that room and tell it which message to show, or
 * open the room's page with `&msg=ID` when none is open.
 */
export async function openFromNotification(
  scope: ServiceWorkerGlobalScope,
  data: unknown,
): Promise<void> {
  if (!isTarget(data)) return;
  const target = new URL(data.url, scope.registration.scope);
  if (target.origin !== scope.location.origin) return;
  const pages = await scope.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const page of pages) {
    const url = new URL(page.url);
    if (url.searchParams.get('room') !== data.room) continue;
    const focused = await page.focus();
    focused.postMessage({ type: 'imv-show-message', messageId: data.messageId });
    return;
  }
  // The query, not the fragment: the fragment carries the room key or passphrase.
  if (data.messageId !== undefined) target.searchParams.set('msg', String(data.messageId));
  await scope.clients.openWindow(target.href);
}
