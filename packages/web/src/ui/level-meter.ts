import { h } from './dom.js';

/**
 * A horizontal level bar for a live signal (0..1). Hidden from screen readers: it changes 20 times a
 * second, and the talker's name next to it carries the information.
 */
export class LevelMeter {
  readonly element: HTMLDivElement;
  private readonly fill: HTMLDivElement;
  private shown = -1;

  constructor(extraClass = '') {
    this.fill = h('div', { class: 'meter-fill' });
    this.element = h(
      'div',
      { class: `meter ${extraClass}`.trim(), 'aria-hidden': 'true' },
      this.fill,
    );
  }

  set(level: number): void {
    // Speech levels sit low on a linear scale; a square root spreads them over the bar.
    const shown = Math.round(Math.sqrt(Math.min(1, Math.max(0, level))) * 100) / 100;
    if (shown === this.shown) return;
    this.shown = shown;
    this.fill.style.transform = `scaleX(${shown})`;
  }
}
