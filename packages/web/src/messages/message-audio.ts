import type { VoiceMessage } from '@imv/protocol';

/** Ogg Opus files of recent messages, fetched once and shared by the waveform, the player and downloads. */
const MAX_CACHED_FILES = 24;

export interface MessageAudioSource {
  /** URL of the message's `.ogg` (plain) or `.frames` (end-to-end encrypted) on the server. */
  urlFor(message: VoiceMessage, kind: 'ogg' | 'frames'): string;
  /** Headers of every REST request: X-Imv-Room-Key in a keyed room. */
  headers(): Record<string, string>;
  /** Opens a `.frames` body into an Ogg Opus file (VoiceClient.decryptMessage). */
  decrypt(message: VoiceMessage, frames: Uint8Array): Promise<Uint8Array>;
}

/** A message whose audio this page cannot open (no passphrase, another passphrase). */
export class UndecryptableMessageError extends Error {
  override readonly name = 'UndecryptableMessageError';
}

/** Message bodies kept in the browser for offline use (src/offline/offline-messages.ts). */
export interface KeptBodies {
  get(message: VoiceMessage, kind: 'ogg' | 'frames'): Promise<Uint8Array | undefined>;
  put(message: VoiceMessage, kind: 'ogg' | 'frames', body: Uint8Array): Promise<void>;
}

export class MessageAudio {
  private readonly files = new Map<number, Promise<Blob>>();

  constructor(
    private readonly source: MessageAudioSource,
    private readonly kept?: KeptBodies,
  ) {}

  /**
   * The message as an Ogg Opus Blob, from the cache or the server: the `.ogg`, or for an end-to-end
   * encrypted message its `.frames` opened here. Rejects with a readable error.
   */
  fetch(message: VoiceMessage): Promise<Blob> {
    const id = message.id;
    const cached = this.files.get(id);
    if (cached) {
      // Re-insert to keep the map in least-recently-used order.
      this.files.delete(id);
      this.files.set(id, cached);
      return cached;
    }
    const file = message.encrypted
      ? this.decrypted(message)
      : this.download(message, 'ogg').then(
          (body) => new Blob([body as Uint8Array<ArrayBuffer>], { type: 'audio/ogg' }),
        );
    file.catch(() => this.files.delete(id));
    this.files.set(id, file);
    while (this.files.size > MAX_CACHED_FILES) {
      const oldest = this.files.keys().next().value;
      if (oldest === undefined) break;
      this.files.delete(oldest);
    }
    return file;
  }

  /** The body from the server, kept for offline use; the kept body when the server is unreachable. */
  private async download(message: VoiceMessage, kind: 'ogg' | 'frames'): Promise<Uint8Array> {
    let res: Response;
    try {
      res = await fetch(this.source.urlFor(message, kind), { headers: this.source.headers() });
    } catch (error) {
      const kept = await this.kept?.get(message, kind);
      if (kept) return kept;
      throw error;
    }
    if (!res.ok) throw new Error(`could not download message ${message.id}: HTTP ${res.status}`);
    const body = new Uint8Array(await res.arrayBuffer());
    void this.kept?.put(message, kind, body);
    return body;
  }

  private async decrypted(message: VoiceMessage): Promise<Blob> {
    const body = await this.download(message, 'frames');
    let ogg: Uint8Array;
    try {
      ogg = await this.source.decrypt(message, body);
    } catch (error) {
      throw new UndecryptableMessageError(error instanceof Error ? error.message : String(error));
    }
    return new Blob([ogg as Uint8Array<ArrayBuffer>], { type: 'audio/ogg' });
  }
}
