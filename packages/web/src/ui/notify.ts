/*
 * Heard when not looking: while the page is hidden (another app in front, the phone locked or in a
 * pocket), a voice message or a live talk from someone else counts in the title ("(3) #crew · imv")
 * and the app badge, and, when the user turned "Notify me" on, shows a notification (through the
 * service worker, so tapping it opens the room at that message: src/pwa/notification-click.ts) and
 * vibrates. Seeing the page again clears the count, the badge and the room's notifications.
 */
import type { NotificationTarget } from '../pwa/notification-target.js';
import type { VoiceClient } from '../voice-client-api.js';
import { speakDuration } from './format.js';
import { isOwnMessage } from './room-events.js';

export const NOTIFY_UNSUPPORTED =
  'This browser cannot show notifications from a web page (on an iPhone, add imv to the Home Screen first).';
export const NOTIFY_DENIED =
  'Notifications are blocked for this site. Allow them in the browser’s site settings (the icon next to the address), then turn this on again.';
export const NOTIFY_DISMISSED =
  'Notifications were not allowed. Turn this on again to be asked again.';

/** A short buzz pattern (ms on, off, on): felt in a pocket, not mistaken for a call. */
const VIBRATE_PATTERN_MS = [120, 80, 120];

/** What a page notification may carry besides the standard options (Chromium on Android vibrates). */
type NotificationOptionsWithVibrate = NotificationOptions & {
  vibrate?: number[];
  renotify?: boolean;
};

/** The Badging API, where the browser has it (installed apps on Chromium, Safari). */
interface BadgingNavigator {
  setAppBadge?: (count?: number) => Promise<void>;
  clearAppBadge?: () => Promise<void>;
}

/**
 * Asks for the notification permission; call it from a user gesture (browsers ignore or penalise a
 * prompt without one). Resolves with '' when notifications may be shown, else what to tell the user.
 */
export async function askNotificationPermission(): Promise<string> {
  if (typeof Notification === 'undefined' || !window.isSecureContext) return NOTIFY_UNSUPPORTED;
  const permission =
    Notification.permission === 'default'
      ? await Notification.requestPermission()
      : Notification.permission;
  if (permission === 'granted') return '';
  return permission === 'denied' ? NOTIFY_DENIED : NOTIFY_DISMISSED;
}

export interface AwayNotifierOptions {
  room: string;
  /** The title while the page is seen ("#crew · imv"). */
  baseTitle: string;
  /** "Notify me" is on (the count in the title and badge works without it). */
  enabled: boolean;
  /** The page to open for this room (no fragment: it may carry the room key or passphrase). */
  roomUrl: string;
}

export class AwayNotifier {
  private enabled: boolean;
  /** Messages and live talks from others since the page was last seen. */
  private readonly unseen = new Set<number>();
  private readonly tag: string;

  constructor(private readonly options: AwayNotifierOptions) {
    this.enabled = options.enabled;
    this.tag = `imv-room-${options.room}`;
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.seen();
    });
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
  }

  /** Follows the room's talks and messages from others (`clientId` is this page's). */
  watch(client: VoiceClient, clientId: string): void {
    let youId: string | undefined;
    client.on('joined', ({ you }) => (youId = you.id));
    client.on('talk-started', (msg) => {
      if (msg.from.id !== youId) this.talkStarted(msg.messageId, msg.from.name);
    });
    client.on('message-stored', ({ message }) => {
      if (!isOwnMessage(message, clientId))
        this.messageArrived(message.id, message.senderName, message.durationMs);
    });
  }

  /** Unseen messages and talks right now (what the title shows). */
  get count(): number {
    return this.unseen.size;
  }

  /** Someone else started talking live (the talk becomes message `messageId`). */
  talkStarted(messageId: number, name: string): void {
    if (!this.away() || this.unseen.has(messageId)) return;
    this.unseen.add(messageId);
    this.alert(`${name} is talking in #${this.options.room}`, messageId);
  }

  /** A message from someone else was stored (after its live talk, or sent while we were away). */
  messageArrived(messageId: number, name: string, durationMs: number): void {
    if (!this.away()) return;
    const again = this.unseen.has(messageId);
    this.unseen.add(messageId);
    // The live talk's notification is replaced quietly by the message's, without a second buzz.
    this.alert(
      `Voice message from ${name}, ${speakDuration(durationMs)}`,
      messageId,
      again ? 'quiet' : 'buzz',
    );
  }

  private away(): boolean {
    return document.visibilityState === 'hidden';
  }

  private alert(text: string, messageId: number, how: 'buzz' | 'quiet' = 'buzz'): void {
    this.renderCount();
    if (!this.enabled || typeof Notification === 'undefined') return;
    if (Notification.permission !== 'granted') return;
    const count = this.unseen.size;
    const data: NotificationTarget = {
      url: this.options.roomUrl,
      room: this.options.room,
      messageId,
    };
    const options: NotificationOptionsWithVibrate = {
      body: count > 1 ? `${text} (${count} new)` : text,
      tag: this.tag,
      renotify: how === 'buzz',
      silent: how === 'quiet',
      icon: '/icons/icon-192.png',
      data,
      ...(how === 'buzz' ? { vibrate: VIBRATE_PATTERN_MS } : {}),
    };
    void this.show(`#${this.options.room}`, options, messageId);
    if (how === 'buzz') navigator.vibrate?.(VIBRATE_PATTERN_MS);
  }

  /** Through the service worker where there is one (a tap then reaches notification-click.ts). */
  private async show(
    title: string,
    options: NotificationOptionsWithVibrate,
    messageId: number,
  ): Promise<void> {
    try {
      const registration = await navigator.serviceWorker?.getRegistration();
      if (registration) {
        await registration.showNotification(title, options);
        return;
      }
      const notification = new Notification(title, options);
      notification.addEventListener('click', () => {
        window.focus();
        window.postMessage({ type: 'imv-show-message', messageId }, location.origin);
        notification.close();
      });
    } catch (error) {
      console.warn('imv: notification not shown', error);
    }
  }

  private renderCount(): void {
    const count = this.unseen.size;
    document.title = count > 0 ? `(${count}) ${this.options.baseTitle}` : this.options.baseTitle;
    const badging = navigator as Navigator & BadgingNavigator;
    const done = count > 0 ? badging.setAppBadge?.(count) : badging.clearAppBadge?.();
    // No badge without an installed app in some browsers: the title still shows the count.
    done?.catch(() => undefined);
  }

  /** The page is seen again: nothing is unseen any more. */
  private seen(): void {
    if (this.unseen.size === 0) return;
    this.unseen.clear();
    this.renderCount();
    void navigator.serviceWorker
      ?.getRegistration()
      .then((registration) => registration?.getNotifications({ tag: this.tag }))
      .then((shown) => shown?.forEach((n) => n.close()))
      .catch(() => undefined);
  }
}
