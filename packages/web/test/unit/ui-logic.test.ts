import type { VoiceMessage } from '@imv/protocol';
import { describe, expect, it } from 'vitest';
import { HeardStore, MAX_HEARD_IDS } from '../../src/messages/heard-store.js';
import { MessageStore, nextUnheard, oldOnFirstVisit } from '../../src/messages/message-store.js';
import { computePeaks, MIN_PEAK } from '../../src/messages/peaks.js';
import { formatDuration, speakDuration } from '../../src/ui/format.js';
import { cleanName, inviteUrl, readSettings, type KeyValueStore } from '../../src/ui/settings.js';

/** localStorage's contract over a Map (Node has no Web Storage). */
function memoryStorage(): KeyValueStore & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, String(v)),
    removeItem: (k) => void data.delete(k),
  };
}

function message(id: number, extra: Partial<VoiceMessage> = {}): VoiceMessage {
  return {
    id,
    room: 'crew',
    senderName: 'Ann',
    startedAt: 1_700_000_000_000 + id * 1000,
    durationMs: 2000,
    frameCount: 100,
    bytes: 5000,
    status: 'complete',
    encrypted: false,
    ...extra,
  };
}

describe('formatDuration', () => {
  it('writes m:ss and h:mm:ss, rounding to whole seconds', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(7_370)).toBe('0:07');
    expect(formatDuration(65_000)).toBe('1:05');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatDuration(-5)).toBe('0:00');
  });

  it('speaks durations in words for screen readers', () => {
    expect(speakDuration(1000)).toBe('1 second');
    expect(speakDuration(65_000)).toBe('1 minute 5 seconds');
    expect(speakDuration(120_000)).toBe('2 minutes');
  });
});

describe('readSettings', () => {
  it('takes the room and name from the URL and keeps one clientId across visits', () => {
    const storage = memoryStorage();
    let n = 0;
    const newId = () => `client-id-${++n}`;
    const first = readSettings('?room=Crew%20One&name=%20Ann%20', storage, newId);
    expect(first).toMatchObject({ room: 'crew-one', roomFromUrl: true, name: 'Ann', embed: false });
    const again = readSettings('', storage, newId);
    expect(again.clientId).toBe(first.clientId);
    expect(again.room).toBe('lobby');
    expect(again.name).toBeUndefined();
    expect(n).toBe(1);
  });

  it('keeps embedded duo panes apart by slot', () => {
    const storage = memoryStorage();
    let n = 0;
    const newId = () => `client-id-${++n}`;
    const left = readSettings('?room=duo&name=A&embed=1&slot=left', storage, newId);
    const right = readSettings('?room=duo&name=B&embed=1&slot=right', storage, newId);
    expect(left.clientId).not.toBe(right.clientId);
    expect(left.storagePrefix).toBe('imv.left.');
    expect(right.storagePrefix).toBe('imv.right.');
  });

  it('falls back to lobby for a room name that normalizes to nothing', () => {
    expect(readSettings('?room=%20!!%20', memoryStorage(), () => 'abcdefgh1').room).toBe('lobby');
  });

  it('strips control characters from names and rejects empty ones', () => {
    expect(cleanName('  Bob\u0007 ')).toBe('Bob');
    expect(cleanName(' \t ')).toBeUndefined();
    expect(cleanName('x'.repeat(60))).toHaveLength(40);
  });

  it('builds an invite link that carries only the room', () => {
    expect(inviteUrl('https://voice.lan:8443/?room=a&name=Ann#x', 'crew')).toBe(
      'https://voice.lan:8443/?room=crew',
    );
  });
});

describe('HeardStore', () => {
  it('remembers heard ids per room across page loads', () => {
    const storage = memoryStorage();
    const first = new HeardStore(storage, 'imv.', 'crew');
    expect(first.firstVisit).toBe(true);
    expect(first.add(3, 5)).toBe(true);
    expect(first.add(3)).toBe(false);
    const later = new HeardStore(storage, 'imv.', 'crew');
    expect(later.firstVisit).toBe(false);
    expect([later.has(3), later.has(4), later.has(5)]).toEqual([true, false, true]);
    expect(new HeardStore(storage, 'imv.', 'other').has(3)).toBe(false);
  });

  it(`folds the oldest ids into a floor beyond ${MAX_HEARD_IDS}`, () => {
    const storage = memoryStorage();
    const heard = new HeardStore(storage, 'imv.', 'crew');
    heard.add(...Array.from({ length: MAX_HEARD_IDS + 10 }, (_, i) => i + 1));
    const saved = JSON.parse(storage.data.get('imv.heard.crew')!) as {
      floor: number;
      ids: number[];
    };
    expect(saved.ids).toHaveLength(MAX_HEARD_IDS);
    expect(saved.floor).toBe(10);
    expect(new HeardStore(storage, 'imv.', 'crew').has(1)).toBe(true);
  });

  it('survives a corrupt saved value', () => {
    const storage = memoryStorage();
    storage.setItem('imv.heard.crew', '{not json');
    const heard = new HeardStore(storage, 'imv.', 'crew');
    expect(heard.firstVisit).toBe(false);
    expect(heard.has(1)).toBe(false);
  });
});

describe('MessageStore and auto-play order', () => {
  it('merges pages by id, oldest first, and skips messages still recording', () => {
    const store = new MessageStore();
    expect(store.upsert([message(5), message(2)]).map((m) => m.id)).toEqual([5, 2]);
    expect(
      store.upsert([message(2), message(9, { status: 'recording' }), message(7)]).map((m) => m.id),
    ).toEqual([7]);
    expect(store.all().map((m) => m.id)).toEqual([2, 5, 7]);
    expect([store.minId, store.maxId]).toEqual([2, 7]);
  });

  it('picks the oldest unheard message with audio, skipping failed and encrypted ones', () => {
    const list = [message(1), message(2, { frameCount: 0 }), message(3), message(4)];
    const heard = new Set([1]);
    expect(nextUnheard(list, (id) => heard.has(id))?.id).toBe(3);
    expect(nextUnheard(list, (id) => heard.has(id), new Set([3]))?.id).toBe(4);
    expect(nextUnheard(list, () => true)).toBeUndefined();
    expect(nextUnheard([message(5, { encrypted: true }), message(6)], () => false)?.id).toBe(6);
  });

  it('treats messages older than the first-visit window as already heard', () => {
    const now = 1_700_000_100_000;
    const list = [message(1, { startedAt: now - 10_000 }), message(2, { startedAt: now - 1000 })];
    expect(oldOnFirstVisit(list, now, 5000)).toEqual([1]);
  });
});

describe('computePeaks', () => {
  it('keeps the peak of each bucket scaled to the loudest', () => {
    const samples = new Float32Array(400);
    samples[50] = -0.5; // bucket 0
    samples[150] = 0.25; // bucket 1
    samples[399] = 0.1; // bucket 3
    expect(computePeaks(samples, 4)).toEqual([1, 0.5, MIN_PEAK, 0.2]);
  });

  it('gives a flat line for silence and for empty audio', () => {
    expect(computePeaks(new Float32Array(100), 3)).toEqual([MIN_PEAK, MIN_PEAK, MIN_PEAK]);
    expect(computePeaks(new Float32Array(0), 2)).toEqual([MIN_PEAK, MIN_PEAK]);
  });

  it('handles fewer samples than bars', () => {
    const peaks = computePeaks(Float32Array.from([0.5, -1]), 4);
    expect(peaks).toHaveLength(4);
    expect(Math.max(...peaks)).toBe(1);
  });
});
