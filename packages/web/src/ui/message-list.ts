import type { VoiceMessage } from '@imv/protocol';
import { h } from './dom.js';
import type { HeardStore } from '../messages/heard-store.js';
import { MessageRow, type RowActions } from './message-row.js';
import type { MessageStore } from '../messages/message-store.js';
import type { MessagePlayer } from '../messages/player.js';
import type { WaveformLoader } from '../messages/waveform-loader.js';

export interface MessageListOptions {
  store: MessageStore;
  heard: HeardStore;
  player: MessagePlayer;
  waveforms: WaveformLoader;
  clientId: string;
  downloadUrl: (id: number) => string;
  /** Downloads go through the page (keyed room: X-Imv-Room-Key cannot ride on a plain link). */
  localDownload: () => boolean;
  /** The page holds the room's end-to-end passphrase. */
  endToEnd: boolean;
  actions: RowActions;
  loadOlder: () => void;
}

/** The room's voice messages, oldest at the top, newest at the bottom next to the talk button. */
export class MessageList {
  readonly element: HTMLElement;
  private readonly list: HTMLOListElement;
  private readonly empty: HTMLParagraphElement;
  private readonly olderButton: HTMLButtonElement;
  private readonly unheardCount: HTMLSpanElement;
  private readonly rows = new Map<number, MessageRow>();

  constructor(private readonly options: MessageListOptions) {
    this.list = h('ol', { class: 'messages', 'aria-label': 'Voice messages' });
    this.empty = h('p', {
      class: 'quiet empty',
      text: 'No messages yet. Hold the button and say hello.',
    });
    this.olderButton = h('button', {
      class: 'older',
      type: 'button',
      hidden: true,
      text: 'Show older messages',
      onclick: () => options.loadOlder(),
    });
    this.unheardCount = h('span', { class: 'unheard-count', 'aria-live': 'off' });
    this.element = h(
      'section',
      { class: 'message-section', 'aria-labelledby': 'messages-title' },
      h('h2', { id: 'messages-title' }, 'Messages ', this.unheardCount),
      this.olderButton,
      this.list,
      this.empty,
    );
  }

  setMoreOlder(more: boolean): void {
    this.olderButton.hidden = !more;
  }

  /** Adds rows for messages not shown yet, in id order, and starts their waveforms. */
  render(): void {
    const messages = this.options.store.all();
    const stickToBottom = this.nearBottom();
    let previous: HTMLElement | null = null;
    let added = false;
    for (const message of messages) {
      let row = this.rows.get(message.id);
      if (!row) {
        row = this.createRow(message);
        if (previous) previous.after(row.element);
        else this.list.prepend(row.element);
        added = true;
      }
      previous = row.element;
    }
    this.empty.hidden = messages.length > 0;
    this.refresh();
    if (added && stickToBottom) previous?.scrollIntoView({ block: 'nearest' });
  }

  /** Shows message `id` (scrolled to, focused); false while it is not listed yet. */
  reveal(id: number): boolean {
    const row = this.rows.get(id);
    row?.reveal();
    return row !== undefined;
  }

  /** Drops a deleted message's row. */
  remove(id: number): void {
    this.rows.get(id)?.dispose();
    this.rows.delete(id);
    this.empty.hidden = this.rows.size > 0;
    this.refresh();
  }

  /** A message turned out not to open with this page's passphrase. */
  markUndecryptable(id: number): void {
    this.rows.get(id)?.setE2e('undecryptable');
  }

  /** Updates play state, progress and unheard marks. */
  refresh(): void {
    const { player, heard } = this.options;
    let unheard = 0;
    for (const [id, row] of this.rows) {
      const message = row.message;
      const current = player.currentId === id;
      // Encrypted messages count only when this page can open them.
      const isUnheard = !heard.has(id) && (!message.encrypted || row.e2eState === 'openable');
      if (isUnheard) unheard++;
      row.update({
        current,
        playing: current && player.playing,
        unheard: isUnheard,
        fraction: player.progress(message),
        durationSec: player.durationSec(message),
        rate: player.rate,
      });
    }
    this.unheardCount.textContent = unheard > 0 ? `(${unheard} new)` : '';
  }

  private createRow(message: VoiceMessage): MessageRow {
    const own =
      message.senderClientId !== undefined && message.senderClientId === this.options.clientId;
    const e2e = !message.encrypted
      ? 'plain'
      : this.options.endToEnd
        ? 'openable'
        : 'needs-passphrase';
    const row = new MessageRow(
      message,
      own,
      this.options.downloadUrl(message.id),
      this.options.actions,
      this.options.localDownload,
      e2e,
    );
    this.rows.set(message.id, row);
    if (e2e !== 'needs-passphrase') {
      // For an encrypted message this also proves the passphrase: the waveform comes from the decrypted audio.
      void this.options.waveforms.peaks(message).then((peaks) => {
        if (peaks) row.waveform.setPeaks(peaks);
      });
    }
    return row;
  }

  private nearBottom(): boolean {
    const scroller = document.scrollingElement;
    if (!scroller) return true;
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 160;
  }
}
