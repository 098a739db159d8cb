import { MicError } from '../../voice-client-api.js';

export interface MicrophoneOptions {
  /**
   * Browser echo cancellation, noise suppression and automatic gain control. On for real users
   * (speakers + mic in one room); tests turn them off, because they reshape the signal (with them on,
   * the fake mic correlates only ~0.5 with its source, see NOTES.md).
   */
  processing: boolean;
}

/** Opens the microphone, turning each failure into a MicError whose problem says how to fix it. */
export async function openMicrophone(options: MicrophoneOptions): Promise<MediaStream> {
  if (!window.isSecureContext || navigator.mediaDevices?.getUserMedia === undefined) {
    throw new MicError(
      'insecure-context',
      'the microphone needs a secure page: open imv over https:// (or on localhost)',
    );
  }
  const p = options.processing;
  try {
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: p, noiseSuppression: p, autoGainControl: p, channelCount: 1 },
    });
  } catch (e) {
    throw micErrorFrom(e);
  }
}

/** Maps getUserMedia's DOMException names (Media Capture and Streams §9.2) to a MicProblem. */
export function micErrorFrom(error: unknown): MicError {
  const name = error instanceof DOMException || error instanceof Error ? error.name : '';
  const detail = error instanceof Error ? error.message : String(error);
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
      return new MicError(
        'denied',
        `microphone access was refused (${detail}); allow it in the browser's site settings`,
      );
    case 'NotFoundError':
    case 'OverconstrainedError':
      return new MicError('not-found', `no microphone was found (${detail})`);
    case 'NotReadableError':
    case 'AbortError':
      return new MicError(
        'busy',
        `the microphone is in use by another application or failed to start (${detail})`,
      );
    default:
      return new MicError(
        'unsupported',
        `the microphone could not be opened: ${name || 'Error'}: ${detail}`,
      );
  }
}
