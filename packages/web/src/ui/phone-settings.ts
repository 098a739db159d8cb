/*
 * The room page's per-device settings for phones (Settings in the header): keep the screen on,
 * notify me when the page is hidden, low latency. Each is remembered in storage (settings.ts) and
 * applied at once.
 */
import type { VoiceClient } from '../voice-client-api.js';
import { askNotificationPermission, AwayNotifier } from './notify.js';
import { openSettingsDialog, type SettingToggle } from './settings-dialog.js';
import { readPhonePrefs, savePhonePref, type KeyValueStore } from './settings.js';
import type { StatusArea } from './status-area.js';
import { ScreenWakeLock } from './wake-lock.js';

export interface PhoneSettings {
  /** Shows the Settings dialog. */
  open(): HTMLDialogElement;
  /** The room is open: start what the settings ask for, and follow the room while hidden. */
  start(client: VoiceClient, clientId: string): void;
  /** Leaving the room: release the screen. */
  stop(): void;
}

export function setUpPhoneSettings(options: {
  room: string;
  storage: KeyValueStore;
  prefix: string;
  status: StatusArea;
  /** Low latency was switched: applies from the next talk. */
  setLowLatency(on: boolean): void;
}): PhoneSettings {
  const { room, storage, prefix, status } = options;
  const prefs = readPhonePrefs(storage, prefix);
  // A notification opens this page without its fragment (the room key or passphrase stay out of it).
  const roomUrl = `${location.origin}${location.pathname}${location.search}`;
  const notifier = new AwayNotifier({
    room,
    baseTitle: document.title,
    enabled: prefs.notify,
    roomUrl,
  });
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

  const notify: () => SettingToggle = () => ({
    id: 'notify',
    label: 'Notify me when imv is not on screen',
    help: 'A notification and a buzz when someone talks or sends a message while you look elsewhere or the phone is locked. The tab title counts them either way.',
    checked: prefs.notify,
    change: async (on) => {
      // Asked here, on the user's tap, never on load.
      const problem = on ? await askNotificationPermission() : '';
      const checked = on && problem === '';
      prefs.notify = checked;
      savePhonePref(storage, prefix, 'notify', checked);
      notifier.setEnabled(checked);
      return { checked, message: problem };
    },
  });

  const lowLatency: () => SettingToggle = () => ({
    id: 'low-latency',
    label: 'Low latency',
    help: 'Talk in 10 ms packets instead of 20: you are heard sooner, for twice the packets (still under 32 kbit/s). Off by default: on a busy phone or a weak Wi-Fi the shorter packets break up more easily. Turn it on when everyone is on a good network.',
    checked: prefs.lowLatency,
    change: (on) => {
      prefs.lowLatency = on;
      savePhonePref(storage, prefix, 'lowLatency', on);
      options.setLowLatency(on);
      return Promise.resolve({ checked: on, message: '' });
    },
  });

  return {
    open: () => openSettingsDialog([keepAwake(), notify(), lowLatency()]),
    start: (client, clientId) => {
      wake.start();
      notifier.watch(client, clientId);
    },
    stop: () => wake.stop(),
  };
}
