/*
 * The room page: builds the client and the page's parts (message list, player, people, talk
 * button, status), lays them out, then hands them to the sound unlock (sound-unlock.ts) and the
 * engine's events (room-events.ts) and connects.
 */
import type { VoiceMessage } from '@imv/protocol';
import { AutoPlay } from '../messages/auto-play.js';
import { HeardStore } from '../messages/heard-store.js';
import { MessageAudio, UndecryptableMessageError } from '../messages/message-audio.js';
import { MessageStore } from '../messages/message-store.js';
import { PeakCache } from '../messages/peak-cache.js';
import { MessagePlayer, PLAYBACK_RATES, type PlaybackRate } from '../messages/player.js';
import { WaveformLoader } from '../messages/waveform-loader.js';
import { keepOffline } from '../offline/keep-offline.js';
import { OfflineMessages, offlineMessageCount } from '../offline/offline-messages.js';
import { MicError, type VoiceClient, type VoiceClientOptions } from '../voice-client-api.js';
import { Announcer } from './announcer.js';
import { h, type Attrs } from './dom.js';
import { icon, type IconName } from './icons.js';
import { openInviteDialog } from './invite-dialog.js';
import { MessageList } from './message-list.js';
import { CANNOT_DECRYPT_TEXT } from './message-row.js';
import { describeMicProblem } from './mic-problem.js';
import { HeadsetControl } from './headset.js';
import { PeoplePanel } from './people.js';
import { setUpPhoneSettings } from './phone-settings.js';
import { playRogerBeep } from './roger-beep.js';
import { PAGE_SIZE, wireRoomEvents, type RoomState } from './room-events.js';
import {
  readPhonePrefs,
  readTalkKey,
  type FragmentSecrets,
  type PageSettings,
} from './settings.js';
import { setUpShowMessage } from './show-message.js';
import { setUpSoundUnlock } from './sound-unlock.js';
import { StatusArea } from './status-area.js';
import { TalkControl } from './talk-control.js';

export type CreateVoiceClient = (options: VoiceClientOptions) => VoiceClient;

export interface RoomPageOptions {
  root: HTMLElement;
  settings: PageSettings & { name: string };
  secrets: FragmentSecrets;
  createClient: CreateVoiceClient;
  /** "Change": the client is closed; show the join form with these values. */
  onChange: (current: { name: string; room: string; key: string | undefined }) => void;
}

