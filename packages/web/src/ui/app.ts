/*
 * Entry point of index.html: the join form on a first visit, then the room page (room-page.ts).
 */
import { joinForm } from './join-form.js';
import { runRoom, type CreateVoiceClient } from './room-page.js';
import {
  fragmentFor,
  readFragment,
  readSettings,
  saveChoice,
  type FragmentSecrets,
  type PageSettings,
} from './settings.js';

export type { CreateVoiceClient };

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
  const storagePrefix = settings.storagePrefix;
  runRoom({
    root,
    settings: settings as PageSettings & { name: string },
    secrets,
    createClient,
    onChange: ({ name, room, key }) =>
      root.replaceChildren(
        joinForm(
          { name, room, key, passphrase: secrets.passphrase },
          (newName, newRoom, chosen) => {
            saveChoice(localStorage, storagePrefix, newName, newRoom);
            openRoomPage(newRoom, chosen);
          },
        ),
      ),
  });
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

/** 128 random bits as hex; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
