import { h } from './dom.js';
import { roomKeyProblem } from './join-form.js';

/**
 * Asks for a locked room's key after the server answered ROOM_KEY_REQUIRED or ROOM_KEY_WRONG.
 * A modal <dialog> (focus stays inside; Escape closes it) with one labelled field.
 */
export function showKeyPrompt(options: {
  room: string;
  wrong: boolean;
  onKey: (key: string) => void;
  /** Closed without a key (Escape): the page says why it is not in the room. */
  onCancel: () => void;
}): HTMLDialogElement {
  document.querySelector('dialog.key-prompt')?.remove();
  const input = h('input', {
    id: 'key-prompt-input',
    name: 'key',
    type: 'password',
    autocomplete: 'off',
    required: true,
    'aria-describedby': 'key-prompt-why',
  });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'key-prompt-title', text: `#${options.room} is locked` }),
    h('p', {
      id: 'key-prompt-why',
      text: options.wrong
        ? 'That key is not this room’s key. Check it and try again.'
        : 'This room needs its key. It is in the full invite link (after #key=), or ask a member.',
    }),
    h('label', { for: 'key-prompt-input', text: 'Room key' }),
    input,
    error,
    h(
      'p',
      { class: 'actions end' },
      h('button', { class: 'primary', type: 'submit', text: 'Join' }),
    ),
  );
  const dialog = h('dialog', { class: 'key-prompt', 'aria-labelledby': 'key-prompt-title' }, form);
  form.addEventListener('submit', (event) => {
    const problem = roomKeyProblem(input.value);
    if (problem !== undefined) {
      event.preventDefault();
      error.textContent = problem;
      input.focus();
      return;
    }
    submitted = true;
    options.onKey(input.value);
  });
  let submitted = false;
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (!submitted) options.onCancel();
  });
  document.body.append(dialog);
  dialog.showModal();
  input.focus();
  return dialog;
}
