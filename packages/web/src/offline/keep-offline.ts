import type { VoiceMessage } from '@imv/protocol';
import type { MessageAudio } from '../messages/message-audio.js';
import type { VoiceClient } from '../voice-client-api.js';
import type { OfflineMessages } from './offline-messages.js';

export interface KeepOfflineParts {
  client: VoiceClient;
  offline: OfflineMessages;
  /** Downloads through this keep their body in `offline` (MessageAudio's second argument). */
  files: MessageAudio;
  /** Every message the page lists, any order. */
  listed(): readonly VoiceMessage[];
  /** Puts kept messages into the page's list (they may already be there). */
  restore(messages: VoiceMessage[]): void;
}

/**
 * Lists the room's kept messages at once (before the server answers, or when it never does), and
 * after each history or new message makes sure the newest `offline.keep` have their body kept:
 * downloading one keeps it (MessageAudio), one at a time so a long history does not flood the server.
 */
export function keepOffline(parts: KeepOfflineParts): void {
  const { client, offline, files } = parts;
  if (offline.keep === 0) return;
  void offline.list().then((kept) => {
    if (kept.length > 0) parts.restore(kept);
  });
  let queue = Promise.resolve();
  const keepNewest = () => {
    const newest = [...parts.listed()].sort((a, b) => b.id - a.id).slice(0, offline.keep);
    queue = queue.then(async () => {
      for (const message of newest) {
        if (await offline.has(message.id)) continue;
        await files.fetch(message).catch(() => undefined);
      }
    });
  };
  client.on('history', keepNewest);
  client.on('message-stored', keepNewest);
  client.on('message-deleted', ({ id }) => void offline.remove(id));
}
