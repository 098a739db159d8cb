import type { VoiceMessage } from '@imv/protocol';
import { AutoPlay } from '../messages/auto-play.js';
import { FIRST_VISIT_UNHEARD_MS, HeardStore } from '../messages/heard-store.js';
import { MessageAudio, UndecryptableMessageError } from '../messages/message-audio.js';
import { CANNOT_DECRYPT_TEXT } from '../messages/message-row.js';
import { MessageList } from '../messages/message-list.js';
import { MessageStore, oldOnFirstVisit } from '../messages/message-store.js';
import { PeakCache } from '../messages/peak-cache.js';
import { MessagePlayer, PLAYBACK_RATES, type PlaybackRate } from '../messages/player.js';
import { WaveformLoader } from '../messages/waveform-loader.js';
import { keepOffline } from '../offline/keep-offline.js';
import { OfflineMessages, offlineMessageCount } from '../offline/offline-messages.js';
import {
  MicError,
  type ConnectionState,
  type VoiceClient,
  type VoiceClientOptions,
} from '../voice-client-api.js';
import { Announcer } from './announcer.js';
import { h } from './dom.js';
import { speakDuration } from './format.js';
import { icon } from './icons.js';
import { joinForm } from './join-form.js';
import { describeMicProblem } from './mic-problem.js';
import { PeoplePanel } from './people.js';
import { openInviteDialog } from './invite-dialog.js';
import { showKeyPrompt } from './key-prompt.js';
import {
  fragmentFor,
  readFragment,
  readSettings,
  saveChoice,
  type FragmentSecrets,
  type PageSettings,
} from './settings.js';
import { StatusArea } from './status-area.js';
import { TalkControl } from './talk-control.js';

/** Messages loaded when a room opens and per "Show older messages". */
const PAGE_SIZE = 50;

export type CreateVoiceClient = (options: VoiceClientOptions) => VoiceClient;

/** Entry point of index.html: the join form on a first visit, then the room. */
export function startApp(root: HTMLElement, createClient: CreateVoiceClient): void {
  const settings = readSettings(location.search, localStorage, newClientId);
  const secrets = readFragment(location.hash);
  document.documentElement.classList.toggle('embed', settings.embed);
  if (!settings.name) {
    root.replaceChildren(
      joinForm({ name: undefined, room: settings.room, ...secrets }, (name, room, chosen) => {
        saveChoice(localStorage, settings.storagePrefix, name, room);
        openRoomPage(room, chosen);
      }),
    );
    return;
  }
  if (!settings.embed) {
    saveChoice(localStorage, settings.storagePrefix, settings.name, settings.room);
    if (!settings.roomFromUrl)
      history.replaceState(null, '', `?room=${settings.room}${location.hash}`);
  }
  runRoom(root, settings as PageSettings & { name: string }, secrets, createClient);
}

/**
 * Loads the room page; the key and passphrase ride in the fragment, which never reaches the
 * server (no query string, no Referer). A reload is needed even when only the fragment changed.
 */
function openRoomPage(room: string, secrets: Partial<FragmentSecrets>): void {
  // Other page options in the query (e.g. ?mic=raw) stay.
  const params = new URLSearchParams(location.search);
  params.set('room', room);
  history.replaceState(null, '', `?${params.toString()}${fragmentFor(secrets)}`);
  location.reload();
}

