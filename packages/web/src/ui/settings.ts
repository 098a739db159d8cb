import { DEFAULT_ROOM, MAX_NAME_LENGTH, normalizeRoom } from '@imv/protocol';

import type { KeyValueStore } from '../messages/heard-store.js';

/** The part of the Web Storage API the UI uses (localStorage in the page). */
export type { KeyValueStore };

/** What the page was opened with and what it remembers. */
export interface PageSettings {
  /** Display name; undefined on a first visit until the user picks one. */
  name: string | undefined;
  room: string;
  /** The room came from the URL (an invite link), so the join form can be skipped. */
  roomFromUrl: boolean;
  clientId: string;
  /** Embedded in the duo view: no header chrome, and storage keys kept apart per slot. */
  embed: boolean;
  /** Prefix for every storage key, so two embedded panels do not share heard lists or ids. */
  storagePrefix: string;
}

/** Display names as the server accepts them: trimmed, no control characters, at most 40 chars. */
export function cleanName(input: string): string | undefined {
  const name = input
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, MAX_NAME_LENGTH);
  return name.length > 0 ? name : undefined;
}

/** Reads the URL (?room=crew&name=Ann&embed=1&slot=left) and storage; creates the clientId once. */
export function readSettings(
  search: string,
  storage: KeyValueStore,
  newId: () => string,
): PageSettings {
  const params = new URLSearchParams(search);
  const embed = params.get('embed') === '1';
  const slot = (params.get('slot') ?? '').replace(/[^a-z0-9_-]/gi, '').slice(0, 16);
  const storagePrefix = embed ? `imv.${slot || 'embed'}.` : 'imv.';

  const urlRoom = normalizeRoom(params.get('room') ?? '');
  const storedRoom = normalizeRoom(storage.getItem(`${storagePrefix}room`) ?? '');
  const urlName = cleanName(params.get('name') ?? '');
  const storedName = cleanName(storage.getItem(`${storagePrefix}name`) ?? '');

  let clientId = storage.getItem(`${storagePrefix}clientId`) ?? '';
  if (!/^[\w-]{8,64}$/.test(clientId)) {
    clientId = newId();
    storage.setItem(`${storagePrefix}clientId`, clientId);
  }
  return {
    name: urlName ?? storedName,
    room: urlRoom ?? storedRoom ?? DEFAULT_ROOM,
    roomFromUrl: urlRoom !== undefined,
    clientId,
    embed,
    storagePrefix,
  };
}

/** Remembers the chosen name and room for the next visit. */
export function saveChoice(
  storage: KeyValueStore,
  prefix: string,
  name: string,
  room: string,
): void {
  storage.setItem(`${prefix}name`, name);
  storage.setItem(`${prefix}room`, room);
}

/** The invite link for a room: this page's URL with only `?room=`. */
export function inviteUrl(href: string, room: string): string {
  const url = new URL(href);
  url.search = '';
  url.hash = '';
  url.searchParams.set('room', room);
  return url.toString();
}

/** Secrets an invite link carries in its fragment, which browsers never send to the server. */
export interface FragmentSecrets {
  /** Room key (access control): `#key=`. */
  key: string | undefined;
  /** End-to-end passphrase: `#e2e=`. */
  passphrase: string | undefined;
}

/** Reads `#key=...&e2e=...` (percent-decoded, as URLSearchParams does). */
export function readFragment(hash: string): FragmentSecrets {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const nonEmpty = (v: string | null) => (v !== null && v !== '' ? v : undefined);
  return { key: nonEmpty(params.get('key')), passphrase: nonEmpty(params.get('e2e')) };
}

/** The fragment for a room's secrets ('' when there are none). */
export function fragmentFor(secrets: Partial<FragmentSecrets>): string {
  const params = new URLSearchParams();
  if (secrets.key) params.set('key', secrets.key);
  if (secrets.passphrase) params.set('e2e', secrets.passphrase);
  const text = params.toString();
  return text === '' ? '' : `#${text}`;
}

/** An invite link to `room` on `origin` (https for phones), with the key and, if asked, the passphrase. */
export function roomInviteUrl(
  origin: string,
  room: string,
  secrets: Partial<FragmentSecrets>,
): string {
  const url = new URL('/', origin);
  url.searchParams.set('room', room);
  return url.toString() + fragmentFor(secrets);
}

/** Per-device choices for a phone in a pocket, kept in storage. */
export interface PhonePrefs {
  /** Hold the Screen Wake Lock while a room is open and visible (default on). */
  keepAwake: boolean;
  /** Notify, vibrate and count in the title when something arrives while the page is hidden (default off). */
  notify: boolean;
  /**
   * Talk in 10 ms frames (default off). Twice the packets means twice the work per second for the
   * talker's and every listener's audio threads, and a jitter buffer half as deep: on a busy phone or
   * laptop the live audio broke up far more often (the live browser test on a loaded 2-core machine
   * heard 0.49 correlation at 10 ms against 0.79 at 20 ms). It is worth turning on where devices are
   * idle and the LAN is good; listening plays both either way.
   */
  lowLatency: boolean;
}

const PHONE_PREF_DEFAULTS: PhonePrefs = { keepAwake: true, notify: false, lowLatency: false };

export function readPhonePrefs(storage: KeyValueStore, prefix: string): PhonePrefs {
  const read = (key: keyof PhonePrefs) => {
    const saved = storage.getItem(`${prefix}${key}`);
    return saved === null ? PHONE_PREF_DEFAULTS[key] : saved === '1';
  };
  return { keepAwake: read('keepAwake'), notify: read('notify'), lowLatency: read('lowLatency') };
}

export function savePhonePref(
  storage: KeyValueStore,
  prefix: string,
  key: keyof PhonePrefs,
  on: boolean,
): void {
  storage.setItem(`${prefix}${key}`, on ? '1' : '0');
}

/** What a KeyboardEvent.code looks like: letters and digits ('F8', 'KeyT', 'Numpad0'). */
const TALK_KEY_CODE = /^[A-Za-z][A-Za-z0-9]{0,24}$/;

/**
 * The second talk key for desk use, as a KeyboardEvent.code ('F8', 'KeyT', 'Pause'): `?talkkey=F8`
 * sets and remembers it, `?talkkey=none` forgets it; otherwise the remembered one, if any.
 */
export function readTalkKey(
  search: string,
  storage: KeyValueStore,
  prefix: string,
): string | undefined {
  const key = `${prefix}talkKey`;
  const fromUrl = new URLSearchParams(search).get('talkkey');
  if (fromUrl === 'none') storage.removeItem(key);
  else if (fromUrl !== null && TALK_KEY_CODE.test(fromUrl)) storage.setItem(key, fromUrl);
  const saved = storage.getItem(key);
  return saved !== null && TALK_KEY_CODE.test(saved) && saved !== 'Space' ? saved : undefined;
}
