import type { VoiceMessage } from '@imv/protocol';
import { h } from './dom.js';
import { formatDuration, formatTime, speakDuration } from './format.js';
import { icon } from './icons.js';
import { WaveformSlider } from './waveform.js';

export interface RowState {
  playing: boolean;
  current: boolean;
  unheard: boolean;
  fraction: number;
  durationSec: number;
  rate: number;
}

export interface RowActions {
  toggle: (message: VoiceMessage) => void;
  seek: (message: VoiceMessage, fraction: number) => void;
  cycleRate: () => void;
  /** The message's Ogg Opus file, for downloads that need a header or local decryption. */
  file: (message: VoiceMessage) => Promise<Blob>;
}

/** What the page can do with an end-to-end encrypted message. */
export type E2eState = 'plain' | 'needs-passphrase' | 'openable' | 'undecryptable';

export const NEEDS_PASSPHRASE_TEXT = 'end-to-end encrypted — enter the passphrase to play';
export const CANNOT_DECRYPT_TEXT = "cannot decrypt this room's audio — check the passphrase";

/** One voice message: play/pause, sender, time, length, waveform seek bar, speed, .ogg download. */
export class MessageRow {
  readonly element: HTMLLIElement;
  readonly waveform: WaveformSlider;
  private readonly playButton: HTMLButtonElement;
  private readonly speedButton: HTMLButtonElement;
  private readonly download: HTMLAnchorElement;
  private readonly e2eTag: HTMLSpanElement;
  private last: RowState | undefined;
  private blobUrl: string | undefined;

  constructor(
    readonly message: VoiceMessage,
    own: boolean,
    downloadUrl: string,
    actions: RowActions,
    /** Downloads must be made in the page (keyed room: the header; encrypted: decryption). */
    localDownload: () => boolean,
    private e2e: E2eState,
  ) {
    const who = own ? 'you' : message.senderName;
    const length = formatDuration(message.durationMs);
    this.waveform = new WaveformSlider(`Position in message from ${who}`, (f) =>
      actions.seek(message, f),
    );
    this.playButton = h('button', {
      class: 'play',
      type: 'button',
      onclick: () => actions.toggle(message),
    });
    this.speedButton = h('button', {
      class: 'speed',
      type: 'button',
      onclick: () => actions.cycleRate(),
    });
    const download = (this.download = h(
      'a',
      {
        class: 'download',
        href: downloadUrl,
        download: `imv-${message.room}-${message.id}.ogg`,
        'aria-label': `Download message from ${who} (.ogg)`,
        title: 'Download .ogg',
      },
      icon('download'),
    ));
    download.addEventListener('click', (event) => {
      if (!localDownload() && !message.encrypted) return; // a plain link to the server's .ogg
      if (this.blobUrl !== undefined) return; // the built file is the link now
      event.preventDefault();
      void actions.file(message).then(
        (blob) => {
          // A blob: link keeps the download filename and needs no header or key.
          this.blobUrl = URL.createObjectURL(blob);
          download.href = this.blobUrl;
          download.click();
        },
        () => this.setE2e('undecryptable'),
      );
    });
    this.e2eTag = h('span', { class: 'e2e-note' });
    const meta = h(
      'div',
      { class: 'meta' },
      h('span', {
        class: 'sender',
        text: own ? `${message.senderName} (you)` : message.senderName,
      }),
      h('time', {
        datetime: new Date(message.startedAt).toISOString(),
        text: formatTime(message.startedAt, Date.now()),
      }),
      h('span', { class: 'length', 'aria-label': speakDuration(message.durationMs), text: length }),
      message.status === 'partial' ? h('span', { class: 'tag', text: 'cut off' }) : null,
      message.encrypted ? h('span', { class: 'tag', text: 'encrypted' }) : null,
      h('span', { class: 'badge', text: 'new' }),
    );
    this.element = h(
      'li',
      { class: own ? 'msg own' : 'msg', 'data-id': message.id },
      this.playButton,
      h('div', { class: 'body' }, meta, this.waveform.element, this.e2eTag),
      this.speedButton,
      download,
    );
    this.setE2e(e2e);
  }

  get e2eState(): E2eState {
    return this.e2e;
  }

  /**
   * End-to-end encrypted messages play only with the room's passphrase; without it, or with another
   * one, the row says why and offers no play or download (never noise).
   */
  setE2e(state: E2eState): void {
    this.e2e = state;
    const blocked = state === 'needs-passphrase' || state === 'undecryptable';
    this.playButton.disabled = blocked;
    if (blocked) this.waveform.element.setAttribute('aria-disabled', 'true');
    else this.waveform.element.removeAttribute('aria-disabled');
    if (blocked) {
      this.download.removeAttribute('href');
      this.download.setAttribute('aria-disabled', 'true');
    }
    this.e2eTag.textContent =
      state === 'needs-passphrase'
        ? NEEDS_PASSPHRASE_TEXT
        : state === 'undecryptable'
          ? CANNOT_DECRYPT_TEXT
          : '';
  }

  /** Brings the row into view and puts focus on its play button (opened from a notification). */
  reveal(): void {
    this.element.classList.add('revealed');
    this.element.scrollIntoView({ block: 'center' });
    this.playButton.focus({ preventScroll: true });
  }

  dispose(): void {
    if (this.blobUrl !== undefined) URL.revokeObjectURL(this.blobUrl);
    this.element.remove();
  }

  /** Applies playback state; only touches the DOM for what changed since the last call. */
  update(state: RowState): void {
    const last = this.last;
    this.last = state;
    const who = this.element.classList.contains('own')
      ? 'your message'
      : `message from ${this.message.senderName}`;
    if (last?.playing !== state.playing) {
      this.playButton.replaceChildren(icon(state.playing ? 'pause' : 'play'));
      this.playButton.setAttribute('aria-label', `${state.playing ? 'Pause' : 'Play'} ${who}`);
      this.element.classList.toggle('playing', state.playing);
    }
    if (last?.unheard !== state.unheard) this.element.classList.toggle('unheard', state.unheard);
    if (last?.current !== state.current) this.element.classList.toggle('current', state.current);
    if (last?.rate !== state.rate) {
      this.speedButton.textContent = `${state.rate}×`;
      this.speedButton.setAttribute('aria-label', `Playback speed ${state.rate}×, tap to change`);
    }
    this.waveform.update(state.fraction, state.durationSec);
  }
}
