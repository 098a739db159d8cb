import type { VoiceMessage } from '@imv/protocol';

/** The room's voice messages by id, oldest first; history pages and live arrivals merge in. */
export class MessageStore {
  private readonly byId = new Map<number, VoiceMessage>();
  private sortedCache: VoiceMessage[] | undefined;

  /** Adds or updates messages; returns the ones not seen before. Messages still recording are skipped. */
  upsert(messages: readonly VoiceMessage[]): VoiceMessage[] {
    const added: VoiceMessage[] = [];
    for (const message of messages) {
      if (message.status === 'recording') continue;
      if (!this.byId.has(message.id)) added.push(message);
      this.byId.set(message.id, message);
      this.sortedCache = undefined;
    }
    return added;
  }

  /** Forgets a message (an admin deleted it); true when it was here. */
  remove(id: number): boolean {
    this.sortedCache = undefined;
    return this.byId.delete(id);
  }

  get(id: number): VoiceMessage | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Oldest first. */
  all(): VoiceMessage[] {
    this.sortedCache ??= [...this.byId.values()].sort((a, b) => a.id - b.id);
    return this.sortedCache;
  }

  get maxId(): number {
    const list = this.all();
    return list[list.length - 1]?.id ?? 0;
  }

  get minId(): number {
    return this.all()[0]?.id ?? 0;
  }
}

/**
 * The next message auto-play should start: the oldest one not yet heard, so missed messages
 * play in the order they were said. `skip` holds ids that failed to play this session; end-to-end
 * encrypted messages cannot be played from their .ogg and are left out.
 */
export function nextUnheard(
  messages: readonly VoiceMessage[],
  isHeard: (id: number) => boolean,
  skip: ReadonlySet<number> = new Set(),
  playEncrypted = false,
): VoiceMessage | undefined {
  return messages.find(
    (m) => !isHeard(m.id) && !skip.has(m.id) && m.frameCount > 0 && (playEncrypted || !m.encrypted),
  );
}

/**
 * Which messages of a first visit count as new: those from the last `windowMs`, so opening an
 * invite shows what was just said as unheard without replaying a whole day of chatter.
 */
export function oldOnFirstVisit(
  messages: readonly VoiceMessage[],
  nowMs: number,
  windowMs: number,
): number[] {
  return messages.filter((m) => nowMs - m.startedAt > windowMs).map((m) => m.id);
}
