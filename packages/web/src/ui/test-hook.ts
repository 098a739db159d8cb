import type { VoiceClient } from '../voice-client-api.js';

/*
 * Test hook: `window.imvClients` lists every VoiceClient the page created (the duo page lists the
 * clients of both panes, left first). Browser tests tap `imvClients[i].audio.output` to record what a
 * page played, and read `.state`/`.talking`. Not an API for anything else.
 */
declare global {
  interface Window {
    imvClients?: VoiceClient[];
  }
}

export type ImvClients = VoiceClient[];
