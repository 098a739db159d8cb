import type { VoiceMessage } from '@imv/protocol';
import { h } from '../ui/dom.js';
import { formatDuration, formatTime, speakDuration } from '../ui/format.js';
import { icon } from '../ui/icons.js';
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
}

/** One voice message: play/pause, sender, time, length, waveform seek bar, speed, .ogg download. */
export class MessageRow {
  readonly element: HTMLLIElement;
  readonly waveform: WaveformSlider;
  private readonly playButton: HTMLButtonElement;
  private readonly speedButton: HTMLButtonElement;
  private last: RowState | undefined;

  constructor(
    readonly message: VoiceMessage,
    own: boolean,
    downloadUrl: string,
    actions: RowActions,
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
    const download = h(
      'a',
      {
        class: 'download',
        href: downloadUrl,
        download: `imv-${message.room}-${message.id}.ogg`,
        'aria-label': `Download message from ${who} (.ogg)`,
        title: 'Download .ogg',
      },
      icon('download'),
    );
    const meta = h(
      'div',
      { class: 'meta' },
      h('span', { class: 'sender', text: own ? `${message.senderName} (you)` : message.senderName }),
      h('time', {
        datetime: new Date(message.startedAt).toISOString(),
        text: formatTime(message.startedAt, Date.now()),
      }),
      h('span', { class: 'length', 'aria-label': speakDuration(message.durationMs), text: length }),
      message.status === 'partial' ? h('span', { class: 'tag', text: 'cut off' }) : null,
      message.encrypted ? h('span', { class: 'tag', text: 'encrypted' }) : null,
      h('span', { class: 'badge', text: 'new' }),
    );
    if (message.encrypted) {
      // End-to-end encrypted audio cannot be played or downloaded as .ogg by this page (the server
      // answers 409); the row still shows who said it and when.
      this.playButton.disabled = true;
      download.removeAttribute('href');
      download.setAttribute('aria-disabled', 'true');
      this.waveform.element.setAttribute('aria-disabled', 'true');
    }
    this.element = h(
      'li',
      { class: own ? 'msg own' : 'msg', 'data-id': message.id },
      this.playButton,
      h('div', { class: 'body' }, meta, this.waveform.element),
      this.speedButton,
      download,
    );
  }

  /** Applies playback state; only touches the DOM for what changed since the last call. */
  update(state: RowState): void {
    const last = this.last;
    this.last = state;
    const who = this.element.classList.contains('own') ? 'your message' : `message from ${this.message.senderName}`;
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
