import './styles/duo.css';
import { normalizeRoom } from '@imv/protocol';
import { h } from './ui/dom.js';
import { cleanName } from './ui/settings.js';
import type { VoiceClient } from './voice-client-api.js';

/*
 * The duo view: two complete clients side by side, so one person can try both ends on one machine.
 * Each side is an iframe of the normal page in embed mode, so each has its own VoiceClient,
 * AudioContext, WebSocket and storage slot, exactly like two separate devices.
 */

const params = new URLSearchParams(location.search);
const room = normalizeRoom(params.get('room') ?? '') ?? 'duo';
const sides = [
  { slot: 'left', name: cleanName(params.get('left') ?? '') ?? 'Alice' },
  { slot: 'right', name: cleanName(params.get('right') ?? '') ?? 'Bob' },
];

const frames = sides.map(({ slot, name }) => {
  const src = new URL('./', location.href);
  const paneParams = new URLSearchParams({ room, name, embed: '1', slot });
  if (params.get('mic') === 'raw') paneParams.set('mic', 'raw'); // passed on, see main.ts
  src.search = paneParams.toString();
  return h('iframe', {
    class: `pane pane-${slot}`,
    src: src.toString(),
    title: `${name}'s client in #${room}`,
    allow: 'microphone; autoplay',
    'data-slot': slot,
  });
});

const appUrl = new URL('./', location.href);
appUrl.search = `?room=${room}`;
const root = document.getElementById('duo');
if (!root) throw new Error('duo.html must have an element with id="duo"');
root.replaceChildren(
  h(
    'header',
    { class: 'duo-top' },
    h('h1', {}, 'imv duo ', h('span', { class: 'duo-room', text: `#${room}` })),
    h('p', {
      text: 'Two clients, each with its own connection and audio. Hold the talk button on one side; the other side hears you.',
    }),
    h('a', { href: appUrl.toString(), text: 'Open the normal app' }),
  ),
  h('main', { class: 'duo-panes' }, ...frames),
);

/** Test hook: the clients of both panes, left first (each pane also has its own window.imvClients). */
Object.defineProperty(window, 'imvClients', {
  configurable: true,
  get: (): VoiceClient[] =>
    frames.flatMap((frame) => {
      return frame.contentWindow?.imvClients ?? [];
    }),
});
