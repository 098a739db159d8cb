/*
 * The room page's per-device settings for phones (Settings in the header): keep the screen on.
 * Each is remembered in storage (settings.ts) and applied at once.
 */
import { openSettingsDialog, type SettingToggle } from './settings-dialog.js';
import { readPhonePrefs, savePhonePref, type KeyValueStore } from './settings.js';
import type { StatusArea } from './status-area.js';
import { ScreenWakeLock } from './wake-lock.js';

export interface PhoneSettings {
  /** Shows the Settings dialog. */
  open(): HTMLDialogElement;
  /** The room is open: start what the settings ask for. */
  start(): void;
  /** Leaving the room: release the screen. */
  stop(): void;
}

export function setUpPhoneSettings(options: {
  storage: KeyValueStore;
  prefix: string;
  status: StatusArea;
}): PhoneSettings {
  const { storage, prefix, status } = options;
  const prefs = readPhonePrefs(storage, prefix);
  const wake = new ScreenWakeLock({
    enabled: prefs.keepAwake,
    onProblem: (text) => {
      // A notice, not a problem: nothing is broken, and a real problem on screen stays.
      if (!status.showingProblem) status.showNotice(text);
    },
  });

  const keepAwake: () => SettingToggle = () => ({
    id: 'keep-awake',
    label: 'Keep the screen on',
    help: 'While this room is open and on screen, so the phone does not lock in the middle of a talk. Uses more battery.',
    checked: prefs.keepAwake,
    change: (on) => {
      prefs.keepAwake = on;
      savePhonePref(storage, prefix, 'keepAwake', on);
      wake.setEnabled(on);
      return Promise.resolve({ checked: on, message: '' });
    },
  });

  return {
    open: () => openSettingsDialog([keepAwake()]),
    start: () => wake.start(),
    stop: () => wake.stop(),
  };
}
