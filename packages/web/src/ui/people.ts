import type { LiveStream, Member, TalkStarted } from '@imv/protocol';
import { h } from './dom.js';
import { LevelMeter } from './level-meter.js';

interface Talker {
  name: string;
  memberId: string;
  row: HTMLLIElement;
  meter: LevelMeter;
}

/** Who is talking right now (with a live level each) and who is in the room. */
export class PeoplePanel {
  readonly element: HTMLElement;
  private readonly talkerList: HTMLUListElement;
  private readonly idle: HTMLParagraphElement;
  private readonly memberList: HTMLUListElement;
  private readonly count: HTMLSpanElement;
  private readonly talkers = new Map<number, Talker>();
  private youId: string | undefined;
  /** Everyone else in the room: who hears you while you talk. */
  private others: string[] = [];
  private readonly self: SelfTalk;

  constructor() {
    this.talkerList = h('ul', { class: 'talkers', 'aria-label': 'Talking now' });
    this.idle = h('p', { class: 'quiet', text: 'Nobody is talking' });
    this.count = h('span', { class: 'count' });
    this.memberList = h('ul', { class: 'members', 'aria-label': 'People in the room' });
    this.self = new SelfTalk();
    this.talkerList.append(this.self.row);
    this.element = h(
      'section',
      { class: 'people', 'aria-label': 'People' },
      h('div', { class: 'now' }, this.idle, this.talkerList),
      h('div', { class: 'here' }, h('h2', {}, 'Here ', this.count), this.memberList),
    );
  }

  /** After each (re)join: the full member list and the streams already live. */
  joined(you: Member, members: Member[], live: LiveStream[]): void {
    this.youId = you.id;
    for (const streamId of [...this.talkers.keys()]) this.stopped(streamId);
    for (const stream of live) this.started(stream.streamId, stream.from);
    this.setMembers(members);
  }

  setMembers(members: Member[]): void {
    const sorted = [...members].sort((a, b) => {
      if (a.id === this.youId) return -1;
      if (b.id === this.youId) return 1;
      return a.name.localeCompare(b.name);
    });
    this.count.textContent = `(${members.length})`;
    this.others = sorted.filter((m) => m.id !== this.youId).map((m) => m.name);
    this.self.setListeners(this.others);
    this.memberList.replaceChildren(
      ...sorted.map((m) =>
        h(
          'li',
          { class: m.id === this.youId ? 'member you' : 'member', title: m.name },
          h('span', { class: 'avatar', 'aria-hidden': 'true', text: initials(m.name) }),
          h('span', {
            class: 'member-name',
            text: m.id === this.youId ? `${m.name} (you)` : m.name,
          }),
        ),
      ),
    );
  }

  /** Returns true when the talker is someone else (the UI holds auto-play while others talk). */
  started(streamId: number, from: TalkStarted['from']): boolean {
    if (from.id === this.youId || this.talkers.has(streamId)) return false;
    const meter = new LevelMeter();
    const row = h(
      'li',
      { class: 'talker' },
      h('span', { class: 'pulse', 'aria-hidden': 'true' }),
      h('span', { class: 'talker-name', text: `${from.name} is talking` }),
      meter.element,
    );
    this.talkers.set(streamId, { name: from.name, memberId: from.id, row, meter });
    this.talkerList.append(row);
    this.renderIdle();
    return true;
  }

  stopped(streamId: number): void {
    const talker = this.talkers.get(streamId);
    if (!talker) return;
    talker.row.remove();
    this.talkers.delete(streamId);
    this.renderIdle();
  }

  /** Your own talk: "You are talking", your level and who hears you, above the others. */
  setSelfTalking(talking: boolean): void {
    this.self.row.hidden = !talking;
    if (!talking) this.self.meter.set(0);
    this.renderIdle();
  }

  /** Your microphone level while you talk (0..1). */
  selfLevel(level: number): void {
    if (!this.self.row.hidden) this.self.meter.set(level);
  }

  level(streamId: number, level: number): void {
    this.talkers.get(streamId)?.meter.set(level);
  }

  /** Others talking right now. */
  get liveCount(): number {
    return this.talkers.size;
  }

  private renderIdle(): void {
    this.idle.hidden = this.talkers.size > 0 || !this.self.row.hidden;
  }
}

/** The row of your own talk in the "Talking now" list; hidden while you do not talk. */
class SelfTalk {
  readonly row: HTMLLIElement;
  readonly meter = new LevelMeter();
  private readonly hearing: HTMLSpanElement;

  constructor() {
    this.hearing = h('span', { class: 'hearing' });
    this.row = h(
      'li',
      { class: 'talker you', hidden: true },
      h('span', { class: 'pulse', 'aria-hidden': 'true' }),
      h('span', { class: 'talker-name', text: 'You are talking' }),
      this.meter.element,
      this.hearing,
    );
    this.setListeners([]);
  }

  setListeners(names: readonly string[]): void {
    this.hearing.textContent =
      names.length === 0
        ? 'Nobody else is here: your message is kept for later'
        : `Heard by ${listNames(names)}`;
  }
}

/** "Bob", "Bob and Carol", "Bob, Carol and 3 others" (short enough for a phone line). */
function listNames(names: readonly string[]): string {
  if (names.length === 1) return names[0]!;
  if (names.length <= 3) return `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
  return `${names.slice(0, 2).join(', ')} and ${names.length - 2} others`;
}

function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters =
    words.length > 1 ? [words[0]![0], words[1]![0]] : [...(words[0] ?? '?')].slice(0, 2);
  return letters.join('').toUpperCase();
}
