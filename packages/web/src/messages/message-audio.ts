/** Ogg Opus files of recent messages, fetched once and shared by the waveform and the player. */
const MAX_CACHED_FILES = 24;

export class MessageAudio {
  private readonly files = new Map<number, Promise<Blob>>();

  constructor(private readonly urlFor: (id: number) => string) {}

  /** The message's .ogg, from the cache or the server. Rejects with a readable error. */
  fetch(id: number): Promise<Blob> {
    const cached = this.files.get(id);
    if (cached) {
      // Re-insert to keep the map in least-recently-used order.
      this.files.delete(id);
      this.files.set(id, cached);
      return cached;
    }
    const file = fetch(this.urlFor(id)).then(async (res) => {
      if (!res.ok) throw new Error(`could not download message ${id}: HTTP ${res.status}`);
      return res.blob();
    });
    file.catch(() => this.files.delete(id));
    this.files.set(id, file);
    while (this.files.size > MAX_CACHED_FILES) {
      const oldest = this.files.keys().next().value;
      if (oldest === undefined) break;
      this.files.delete(oldest);
    }
    return file;
  }
}
