import type { ConnectionState } from '../voice-client-api.js';
import { h } from './dom.js';
import { icon } from './icons.js';

/**
 * Banners above the content: connection trouble, the "tap to enable sound" button that browsers'
 * autoplay rules require, and problems (microphone, server errors) with a dismiss button.
 */
export class StatusArea {
  readonly element: HTMLDivElement;
  private readonly connection: HTMLParagraphElement;
  private readonly soundButton: HTMLButtonElement;
  private readonly problem: HTMLDivElement;
  private readonly problemText: HTMLParagraphElement;
  /** To the audio doctor (doctor.html), under a microphone problem or the sound button. */
  private readonly doctorLink: HTMLAnchorElement;
  /** The problem on screen is about the microphone or sound. */
  private audioProblem = false;

  constructor(
    private serverLabel: string,
    onEnableSound: () => void,
  ) {
    this.connection = h('p', { class: 'banner connection', role: 'status', hidden: true });
    this.soundButton = h(
      'button',
      { class: 'banner sound', type: 'button', hidden: true, onclick: onEnableSound },
      icon('speaker'),
      h('span', { text: 'Tap to enable sound' }),
    );
    this.problemText = h('p', { class: 'problem-text' });
    this.doctorLink = h('a', {
      class: 'doctor-link',
      href: './doctor.html',
      hidden: true,
      text: 'Check your microphone and sound with the audio doctor',
    });
    this.problem = h(
      'div',
      { class: 'banner problem', role: 'alert', hidden: true },
      this.problemText,
      h('button', {
        class: 'dismiss',
        type: 'button',
        'aria-label': 'Dismiss this message',
        text: '×',
        onclick: () => this.clearProblem(),
      }),
    );
    this.element = h(
      'div',
      { class: 'status' },
      this.connection,
      this.soundButton,
      this.problem,
      this.doctorLink,
    );
  }

  setConnection(state: ConnectionState, online: boolean): void {
    const text = (() => {
      if (!online) return 'You are offline. imv will reconnect when the network is back.';
      switch (state) {
        case 'open':
          return '';
        case 'connecting':
          return `Connecting to ${this.serverLabel}…`;
        case 'reconnecting':
          return `Cannot reach the imv server at ${this.serverLabel}, retrying…`;
        case 'closed':
          return `Cannot reach the server at ${this.serverLabel}. Check that imv is running, then reload this page.`;
      }
    })();
    this.connection.textContent = text;
    this.connection.hidden = text === '';
    this.connection.dataset.state = online ? state : 'offline';
  }

  /** The client moved to another node of the cluster: name it in the banners from now on. */
  setServer(label: string): void {
    this.serverLabel = label;
  }

  setSoundNeeded(needed: boolean): void {
    this.soundButton.hidden = !needed;
    this.updateDoctorLink();
  }

  /** `audio`: a microphone or sound problem, which the audio doctor can help with. */
  showProblem(text: string, options: { audio?: boolean } = {}): void {
    this.audioProblem = options.audio === true;
    this.problemText.textContent = text;
    this.problem.classList.remove('notice');
    this.problem.setAttribute('role', 'alert');
    this.problem.hidden = false;
    this.updateDoctorLink();
  }

  private updateDoctorLink(): void {
    const problemShown = !this.problem.hidden && !this.problem.classList.contains('notice');
    this.doctorLink.hidden = !((problemShown && this.audioProblem) || !this.soundButton.hidden);
  }

  /** Information rather than trouble (an invite link was copied): same place, calmer look. */
  showNotice(text: string): void {
    this.problemText.textContent = text;
    this.problem.classList.add('notice');
    this.problem.setAttribute('role', 'status');
    this.problem.hidden = false;
    this.audioProblem = false;
    this.updateDoctorLink();
  }

  /** A problem (not a notice) is on screen. */
  get showingProblem(): boolean {
    return !this.problem.hidden && !this.problem.classList.contains('notice');
  }

  clearProblem(): void {
    this.problem.hidden = true;
    this.problemText.textContent = '';
    this.audioProblem = false;
    this.updateDoctorLink();
  }
}
