import { h, isTypingTarget } from './dom.js';
import { icon } from './icons.js';
import { LevelMeter } from './level-meter.js';

export interface TalkControlOptions {
  /** Opens the mic and starts streaming; rejects (MicError) when it cannot. */
  start: () => Promise<void>;
  stop: () => Promise<void>;
  /** Any press is a user gesture: the app uses it to unlock sound. */
  onGesture: () => void;
  onError: (error: unknown) => void;
  /** Talking started or stopped (after the mic opened / the message was sent). */
  onTalkingChange: (talking: boolean) => void;
  /** The space bar works anywhere in this window (off in embedded duo panes that are not focused). */
  keyTarget: Window;
  /** A second talk key besides the space bar (a KeyboardEvent.code such as 'F8'), for desk use. */
  talkKey?: string | undefined;
  /** A hands-free talk (latch, headset) started or stopped: play the cue the user cannot feel. */
  onHandsFreeCue?: (talking: boolean) => void;
}

type Phase = 'idle' | 'starting' | 'talking' | 'stopping';

/** Phones and tablets: no point suggesting the space bar. */
const COARSE_POINTER = typeof matchMedia === 'function' && matchMedia('(pointer: coarse)').matches;

/**
 * The hold-to-talk button. Pointer (mouse, touch, pen) with pointer capture, the space bar (ignoring
 * key repeat and typing), Enter on the focused button, and a hands-free latch where a tap starts and
 * the next tap stops. Presses that arrive while the mic is still opening are reconciled in `sync`,
 * so a quick tap never leaves the mic open.
 */
export class TalkControl {
  readonly element: HTMLDivElement;
  private readonly button: HTMLButtonElement;
  private readonly label: HTMLSpanElement;
  private readonly hint: HTMLSpanElement;
  private readonly latchButton: HTMLButtonElement;
  readonly meter = new LevelMeter('mic-meter');
  private latch = false;
  private want = false;
  private phase: Phase = 'idle';
  private pointerId: number | undefined;
  private spaceDown = false;
  /** The last request came from a toggle (latch, headset, Enter), not from holding. */
  private toggled = false;
  /** The focused element got focus from a click or tap, not from the keyboard. */
  private focusedByPointer = false;
  private syncing = false;

  constructor(private readonly options: TalkControlOptions) {
    this.label = h('span', { class: 'talk-label' });
    this.hint = h('span', { class: 'talk-hint' });
    this.button = h(
      'button',
      { class: 'talk', type: 'button', 'aria-pressed': 'false', 'aria-describedby': 'talk-hint' },
      icon('mic'),
      this.label,
    );
    this.hint.id = 'talk-hint';
    this.latchButton = h('button', {
      class: 'latch',
      type: 'button',
      'aria-pressed': 'false',
      text: 'Hands-free',
      title: 'Hands-free: tap once to start talking, tap again to send',
      onclick: () => this.setLatch(!this.latch),
    });
    this.element = h(
      'div',
      { class: 'talk-bar' },
      this.button,
      h('div', { class: 'talk-side' }, this.meter.element, this.hint, this.latchButton),
    );
    this.bindPointer();
    this.bindKeys();
    this.render();
  }

  get talking(): boolean {
    return this.phase === 'talking';
  }

  /** The engine stopped talking on its own (connection lost, length limit). */
  ended(): void {
    this.want = false;
    this.phase = 'idle';
    this.meter.set(0);
    this.render();
    this.options.onTalkingChange(false);
    if (this.toggled) this.options.onHandsFreeCue?.(false);
  }

  /** Hands-free toggle from outside the button (a headset's play/pause): start or stop talking. */
  toggleHandsFree(): void {
    this.options.onGesture();
    this.request(!this.want, true);
  }

  private setLatch(on: boolean): void {
    this.latch = on;
    this.latchButton.setAttribute('aria-pressed', String(on));
    if (!on && this.want) this.request(false);
    this.render();
  }

  private bindPointer(): void {
    const b = this.button;
    b.addEventListener('pointerdown', (e) => {
      if (e.button !== 0 || this.pointerId !== undefined) return;
      e.preventDefault(); // no text selection, focus ring or synthetic mouse events on touch
      this.options.onGesture();
      if (this.latch) {
        this.request(!this.want, true);
        return;
      }
      this.pointerId = e.pointerId;
      b.setPointerCapture(e.pointerId);
      this.request(true);
    });
    const release = (e: PointerEvent) => {
      if (e.pointerId !== this.pointerId) return;
      this.pointerId = undefined;
      if (b.hasPointerCapture(e.pointerId)) b.releasePointerCapture(e.pointerId);
      if (!this.latch) this.request(false);
    };
    b.addEventListener('pointerup', release);
    b.addEventListener('pointercancel', release);
    b.addEventListener('lostpointercapture', release);
    // Without capture (old browsers) leaving the button ends the press too.
    b.addEventListener('pointerleave', (e) => {
      if (!b.hasPointerCapture(e.pointerId)) release(e);
    });
    // A long press on touch screens would open the context menu.
    b.addEventListener('contextmenu', (e) => e.preventDefault());
    // Keyboard activation of the focused button (Enter, or Space handled below) toggles.
    b.addEventListener('click', (e) => {
      if (e.detail !== 0) return; // a real click was already handled by pointer events
      this.options.onGesture();
      this.request(!this.want, true);
    });
  }

