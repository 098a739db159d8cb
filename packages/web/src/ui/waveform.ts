import { h } from './dom.js';
import { formatDuration } from './format.js';
import { MIN_PEAK, WAVEFORM_BARS } from '../messages/peaks.js';

/** Seconds one arrow key moves; Page Up/Down move a tenth of the message. */
const ARROW_STEP_SEC = 1;

/**
 * A message's waveform that doubles as its seek bar: role=slider with aria-valuenow in seconds,
 * click/tap to jump, arrow keys, Home/End and Page Up/Down from the keyboard.
 */
export class WaveformSlider {
  readonly element: HTMLDivElement;
  private readonly base: HTMLDivElement;
  private readonly played: HTMLDivElement;
  private durationSec = 0;
  private fraction = -1;

  constructor(
    label: string,
    private readonly onSeek: (fraction: number) => void,
  ) {
    this.base = h('div', { class: 'bars' });
    this.played = h('div', { class: 'bars played', 'aria-hidden': 'true' });
    this.element = h(
      'div',
      {
        class: 'waveform loading',
        role: 'slider',
        tabindex: 0,
        'aria-label': label,
        'aria-valuemin': 0,
        'aria-valuenow': 0,
      },
      this.base,
      this.played,
    );
    this.setPeaks(new Array<number>(WAVEFORM_BARS).fill(MIN_PEAK), true);
    this.element.addEventListener('pointerdown', (e) => this.onPointer(e));
    this.element.addEventListener('keydown', (e) => this.onKey(e));
  }

  setPeaks(peaks: readonly number[], placeholder = false): void {
    // Heights through the CSSOM: the server's Content-Security-Policy (style-src 'self') blocks
    // style="" attributes but not element.style.
    const bars = (into: HTMLElement) =>
      into.replaceChildren(
        ...peaks.map((p) => {
          const bar = h('span');
          bar.style.height = `${Math.round(Math.max(MIN_PEAK, p) * 100)}%`;
          return bar;
        }),
      );
    bars(this.base);
    bars(this.played);
    this.element.classList.toggle('loading', placeholder);
  }

  /** Shows the position; writes to the DOM only when something visible changed. */
  update(fraction: number, durationSec: number): void {
    const f = Math.min(1, Math.max(0, fraction));
    if (Math.abs(f - this.fraction) < 0.001 && durationSec === this.durationSec) return;
    this.fraction = f;
    this.durationSec = durationSec;
    const nowSec = f * durationSec;
    this.played.style.clipPath = `inset(0 ${((1 - f) * 100).toFixed(2)}% 0 0)`;
    this.element.setAttribute('aria-valuemax', durationSec.toFixed(1));
    this.element.setAttribute('aria-valuenow', nowSec.toFixed(1));
    this.element.setAttribute(
      'aria-valuetext',
      `${formatDuration(nowSec * 1000)} of ${formatDuration(durationSec * 1000)}`,
    );
  }

  private onPointer(event: PointerEvent): void {
    if (event.button !== 0) return;
    const rect = this.element.getBoundingClientRect();
    if (rect.width <= 0) return;
    this.onSeek((event.clientX - rect.left) / rect.width);
  }

  private onKey(event: KeyboardEvent): void {
    const d = this.durationSec;
    if (d <= 0) return;
    const now = this.fraction * d;
    const to: Record<string, number> = {
      ArrowLeft: now - ARROW_STEP_SEC,
      ArrowDown: now - ARROW_STEP_SEC,
      ArrowRight: now + ARROW_STEP_SEC,
      ArrowUp: now + ARROW_STEP_SEC,
      PageDown: now - d / 10,
      PageUp: now + d / 10,
      Home: 0,
      End: d,
    };
    const targetSec = to[event.key];
    if (targetSec === undefined) return;
    event.preventDefault();
    event.stopPropagation(); // arrow keys on the slider must not also reach the page shortcuts
    this.onSeek(Math.min(d, Math.max(0, targetSec)) / d);
  }
}
