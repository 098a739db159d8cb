import { DEFAULT_ROOM, MAX_NAME_LENGTH, normalizeRoom } from '@imv/protocol';
import { h } from './dom.js';
import { cleanName } from './settings.js';

/** The first-visit form: a display name and a room (lobby unless the invite link named one). */
export function joinForm(
  defaults: { name: string | undefined; room: string },
  onJoin: (name: string, room: string) => void,
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
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'join', 'aria-labelledby': 'join-title', novalidate: true },
    h('h1', { id: 'join-title', text: 'Join a voice room' }),
    h('p', { class: 'lead', text: 'Hold a button to talk to everyone in the room. What you say is also kept as a voice message.' }),
    h('label', { for: 'join-name', text: 'Your name' }),
    nameInput,
    h('label', { for: 'join-room', text: 'Room' }),
    roomInput,
    h('p', { id: 'join-room-help', class: 'help', text: 'Letters, digits, - and _. Share the page link to invite others.' }),
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
    onJoin(name, room);
  });
  queueMicrotask(() => (defaults.name ? roomInput : nameInput).focus());
  return h('main', { class: 'join-page' }, form);
}
