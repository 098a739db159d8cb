import type { MicProblem } from '../voice-client-api.js';

/** What went wrong with the microphone and how to fix it, in words a user can act on. */
export function describeMicProblem(problem: MicProblem, origin: string): string {
  switch (problem) {
    case 'insecure-context':
      return `This page must be opened over HTTPS or on localhost to use the microphone. It was opened at ${origin}, which the browser does not treat as secure. Open the https:// address imv printed when it started.`;
    case 'denied':
      return 'Microphone access is blocked. Allow the microphone for this site (the icon at the left of the address bar, or the browser’s site settings), then press the talk button again.';
    case 'not-found':
      return 'No microphone was found. Connect one or enable it in your system settings, then press the talk button again.';
    case 'busy':
      return 'The microphone is in use by another app or tab. Close that app, then press the talk button again.';
    case 'unsupported':
      return 'This browser cannot record voice messages here: it lacks AudioWorklet or an Opus encoder. Use a recent Chrome, Edge, Firefox or Safari.';
  }
}