export function runRoom({
  root,
  settings,
  secrets,
  createClient,
  onChange,
}: RoomPageOptions): void {
  const { room, name, clientId, storagePrefix } = settings;
  document.title = `#${room} · imv`;
  const state: RoomState = { roomKey: secrets.key, wantOlder: false };
  const client = createClient({
    serverUrl: location.origin,
    name,
    room,
    clientId,
    ...(state.roomKey !== undefined ? { roomKey: state.roomKey } : {}),
    ...(secrets.passphrase !== undefined ? { passphrase: secrets.passphrase } : {}),
    lowLatency: readPhonePrefs(localStorage, storagePrefix).lowLatency,
  });
  (window.imvClients ??= []).push(client);

  const roomUrl = (id: number, kind: 'ogg' | 'frames' = 'ogg') =>
    // client.serverUrl: after a failover the downloads come from the node the client moved to.
    `${client.serverUrl}/api/rooms/${encodeURIComponent(room)}/messages/${id}.${kind}`;
  const store = new MessageStore();
  const heard = new HeardStore(localStorage, storagePrefix, room);
  const offline = new OfflineMessages(
    room,
    offlineMessageCount(location.search, localStorage, storagePrefix),
    (text) => status.showNotice(text),
  );
  const files = new MessageAudio(
    {
      urlFor: (message, kind) => roomUrl(message.id, kind),
      // REST routes of a keyed room need the key as a header (docs/protocol.md "Room keys").
      headers: (): Record<string, string> =>
        state.roomKey !== undefined ? { 'X-Imv-Room-Key': state.roomKey } : {},
      decrypt: (message, frames) => client.decryptMessage(message, frames),
    },
    offline,
  );
  const player = new MessagePlayer(client.audio.context, client.audio.output, files);
  player.rate = readRate(storagePrefix);
  const waveforms = new WaveformLoader(files, new PeakCache(), `${location.host}/${room}/`);
  const announcer = new Announcer();
  const people = new PeoplePanel();
  const status = new StatusArea(location.host, () => void sound.enable());
  const phone = setUpPhoneSettings({
    room,
    storage: localStorage,
    prefix: storagePrefix,
    status,
    setLowLatency: (on) => client.setLowLatency(on),
  });

  const list = new MessageList({
    store,
    heard,
    player,
    waveforms,
    clientId,
    downloadUrl: (id) => roomUrl(id),
    localDownload: () => state.roomKey !== undefined,
    endToEnd: client.endToEnd,
    loadOlder: () => {
      state.wantOlder = true;
      client.loadHistory({ before: store.minId, limit: PAGE_SIZE });
    },
    actions: {
      toggle: (message) => {
        void sound.enable();
        if (player.currentId === message.id && player.playing) {
          autoPlay.userAction('pause');
          player.pause();
        } else {
          autoPlay.userAction('play');
          void player.play(message);
        }
      },
      seek: (message, fraction) => void player.seek(message, fraction),
      cycleRate: () => {
        const i = PLAYBACK_RATES.indexOf(player.rate);
        player.rate = PLAYBACK_RATES[(i + 1) % PLAYBACK_RATES.length] ?? 1;
        localStorage.setItem(`${storagePrefix}rate`, String(player.rate));
      },
      file: (message) => files.fetch(message),
    },
  });

  const autoPlay = new AutoPlay(player, store, heard, () => list.refresh(), client.endToEnd);
  keepOffline({
    client,
    offline,
    files,
    listed: () => store.all(),
    restore: (kept) => {
      if (store.upsert(kept).length === 0) return;
      list.render();
      autoPlay.poke();
    },
  });
  /** Encrypted messages are opened as soon as they are listed, so a wrong passphrase shows at once. */
  const checkDecryptable = (messages: readonly VoiceMessage[]) => {
    if (!client.endToEnd) return;
    for (const m of messages) {
      if (!m.encrypted) continue;
      files.fetch(m).catch((error: unknown) => {
        if (!(error instanceof UndecryptableMessageError)) return;
        list.markUndecryptable(m.id);
        autoPlay.skip(m.id);
        list.refresh();
        status.showProblem(CANNOT_DECRYPT_TEXT);
      });
    }
  };

  const talk: TalkControl = new TalkControl({
    keyTarget: window,
    talkKey: readTalkKey(location.search, localStorage, storagePrefix),
    onGesture: () => {
      void sound.enable();
      headset.keepActive();
    },
    onHandsFreeCue: (talking) =>
      playRogerBeep(client.audio.context, client.audio.output, talking ? 'start' : 'stop'),
    start: async () => {
      autoPlay.hold('talking');
      status.clearProblem();
      try {
        await client.startTalking();
      } catch (error) {
        autoPlay.release('talking');
        throw error;
      }
    },
    stop: async () => {
      try {
        await client.stopTalking();
      } finally {
        autoPlay.release('talking');
      }
    },
    onTalkingChange: (talking) => {
      announcer.say(talking ? 'Talking' : '');
      people.setSelfTalking(talking);
      headset.setSelfTalking(talking);
    },
    onError: (error) => {
      const text =
        error instanceof MicError
          ? describeMicProblem(error.problem, location.origin)
          : `Could not start talking: ${error instanceof Error ? error.message : String(error)}`;
      status.showProblem(text, { audio: error instanceof MicError });
    },
  });

  // A headset's play/pause button toggles hands-free talk (Media Session, where the browser has it).
  const headset = new HeadsetControl(room, name, client, () => talk.toggleHandsFree());

  // ---- layout ----------------------------------------------------------------------------------
  const invite = () =>
    openInviteDialog({
      room,
      secrets: { key: state.roomKey, passphrase: secrets.passphrase },
      onCopied: () => announcer.say('Invite link copied'),
    });
  const changeRoom = () => {
    phone.stop();
    client.close();
    onChange({ name, room, key: state.roomKey });
  };
  const header = settings.embed
    ? h(
        'header',
        { class: 'top compact' },
        h('p', { class: 'where' }, h('strong', { text: name }), ` in #${room}`),
      )
    : h(
        'header',
        { class: 'top' },
        h('h1', { class: 'brand', text: 'imv' }),
        // The room name may wrap but is never cut off: on a phone the buttons are icons only.
        h(
          'p',
          { class: 'where' },
          h('strong', { class: 'room-name', text: `#${room}` }),
          h('span', { class: 'as-name', text: ` as ${name}` }),
        ),
        headerButton('sliders', 'Settings', {
          'aria-label': 'Settings',
          'aria-haspopup': 'dialog',
          onclick: () => void phone.open(),
        }),
        headerButton('link', 'Invite', {
          'aria-label': `Invite others to #${room}`,
          'aria-haspopup': 'dialog',
          onclick: () => void invite(),
        }),
        headerButton('edit', 'Change', {
          'aria-label': 'Change name or room',
          onclick: () => changeRoom(),
        }),
      );
  const content = h('main', { class: 'content' }, people.element, list.element);
  root.replaceChildren(
    h('div', { class: 'app' }, header, status.element, content, talk.element, announcer.element),
  );
  document.body.append(player.element);

  const sound = setUpSoundUnlock(client, status, () => autoPlay);
  wireRoomEvents({
    room,
    clientId,
    embed: settings.embed,
    secrets,
    state,
    client,
    store,
    heard,
    player,
    list,
    autoPlay,
    people,
    announcer,
    status,
    talk,
    sound,
    content,
    checkDecryptable,
  });
  sound.update();

  if (!window.isSecureContext) {
    // Without a secure context there is no microphone and no AudioWorklet: say so before anything fails.
    status.showProblem(describeMicProblem('insecure-context', location.origin), { audio: true });
  }
  client.connect().catch((error: unknown) => {
    if (!window.isSecureContext) return; // already explained
    if (client.state === 'reconnecting') return; // the connection banner says so and it retries
    status.showProblem(
      `Cannot reach the server at ${location.host}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  // The duo view is a desk demo with two panes: no screen lock to hold there.
  if (!settings.embed) phone.start(client, clientId);
  setUpShowMessage(list, client);
  announcer.say(`Joined #${room} as ${name}`);
}

/** An icon button of the header; its text shows only on wide screens, the aria-label always names it. */
function headerButton(name: IconName, text: string, attrs: Attrs): HTMLButtonElement {
  return h(
    'button',
    { class: 'ghost', type: 'button', title: attrs['aria-label'] as string, ...attrs },
    icon(name),
    h('span', { class: 'ghost-text', 'aria-hidden': 'true', text }),
  );
}

function readRate(prefix: string): PlaybackRate {
  const saved = Number(localStorage.getItem(`${prefix}rate`));
  return PLAYBACK_RATES.find((r) => r === saved) ?? 1;
}
