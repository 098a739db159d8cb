import { h } from './dom.js';

/** One on/off setting of the Settings dialog. */
export interface SettingToggle {
  /** Element id, also the key tests and labels use. */
  id: string;
  label: string;
  help: string;
  checked: boolean;
  /**
   * The user flipped it (a gesture: permission prompts may be shown here). Resolves with the state
   * the setting really has now and a message to show ('' for none), e.g. when a permission was denied.
   */
  change(on: boolean): Promise<{ checked: boolean; message: string }>;
}

/**
 * The Settings dialog of the room page: a checkbox per setting (the whole row is the tap target),
 * a status line for what happened (a permission denied), and Close. A native <dialog> traps focus
 * and closes on Escape.
 */
export function openSettingsDialog(toggles: readonly SettingToggle[]): HTMLDialogElement {
  const status = h('p', { class: 'setting-status', role: 'status' });
  const rows = toggles.map((toggle) => {
    const input = h('input', {
      type: 'checkbox',
      id: `setting-${toggle.id}`,
      'aria-describedby': `setting-${toggle.id}-help`,
    });
    input.checked = toggle.checked;
    input.addEventListener('change', () => {
      const wanted = input.checked;
      input.disabled = true;
      status.textContent = '';
      void toggle.change(wanted).then(({ checked, message }) => {
        input.checked = checked;
        input.disabled = false;
        status.textContent = message;
      });
    });
    return h(
      'div',
      { class: 'setting' },
      h('label', { for: input.id }, input, h('span', { text: toggle.label })),
      h('p', { class: 'help', id: `setting-${toggle.id}-help`, text: toggle.help }),
    );
  });
  const close = h('button', { class: 'ghost', type: 'button', text: 'Close' });
  const dialog = h(
    'dialog',
    { class: 'settings', 'aria-labelledby': 'settings-title' },
    h('h2', { id: 'settings-title', text: 'Settings' }),
    ...rows,
    status,
    h('p', { class: 'actions end' }, close),
  );
  close.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => dialog.remove());
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}
