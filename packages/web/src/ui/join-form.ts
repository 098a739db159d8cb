import {
  DEFAULT_ROOM,
  MAX_NAME_LENGTH,
  MAX_ROOM_KEY_LENGTH,
  MIN_ROOM_KEY_LENGTH,
  ROOM_KEY_PATTERN,
  normalizeRoom,
} from '@imv/protocol';
import { h } from './dom.js';
import { cleanName, type FragmentSecrets } from './settings.js';

/** Why a room key is not acceptable, or undefined when it is (the server's rule, messages.ts). */
export function roomKeyProblem(key: string): string | undefined {
  if (key.length < MIN_ROOM_KEY_LENGTH)
    return `The room key needs at least ${MIN_ROOM_KEY_LENGTH} characters.`;
  if (key.length > MAX_ROOM_KEY_LENGTH)
    return `The room key can have at most ${MAX_ROOM_KEY_LENGTH} characters.`;
  if (!ROOM_KEY_PATTERN.test(key))
    return 'The room key can use letters, digits and punctuation (no accents, no spaces at the ends).';
  return undefined;
}

/**
 * The first-visit form: a display name and a room (lobby unless the invite link named one), and
 * optionally a room key (locks a new room) and an end-to-end passphrase (stays on this device).
 */
export function joinForm(
  defaults: { name: string | undefined; room: string } & Partial<FragmentSecrets>,
  onJoin: (name: string, room: string, secrets: FragmentSecrets) => void,
): HTMLElement {
  const nameInput = h('input', {
    id: 'join-name',
    name: 'name',
    type: 'text',
    required: true,
    maxlength: MAX_NAME_LENGTH,
    autocomplete: 'nickname',
    enterkeyhint: 'next',
    value: defaults.name ?? '',
  });
  const roomInput = h('input', {
    id: 'join-room',
    name: 'room',
    type: 'text',
    required: true,
    maxlength: 64,
    autocapitalize: 'none',
    spellcheck: 'false',
    enterkeyhint: 'go',
    value: defaults.room || DEFAULT_ROOM,
    'aria-describedby': 'join-room-help',
  });
  const keyInput = h('input', {
    id: 'join-key',
    name: 'key',
    type: 'text',
    maxlength: MAX_ROOM_KEY_LENGTH,
    autocomplete: 'off',
    autocapitalize: 'none',
    spellcheck: 'false',
    value: defaults.key ?? '',
    'aria-describedby': 'join-key-help',
  });
  const passInput = h('input', {
    id: 'join-e2e',
    name: 'passphrase',
    type: 'password',
    autocomplete: 'off',
    value: defaults.passphrase ?? '',
    'aria-describedby': 'join-e2e-help',
  });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'join', 'aria-labelledby': 'join-title', novalidate: true },
    h('h1', { id: 'join-title', text: 'Join a voice room' }),
    h('p', {
      class: 'lead',
      text: 'Hold a button to talk to everyone in the room. What you say is also kept as a voice message.',
    }),
    h('label', { for: 'join-name', text: 'Your name' }),
    nameInput,
    h('label', { for: 'join-room', text: 'Room' }),
    roomInput,
    h('p', {
      id: 'join-room-help',
      class: 'help',
      text: 'Letters, digits, - and _. Share the page link to invite others.',
    }),
    h(
      'fieldset',
      { class: 'security' },
      h('legend', { text: 'Security (optional)' }),
      h('label', { for: 'join-key', text: 'Lock this room with a key' }),
      keyInput,
      h('p', {
        id: 'join-key-help',
        class: 'help',
        text: `A new room takes this key; a locked room needs it. At least ${MIN_ROOM_KEY_LENGTH} characters. Invite links carry it.`,
      }),
      h('label', { for: 'join-e2e', text: 'Passphrase (end-to-end encryption)' }),
      passInput,
      h('p', {
        id: 'join-e2e-help',
        class: 'help',
        text: 'Never sent to the server. Everyone in the room must use the same passphrase to hear each other.',
      }),
    ),
    error,
    h('button', { class: 'primary', type: 'submit', text: 'Join' }),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = cleanName(nameInput.value);
    const room = normalizeRoom(roomInput.value);
    if (!name) {
      error.textContent = 'Please enter a name so others know who is talking.';
      nameInput.focus();
      return;
    }
    if (!room) {
      error.textContent = 'Please enter a room name using letters or digits.';
      roomInput.focus();
      return;
    }
    const key = keyInput.value;
    const keyError = key === '' ? undefined : roomKeyProblem(key);
    if (keyError !== undefined) {
      error.textContent = keyError;
      keyInput.focus();
      return;
    }
    onJoin(name, room, { key: key || undefined, passphrase: passInput.value || undefined });
  });
  queueMicrotask(() => (defaults.name ? roomInput : nameInput).focus());
  return h('main', { class: 'join-page' }, form);
}