function runRoom(
  root: HTMLElement,
  settings: PageSettings & { name: string },
  secrets: FragmentSecrets,
  createClient: CreateVoiceClient,
): void {
  const { room, name, clientId, storagePrefix } = settings;
  document.title = `#${room} · imv`;
  let roomKey = secrets.key;
  const client = createClient({
    serverUrl: location.origin,
    name,
    room,
    clientId,
    ...(roomKey !== undefined ? { roomKey } : {}),
    ...(secrets.passphrase !== undefined ? { passphrase: secrets.passphrase } : {}),
  });
  (window.imvClients ??= []).push(client);

  const roomUrl = (id: number, kind: 'ogg' | 'frames' = 'ogg') =>
    `${location.origin}/api/rooms/${encodeURIComponent(room)}/messages/${id}.${kind}`;
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
        roomKey !== undefined ? { 'X-Imv-Room-Key': roomKey } : {},
      decrypt: (message, frames) => client.decryptMessage(message, frames),
    },
    offline,
  );
  const player = new MessagePlayer(client.audio.context, client.audio.output, files);
  player.rate = readRate(storagePrefix);
  const waveforms = new WaveformLoader(files, new PeakCache(), `${location.host}/${room}/`);
  const announcer = new Announcer();
  const people = new PeoplePanel();
  const status = new StatusArea(location.host, () => void enableSound());

  const list = new MessageList({
    store,
    heard,
    player,
    waveforms,
    clientId,
    downloadUrl: (id) => roomUrl(id),
    localDownload: () => roomKey !== undefined,
    endToEnd: client.endToEnd,
    loadOlder: () => {
      wantOlder = true;
      client.loadHistory({ before: store.minId, limit: PAGE_SIZE });
    },
    actions: {
      toggle: (message) => {
        void enableSound();
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

  const talk = new TalkControl({
    keyTarget: window,
    onGesture: () => void enableSound(),
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
    onTalkingChange: (talking) => announcer.say(talking ? 'Talking' : ''),
    onError: (error) => {
      const text =
        error instanceof MicError
          ? describeMicProblem(error.problem, location.origin)
          : `Could not start talking: ${error instanceof Error ? error.message : String(error)}`;
      status.showProblem(text);
    },
  });

  // ---- layout ----------------------------------------------------------------------------------
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
        h(
          'p',
          { class: 'where' },
          h('strong', { text: `#${room}` }),
          h('span', { text: ` as ${name}` }),
        ),
        h(
          'button',
          {
            class: 'ghost',
            type: 'button',
            'aria-label': `Invite others to #${room}`,
            'aria-haspopup': 'dialog',
            onclick: () => void invite(),
          },
          icon('link'),
          h('span', { class: 'ghost-text', text: 'Invite' }),
        ),
        h('button', {
          class: 'ghost',
          type: 'button',
          text: 'Change',
          'aria-label': 'Change name or room',
          onclick: () => changeRoom(),
        }),
      );
  const content = h('main', { class: 'content' }, people.element, list.element);
  root.replaceChildren(
    h('div', { class: 'app' }, header, status.element, content, talk.element, announcer.element),
  );
  document.body.append(player.element);

  // ---- sound unlock (autoplay rules) -------------------------------------------------------------
  const activation = (navigator as Navigator & { userActivation?: { hasBeenActive: boolean } })
    .userActivation;
  // Media elements need a user activation as well as a running AudioContext in most browsers.
  const soundReady = () => client.audio.unlocked && (activation?.hasBeenActive ?? true);
  const updateSound = () => {
    const ready = soundReady();
    status.setSoundNeeded(!ready);
    if (ready) autoPlay.release('locked');
    else autoPlay.hold('locked');
  };
  async function enableSound(): Promise<void> {
    // The gesture itself may be what made soundReady() true (user activation), so always update.
    if (!client.audio.unlocked) await client.audio.unlock();
    updateSound();
  }
  // The first tap or key anywhere counts as the gesture; capture phase so nothing can swallow it.
  for (const type of ['pointerdown', 'keydown'] as const) {
    window.addEventListener(type, () => void enableSound(), { capture: true });
  }
  client.audio.context.addEventListener('statechange', updateSound);
  // Browsers do not announce every change of user activation; re-check while sound is still locked.
  setInterval(() => {
    if (autoPlay.held('locked')) updateSound();
  }, 1000);
  player.on('error', (message, problem, detail) => {
    if (problem === 'blocked') {
      updateSound();
      status.setSoundNeeded(true);
    } else if (message.encrypted) {
      list.markUndecryptable(message.id);
      status.showProblem(CANNOT_DECRYPT_TEXT);
    } else {
      status.showProblem(`Could not play the message from ${message.senderName}: ${detail}`);
    }
  });
  updateSound();

  // ---- playback ----------------------------------------------------------------------------------
  // Live talk would mix into a message being played, so it is muted meanwhile. The engine then
  // reports those streams' messages with heardLive false, so they count as unheard and auto-play.
  let liveMuted = false;
  player.on('change', () => {
    list.refresh();
    if (player.playing !== liveMuted) {
      liveMuted = player.playing;
      client.setLiveMuted(liveMuted);
    }
  });

  // ---- engine events -------------------------------------------------------------------------------
  let joinedOnce = false;
  let wantOlder = false;
  const online = () => navigator.onLine;
  // An insecure page never connects (no AudioWorklet); the problem banner explains why instead.
  const showConnection = (state: ConnectionState, isOnline: boolean) => {
    if (window.isSecureContext) status.setConnection(state, isOnline);
  };
  client.on('state', (state) => {
    showConnection(state, online());
    // Presence and talkers are only as fresh as the connection: dim them until it is back.
    content.classList.toggle('stale', state !== 'open');
  });
  window.addEventListener('online', () => showConnection(client.state, true));
  window.addEventListener('offline', () => showConnection(client.state, false));

  client.on('joined', ({ you, members, live }) => {
    keyPrompt?.remove(); // joined after all (e.g. a re-join): no "not in the room" message
    people.joined(you, members, live);
    if (people.liveCount > 0) autoPlay.hold('live');
    else autoPlay.release('live');
    if (!joinedOnce) {
      joinedOnce = true;
      wantOlder = true;
      client.loadHistory({ limit: PAGE_SIZE });
    } else if (store.maxId > 0) {
      // After a reconnect: whatever was stored while the socket was down.
      client.loadHistory({ after: store.maxId, limit: PAGE_SIZE });
    } else {
      client.loadHistory({ limit: PAGE_SIZE });
    }
  });
  client.on('presence', (members) => people.setMembers(members));
  client.on('talk-started', (msg) => {
    if (people.started(msg.streamId, msg.from)) {
      autoPlay.hold('live');
      announcer.say(`${msg.from.name} is talking`);
    }
  });
  client.on('talk-stopped', (msg) => {
    people.stopped(msg.streamId);
    if (people.liveCount === 0) autoPlay.release('live');
  });
  client.on('live-level', (streamId, level) => people.level(streamId, level));
  client.on('mic-level', (level) => talk.meter.set(level));
  client.on('history', (messages, more) => {
    if (wantOlder) {
      wantOlder = false;
      list.setMoreOlder(more);
    }
    if (heard.firstVisit)
      heard.add(...oldOnFirstVisit(messages, Date.now(), FIRST_VISIT_UNHEARD_MS));
    for (const m of messages) if (isOwn(m)) heard.add(m.id);
    const added = store.upsert(messages);
    list.render();
    checkDecryptable(added);
    const fresh = added.filter((m) => !heard.has(m.id));
    if (fresh.length > 0) {
      announcer.say(`${fresh.length} unheard message${fresh.length === 1 ? '' : 's'}`);
    }
    autoPlay.poke();
  });
  client.on('message-stored', ({ message, heardLive }) => {
    const own = isOwn(message);
    // Heard live in full (never muted meanwhile, engine-side), or our own: nothing new to hear.
    if (heardLive || own) heard.add(message.id);
    const added = store.upsert([message]);
    list.render();
    checkDecryptable(added);
    if (added.length > 0) {
      announcer.say(
        own
          ? `Your message was sent, ${speakDuration(message.durationMs)}`
          : `New voice message from ${message.senderName}, ${speakDuration(message.durationMs)}`,
      );
    }
    autoPlay.poke();
  });
  client.on('message-deleted', ({ id }) => {
    if (player.currentId === id) player.pause();
    if (store.remove(id)) {
      list.remove(id);
      announcer.say('A message was deleted');
    }
  });
  let undecryptableShown = false;
  client.on('undecryptable', ({ reason }) => {
    // Said once per page: every stream of a wrong passphrase would repeat it.
    if (undecryptableShown && reason === 'wrong-passphrase') return;
    undecryptableShown = true;
    status.showProblem(reason === 'no-passphrase' ? NO_PASSPHRASE_LIVE : CANNOT_DECRYPT_TEXT);
  });
  let keyPrompt: HTMLDialogElement | undefined;
  client.on('error', (error) => {
    if (error.code === 'CONNECTION') return; // the connection banner already says it
    if (
      (error.code === 'ROOM_KEY_REQUIRED' || error.code === 'ROOM_KEY_WRONG') &&
      !settings.embed
    ) {
      keyPrompt = showKeyPrompt({
        room,
        wrong: error.code === 'ROOM_KEY_WRONG',
        onCancel: () => status.showProblem(serverErrorText(error.code, error.message)),
        onKey: (key) => {
          roomKey = key;
          client.setRoomKey(key);
          // Keep the key in the fragment, so a reload and the invite link still carry it.
          history.replaceState(
            null,
            '',
            `${location.search}${fragmentFor({ key, passphrase: secrets.passphrase })}`,
          );
          client.join(room, store.maxId > 0 ? store.maxId : undefined);
        },
      });
      return;
    }
    status.showProblem(serverErrorText(error.code, error.message));
  });
  client.on('talk-ended', (reason) => {
    talk.ended();
    autoPlay.release('talking');
    // A server error (e.g. MESSAGE_TOO_LONG) that ended the talk has already been explained.
    if (!status.showingProblem) status.showProblem(`Talking stopped: ${reason}`);
  });

  function isOwn(message: VoiceMessage): boolean {
    return message.senderClientId !== undefined && message.senderClientId === clientId;
  }

  async function invite(): Promise<void> {
    await openInviteDialog({
      room,
      secrets: { key: roomKey, passphrase: secrets.passphrase },
      onCopied: () => announcer.say('Invite link copied'),
    });
  }

  function changeRoom(): void {
    client.close();
    root.replaceChildren(
      joinForm(
        { name, room, key: roomKey, passphrase: secrets.passphrase },
        (newName, newRoom, chosen) => {
          saveChoice(localStorage, storagePrefix, newName, newRoom);
          openRoomPage(newRoom, chosen);
        },
      ),
    );
  }

  showConnection(client.state, online());
  if (!window.isSecureContext) {
    // Without a secure context there is no microphone and no AudioWorklet: say so before anything fails.
    status.showProblem(describeMicProblem('insecure-context', location.origin));
  }
  client.connect().catch((error: unknown) => {
    if (!window.isSecureContext) return; // already explained
    if (client.state === 'reconnecting') return; // the connection banner says so and it retries
    status.showProblem(
      `Cannot reach the server at ${location.host}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  announcer.say(`Joined #${room} as ${name}`);
}

/** 128 random bits as hex; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function readRate(prefix: string): PlaybackRate {
  const saved = Number(localStorage.getItem(`${prefix}rate`));
  return PLAYBACK_RATES.find((r) => r === saved) ?? 1;
}

const NO_PASSPHRASE_LIVE =
  'Someone is talking, end-to-end encrypted — enter the passphrase (Change) to hear the room.';

function serverErrorText(code: string, message: string): string {
  switch (code) {
    case 'MESSAGE_TOO_LONG':
      return `Your message reached the length limit and was sent as it was. (${message})`;
    case 'STORE_FAILED':
      return `The server could not save the message: ${message}`;
    case 'VERSION_MISMATCH':
      return `This page is out of date for the server. Reload the page. (${message})`;
    case 'SERVER_SHUTTING_DOWN':
      return 'The server is restarting. imv will reconnect by itself.';
    case 'ROOM_KEY_REQUIRED':
      return 'This room is locked with a key. Open the full invite link (the part after # carries the key).';
    case 'ROOM_KEY_WRONG':
      return 'The key for this room is wrong. Ask for a fresh invite link.';
    case 'RATE_LIMITED':
      return `The server asks to slow down: ${message}`;
    default:
      return `Server error ${code}: ${message}`;
  }
}
