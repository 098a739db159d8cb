/*
 * What the room page does with the engine's events: presence and talkers, history and new messages,
 * deletions, the connection banner, server errors (with the key prompt for a locked room) and the
 * end of our own talk.
 */
import type { VoiceMessage } from '@imv/protocol';
import type { AutoPlay } from '../messages/auto-play.js';
import { FIRST_VISIT_UNHEARD_MS, type HeardStore } from '../messages/heard-store.js';
import { oldOnFirstVisit, type MessageStore } from '../messages/message-store.js';
import type { MessagePlayer } from '../messages/player.js';
import type { ConnectionState, VoiceClient } from '../voice-client-api.js';
import type { Announcer } from './announcer.js';
import { LiveHandover } from './live-handover.js';
import { speakDuration } from './format.js';
import { showKeyPrompt } from './key-prompt.js';
import type { MessageList } from './message-list.js';
import { CANNOT_DECRYPT_TEXT } from './message-row.js';
import type { PeoplePanel } from './people.js';
import { NO_PASSPHRASE_LIVE, serverErrorText } from './server-error-text.js';
import { fragmentFor, type FragmentSecrets } from './settings.js';
import type { SoundUnlock } from './sound-unlock.js';
import type { StatusArea } from './status-area.js';
import type { TalkControl } from './talk-control.js';

/** Messages loaded when a room opens and per "Show older messages". */
export const PAGE_SIZE = 50;

/** The room page's state that its parts share. */
export interface RoomState {
  /** The room key, from the fragment or typed into the key prompt. */
  roomKey: string | undefined;
  /** The next history answer is a page of older messages (it says whether there are more). */
  wantOlder: boolean;
}

/** The parts of the room page the events update. */
export interface RoomParts {
  room: string;
  clientId: string;
  embed: boolean;
  secrets: FragmentSecrets;
  state: RoomState;
  client: VoiceClient;
  store: MessageStore;
  heard: HeardStore;
  player: MessagePlayer;
  list: MessageList;
  autoPlay: AutoPlay;
  people: PeoplePanel;
  announcer: Announcer;
  status: StatusArea;
  talk: TalkControl;
  sound: SoundUnlock;
  /** The people and messages area, dimmed while the connection is down. */
  content: HTMLElement;
  /** Opens listed encrypted messages at once, so a wrong passphrase shows before a tap. */
  checkDecryptable(messages: readonly VoiceMessage[]): void;
}

export function isOwnMessage(message: VoiceMessage, clientId: string): boolean {
  return message.senderClientId !== undefined && message.senderClientId === clientId;
}

export function wireRoomEvents(parts: RoomParts): void {
  const { client, store, heard, player, list, autoPlay, people, announcer, status, state } = parts;
  const isOwn = (m: VoiceMessage) => isOwnMessage(m, parts.clientId);

  player.on('error', (message, problem, detail) => {
    if (problem === 'blocked') {
      parts.sound.update();
      status.setSoundNeeded(true);
    } else if (message.encrypted) {
      list.markUndecryptable(message.id);
      status.showProblem(CANNOT_DECRYPT_TEXT);
    } else {
      status.showProblem(`Could not play the message from ${message.senderName}: ${detail}`);
    }
  });

  player.on('change', () => list.refresh());
  const handover = new LiveHandover(client, player, autoPlay);

  let joinedOnce = false;
  const online = () => navigator.onLine;
  // An insecure page never connects (no AudioWorklet); the problem banner explains why instead.
  const showConnection = (connection: ConnectionState, isOnline: boolean) => {
    if (window.isSecureContext) status.setConnection(connection, isOnline);
  };
  client.on('state', (connection) => {
    showConnection(connection, online());
    // Presence and talkers are only as fresh as the connection: dim them until it is back.
    parts.content.classList.toggle('stale', connection !== 'open');
  });
  client.on('moved', ({ serverUrl, from }) => {
    const host = new URL(serverUrl).host;
    status.setServer(host);
    status.showNotice(`Moved to ${host}: the server at ${new URL(from).host} stopped answering.`);
  });
  window.addEventListener('online', () => showConnection(client.state, true));
  window.addEventListener('offline', () => showConnection(client.state, false));

  let keyPrompt: HTMLDialogElement | undefined;
  client.on('joined', ({ you, members, live }) => {
    keyPrompt?.remove(); // joined after all (e.g. a re-join): no "not in the room" message
    people.joined(you, members, live);
    handover.joined(live.filter((s) => s.from.id !== you.id).map((s) => s.streamId));
    if (!joinedOnce) {
      joinedOnce = true;
      state.wantOlder = true;
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
      handover.started(msg.streamId);
      announcer.say(`${msg.from.name} is talking`);
    }
  });
  client.on('talk-stopped', (msg) => {
    people.stopped(msg.streamId);
    handover.stopped(msg.streamId);
  });
  client.on('live-level', (streamId, level) => people.level(streamId, level));
  client.on('mic-level', (level) => {
    parts.talk.meter.set(level);
    people.selfLevel(level);
  });
  client.on('history', (messages, more) => {
    if (state.wantOlder) {
      state.wantOlder = false;
      list.setMoreOlder(more);
    }
    if (heard.firstVisit)
      heard.add(...oldOnFirstVisit(messages, Date.now(), FIRST_VISIT_UNHEARD_MS));
    for (const m of messages) if (isOwn(m)) heard.add(m.id);
    const added = store.upsert(messages);
    list.render();
    parts.checkDecryptable(added);
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
    parts.checkDecryptable(added);
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
  client.on('room-key', ({ keyed, key, setBy }) => {
    state.roomKey = keyed ? key : undefined;
    // The fragment carries the key, so a reload and the invite link (Invite) still get in.
    history.replaceState(
      null,
      '',
      `${location.search}${fragmentFor({ key: state.roomKey, passphrase: parts.secrets.passphrase })}`,
    );
    const who = setBy === undefined ? 'The admin' : setBy.name;
    const text = keyed
      ? `${who} locked #${parts.room} with a key. Use Invite to share the link that lets people in.`
      : `The admin removed the key of #${parts.room}: anyone on the network can join now.`;
    status.showNotice(text);
    announcer.say(text);
  });
  client.on('error', (error) => {
    if (error.code === 'CONNECTION') return; // the connection banner already says it
    if ((error.code === 'ROOM_KEY_REQUIRED' || error.code === 'ROOM_KEY_WRONG') && !parts.embed) {
      keyPrompt = showKeyPrompt({
        room: parts.room,
        wrong: error.code === 'ROOM_KEY_WRONG',
        onCancel: () => status.showProblem(serverErrorText(error.code, error.message)),
        onKey: (key) => {
          state.roomKey = key;
          client.setRoomKey(key);
          // Keep the key in the fragment, so a reload and the invite link still carry it.
          history.replaceState(
            null,
            '',
            `${location.search}${fragmentFor({ key, passphrase: parts.secrets.passphrase })}`,
          );
          client.join(parts.room, store.maxId > 0 ? store.maxId : undefined);
        },
      });
      return;
    }
    status.showProblem(serverErrorText(error.code, error.message));
  });
  client.on('talk-ended', (reason) => {
    parts.talk.ended();
    autoPlay.release('talking');
    // A server error (e.g. MESSAGE_TOO_LONG) that ended the talk has already been explained.
    if (!status.showingProblem) status.showProblem(`Talking stopped: ${reason}`);
  });

  showConnection(client.state, online());
}
