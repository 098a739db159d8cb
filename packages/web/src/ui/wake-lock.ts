/*
 * Keeps the screen on while a room is open (Screen Wake Lock API). Browsers release the lock when
 * the page is hidden, so it is requested again each time the page becomes visible; it is released
 * on leaving the room or when the setting is turned off. Where the API is missing or the browser
 * refuses, a notice says so once and the app works on (the screen may then turn off).
 */

export const WAKE_LOCK_UNSUPPORTED =
  'This browser cannot keep the screen on: set a longer screen timeout on the phone, or turn off "Keep the screen on" in Settings.';
export const WAKE_LOCK_DENIED =
  'The browser did not let imv keep the screen on (battery saver?): the screen may turn off while you listen.';

export interface ScreenWakeLockOptions {
  enabled: boolean;
  /** A problem to show (non-blocking); called at most once per problem. */
  onProblem(text: string): void;
}

export class ScreenWakeLock {
  private sentinel: WakeLockSentinel | undefined;
  private active = false;
  private enabled: boolean;
  /** Requests and releases run one after another, so a quick hide/show cannot leave two locks. */
  private queue: Promise<void> = Promise.resolve();
  private readonly told = new Set<string>();
  private readonly onVisibility = () => this.update();

  constructor(private readonly options: ScreenWakeLockOptions) {
    this.enabled = options.enabled;
  }

  /** The room is open: hold the lock whenever the page is visible. */
  start(): void {
    if (this.active) return;
    this.active = true;
    document.addEventListener('visibilitychange', this.onVisibility);
    this.update();
  }

  /** Leaving the room. */
  stop(): void {
    this.active = false;
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.update();
  }

  setEnabled(on: boolean): void {
    this.enabled = on;
    this.update();
  }

  /** The lock is held right now. */
  get held(): boolean {
    return this.sentinel !== undefined && !this.sentinel.released;
  }

  private wanted(): boolean {
    return this.active && this.enabled && document.visibilityState === 'visible';
  }

  private update(): void {
    this.queue = this.queue.then(() => this.apply());
  }

  private async apply(): Promise<void> {
    if (!this.wanted()) {
      const sentinel = this.sentinel;
      this.sentinel = undefined;
      // The browser releases it on hide as well; releasing twice is harmless.
      if (sentinel && !sentinel.released) await sentinel.release().catch(() => undefined);
      return;
    }
    if (this.held) return;
    if (!('wakeLock' in navigator)) {
      // Without a secure context there is no wake lock either; the page already explains that.
      if (window.isSecureContext) this.problem(WAKE_LOCK_UNSUPPORTED);
      return;
    }
    try {
      const sentinel = await navigator.wakeLock.request('screen');
      sentinel.addEventListener('release', () => {
        if (this.sentinel === sentinel) this.sentinel = undefined;
      });
      this.sentinel = sentinel;
    } catch (error) {
      // Hidden again before the request was answered: the next visibilitychange asks again.
      if (document.visibilityState !== 'visible') return;
      this.problem(
        error instanceof DOMException && error.name === 'NotAllowedError'
          ? WAKE_LOCK_DENIED
          : `${WAKE_LOCK_DENIED} (${error instanceof Error ? error.message : String(error)})`,
      );
    }
  }

  private problem(text: string): void {
    if (this.told.has(text)) return;
    this.told.add(text);
    this.options.onProblem(text);
  }
}
