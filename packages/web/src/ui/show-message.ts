/*
 * Opening the room at a message, as a tapped notification asks (src/pwa/notification-click.ts):
 * `?msg=ID` when the tap opened a new page, or a `imv-show-message` message to a page already open
 * (from the service worker, or from the page's own notification where there is no worker).
 */
import type { VoiceClient } from '../voice-client-api.js';
import type { MessageList } from './message-list.js';

interface ShowMessage {
  type: 'imv-show-message';
  messageId?: number;
}

function isShowMessage(data: unknown): data is ShowMessage {
  return (
    typeof data === 'object' && data !== null && (data as ShowMessage).type === 'imv-show-message'
  );
}

export function setUpShowMessage(list: MessageList, client: VoiceClient): void {
  const param = Number(new URLSearchParams(location.search).get('msg'));
  let pending = Number.isSafeInteger(param) && param > 0 ? param : undefined;
  const tryReveal = () => {
    if (pending === undefined || !list.reveal(pending)) return;
    pending = undefined;
    // A reload should not jump back to it.
    const params = new URLSearchParams(location.search);
    if (!params.has('msg')) return;
    params.delete('msg');
    history.replaceState(null, '', `?${params.toString()}${location.hash}`);
  };
  // The message is listed once the history (or the message itself) has arrived.
  client.on('history', tryReveal);
  client.on('message-stored', tryReveal);
  const onMessage = (event: MessageEvent) => {
    if (!isShowMessage(event.data) || event.data.messageId === undefined) return;
    pending = event.data.messageId;
    tryReveal();
  };
  navigator.serviceWorker?.addEventListener('message', onMessage);
  window.addEventListener('message', (event) => {
    if (event.origin === location.origin) onMessage(event);
  });
}
