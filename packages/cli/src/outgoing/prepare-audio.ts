/** Opus packets ready to send, from a file's bytes. Filled in when @imv/media's readAudioFile lands. */
export interface PreparedAudio {
  /** 20 ms Opus packets, in order. */
  packets: Uint8Array[];
  /** Where the packets came from: encoded from PCM, or forwarded from an Ogg Opus file unchanged. */
  source: 'encoded' | 'forwarded';
  /** Non-fatal problems (e.g. a truncated WAV) to show on stderr. */
  warnings: string[];
}

export function prepareAudio(_bytes: Uint8Array, _label: string): PreparedAudio {
  throw new Error('not yet');
}
