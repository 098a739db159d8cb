import { h } from './dom.js';

/** Screen-reader announcements: polite for new messages and talkers, assertive for errors. */
export class Announcer {
  readonly element: HTMLDivElement;
  private readonly polite: HTMLDivElement;
  private readonly assertive: HTMLDivElement;

  constructor() {
    this.polite = h('div', {
      'aria-live': 'polite',
      'aria-atomic': 'true',
      'data-testid': 'announce',
    });
    this.assertive = h('div', { 'aria-live': 'assertive', 'aria-atomic': 'true', role: 'alert' });
    this.element = h('div', { class: 'visually-hidden' }, this.polite, this.assertive);
  }

  say(text: string): void {
    this.polite.textContent = text;
  }

  alert(text: string): void {
    this.assertive.textContent = text;
  }
}