  private bindKeys(): void {
    const win = this.options.keyTarget;
    let lastInputWasPointer = false;
    win.addEventListener('pointerdown', () => (lastInputWasPointer = true), { capture: true });
    win.addEventListener(
      'keydown',
      (e) => {
        if (e.code !== 'Space') lastInputWasPointer = false;
      },
      { capture: true },
    );
    win.addEventListener('focusin', () => (this.focusedByPointer = lastInputWasPointer), {
      capture: true,
    });
    win.addEventListener('keydown', (e) => {
      if (!this.isTalkKey(e) || !this.keyIsForTalking(e)) return;
      e.preventDefault(); // no page scroll, no click on the focused button
      if (e.repeat || this.spaceDown) return;
      this.spaceDown = true;
      this.options.onGesture();
      this.request(this.latch ? !this.want : true, this.latch);
    });
    win.addEventListener('keyup', (e) => {
      if (!this.isTalkKey(e) || !this.spaceDown) return;
      e.preventDefault();
      this.spaceDown = false;
      if (!this.latch) this.request(false);
    });
    // A key or pointer release can be lost when the window loses focus: stop rather than talk on.
    win.addEventListener('blur', () => {
      if (this.spaceDown && !this.latch) this.request(false);
      this.spaceDown = false;
    });
  }

  private isTalkKey(e: KeyboardEvent): boolean {
    return (
      e.code === 'Space' || (this.options.talkKey !== undefined && e.code === this.options.talkKey)
    );
  }

  /**
   * The talk keys mean talk, except in text fields. Space also not on another control the keyboard
   * moved to (Tab), where space operates that control; a button that got focus from a click or tap
   * does not keep the space bar from talking. (:focus-visible cannot tell: any key press turns it on.)
   */
  private keyIsForTalking(e: KeyboardEvent): boolean {
    if (e.ctrlKey || e.metaKey || e.altKey) return false;
    const target = e.target;
    if (isTypingTarget(target)) return false;
    if (
      e.code === 'Space' &&
      target instanceof HTMLElement &&
      target !== this.button &&
      !this.focusedByPointer
    ) {
      if (target.closest('button, a, [role="slider"], select, summary')) return false;
    }
    return true;
  }

  private request(want: boolean, toggled = false): void {
    this.want = want;
    this.toggled = toggled;
    void this.sync();
  }

  /** Drives the engine towards `want`, one call at a time. */
  private async sync(): Promise<void> {
    if (this.syncing) return;
    this.syncing = true;
    try {
      while (this.want !== (this.phase === 'talking')) {
        if (this.want) {
          this.phase = 'starting';
          this.render();
          try {
            await this.options.start();
            this.phase = 'talking';
            this.options.onTalkingChange(true);
            if (this.toggled) this.options.onHandsFreeCue?.(true);
          } catch (error) {
            this.want = false;
            this.phase = 'idle';
            this.options.onError(error);
          }
        } else {
          this.phase = 'stopping';
          this.render();
          try {
            await this.options.stop();
          } catch (error) {
            this.options.onError(error);
          }
          this.phase = 'idle';
          this.meter.set(0);
          this.options.onTalkingChange(false);
          if (this.toggled) this.options.onHandsFreeCue?.(false);
        }
        this.render();
      }
    } finally {
      this.syncing = false;
      this.render();
    }
  }

  private render(): void {
    const talking = this.phase === 'talking';
    const [label, hint] = ((): [string, string] => {
      switch (this.phase) {
        case 'starting':
          return ['Opening mic…', this.latch ? 'Tap again to send' : 'Keep holding'];
        case 'talking':
          return ['Talking', this.latch ? 'Tap to send' : 'Release to send'];
        case 'stopping':
          return ['Sending…', ''];
        case 'idle':
          return this.latch
            ? ['Tap to talk', 'Hands-free is on']
            : ['Hold to talk', COARSE_POINTER ? '' : `or hold ${this.keyNames()}`];
      }
    })();
    this.label.textContent = label;
    this.hint.textContent = hint;
    this.button.setAttribute('aria-pressed', String(talking || this.phase === 'starting'));
    this.button.setAttribute('aria-label', this.accessibleName(label));
    this.button.dataset.phase = this.phase;
    this.element.classList.toggle('is-talking', talking);
  }

  private keyNames(): string {
    const extra = this.options.talkKey;
    return extra === undefined ? 'the space bar' : `the space bar or ${extra.replace(/^Key/, '')}`;
  }

  /** What a screen reader says for the button: the state and what the next action does. */
  private accessibleName(label: string): string {
    switch (this.phase) {
      case 'idle':
        return this.latch ? 'Tap to talk, tap again to send' : 'Hold to talk, release to send';
      case 'starting':
      case 'talking':
        return `${label}, ${this.latch ? 'tap to send' : 'release to send'}`;
      case 'stopping':
        return label;
    }
  }
}
