import { FRAME_MS, OPUS_PRE_SKIP, frameSamplesOf } from '@imv/protocol';
import type { FrameMs } from '@imv/protocol';
import { MediaError, opusPacketIsStereo, opusPacketSamples, readAudioFile } from '@imv/media';
import type { AudioFile } from '@imv/media';
import { OpusFrameEncoder, decodeOggOpus } from '@imv/media/node';
import { CliError } from '../cli-error.js';

/** Opus packets ready to send, from a file's bytes. */
export interface PreparedAudio {
  /** Mono Opus packets of one frame duration (20 or 10 ms), in order; the last one carries END on the wire. */
  packets: Uint8Array[];
  /** Encoded from PCM, forwarded from an Ogg Opus file unchanged, or re-encoded from an Ogg Opus file. */
  source: 'encoded' | 'forwarded' | 're-encoded';
  /** Non-fatal problems (e.g. a truncated WAV) to show on stderr. */
  warnings: string[];
}

/**
 * Ogg Opus packets can go on the wire untouched only if they are what imv streams are: mono, all of
 * the talk's frame duration, with the libopus pre-skip the server writes into every stored file's
 * OpusHead (RFC 7845 §5.1).
 */
function canForward(file: Extract<AudioFile, { kind: 'opus' }>, frameMs: FrameMs): boolean {
  const frameSamples = frameSamplesOf(frameMs);
  return (
    file.preSkip === OPUS_PRE_SKIP &&
    file.packets.every((p) => opusPacketSamples(p) === frameSamples && !opusPacketIsStereo(p))
  );
}

/**
 * Reads WAV or Ogg Opus bytes into mono Opus packets of `frameMs`. Throws CliError "cannot read <label>: …"
 * for anything that cannot be sent, so nothing goes out for a bad file.
 */
export async function prepareAudio(
  bytes: Uint8Array,
  label: string,
  frameMs: FrameMs = FRAME_MS,
): Promise<PreparedAudio> {
  if (bytes.length === 0) throw new CliError(`cannot read ${label}: the file is empty`);
  let file: AudioFile;
  try {
    file = await readAudioFile(bytes);
  } catch (error) {
    if (error instanceof MediaError)
      throw new CliError(`cannot read ${label}: ${error.message}`, undefined, { cause: error });
    throw error;
  }

  let packets: Uint8Array[];
  let source: PreparedAudio['source'];
  try {
    if (file.kind === 'pcm') {
      if (file.samples48k.length === 0)
        throw new CliError(`cannot read ${label}: it holds no audio samples`);
      packets = new OpusFrameEncoder({ frameMs }).encode(file.samples48k);
      source = 'encoded';
    } else if (canForward(file, frameMs)) {
      packets = file.packets;
      source = 'forwarded';
    } else {
      const pcm = decodeOggOpus(bytes);
      if (pcm.length === 0) throw new CliError(`cannot read ${label}: it holds no audio samples`);
      packets = new OpusFrameEncoder({ frameMs }).encode(pcm);
      source = 're-encoded';
    }
  } catch (error) {
    if (error instanceof MediaError)
      throw new CliError(`cannot read ${label}: ${error.message}`, undefined, { cause: error });
    throw error;
  }
  if (packets.length === 0) throw new CliError(`cannot read ${label}: it holds no audio packets`);
  return { packets, source, warnings: file.warnings };
}
