import { once } from 'node:events';
import { FRAME_HEADER_LEN, encodeFrame } from '@imv/protocol';
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { serverFixture } from '@imv/test-support/server';

const { servers, joined } = serverFixture();

describe('live relay and voice messages', () => {
  it('forwards each frame to listeners before talk-stop, byte for byte, and acks after the store committed', async () => {
    const server = await servers.start();
    const packets = opusPacketsOf('speech-fr-48k.wav').slice(0, 50);
    const talker = await joined(server.httpUrl, 'lobby', 'alice');
    const listener = await joined(server.httpUrl, 'lobby', 'bob');

    talker.send({ type: 'talk-start', streamId: 7 });
    const started = await talker.next('talk-started');
    expect(started).toMatchObject({
      room: 'lobby',
      streamId: 7,
      from: { name: 'alice' },
      encrypted: false,
    });
    expect((await listener.next('talk-started')).messageId).toBe(started.messageId);

    talker.sendFrame(7, 0, packets[0]!);
    const first = await listener.nextBinary();
    // The listener has the first frame while the talker has not stopped yet.
    expect(talker.texts().some((m) => m.type === 'talk-stopped')).toBe(false);
    expect(Buffer.from(first.subarray(FRAME_HEADER_LEN)).equals(Buffer.from(packets[0]!))).toBe(
      true,
    );

    for (let i = 1; i < packets.length; i++) talker.sendFrame(7, i, packets[i]!);
    talker.send({ type: 'talk-stop', streamId: 7 });
    const stopped = await listener.next('talk-stopped');
    expect(stopped).toMatchObject({ streamId: 7, messageId: started.messageId, reason: 'stop' });
    const ack = await talker.next('message-stored');
    expect(ack.message).toMatchObject({
      id: started.messageId,
      frameCount: packets.length,
      durationMs: packets.length * 20,
      bytes: packets.reduce((n, p) => n + p.length, 0),
      status: 'complete',
      senderName: 'alice',
    });
    expect((await listener.next('message-stored')).message.id).toBe(started.messageId);

    const relayed = listener.binaries().map((b) => Buffer.from(b.subarray(FRAME_HEADER_LEN)));
    expect(relayed).toEqual(packets.map((p) => Buffer.from(p)));
    expect(talker.binaries()).toHaveLength(0);

    // Acked means stored: the REST list shows it at once.
    const list = (await (await fetch(`${server.httpUrl}/api/rooms/lobby/messages`)).json()) as {
      messages: { id: number; status: string; frameCount: number }[];
    };
    expect(list.messages).toEqual([
      expect.objectContaining({ id: started.messageId, status: 'complete', frameCount: 50 }),
    ]);
  });

  it('stops on an END frame with reason end-frame and stores every frame', async () => {
    const server = await servers.start();
    const packets = opusPacketsOf('speech-fr-48k.wav').slice(0, 20);
    const talker = await joined(server.httpUrl, 'r1', 'alice');
    const listener = await joined(server.httpUrl, 'r1', 'bob');
    talker.send({ type: 'talk-start', streamId: 1 });
    await talker.next('talk-started');
    talker.sendPackets(1, packets);
    expect((await listener.next('talk-stopped')).reason).toBe('end-frame');
    expect((await talker.next('message-stored')).message.frameCount).toBe(20);
    // The END frame (empty payload) is relayed too, so listeners learn the end in band.
    await listener.next('message-stored');
    expect(listener.binaries()).toHaveLength(21);
  });

  it('replays missed messages as history, oldest first, before joined and live traffic', async () => {
    const server = await servers.start();
    const packets = opusPacketsOf('speech-fr-48k.wav').slice(0, 5);
    const talker = await joined(server.httpUrl, 'hist', 'alice');
    const ids: number[] = [];
    for (let s = 1; s <= 3; s++) {
      talker.send({ type: 'talk-start', streamId: s });
      talker.sendPackets(s, packets);
      ids.push((await talker.next('message-stored')).message.id);
    }
    const late = await joined(server.httpUrl, 'hist', 'carol', 'all');
    const texts = late.texts();
    expect(texts[0]?.type).toBe('welcome');
    expect(texts[1]).toMatchObject({ type: 'history', room: 'hist', more: false });
    expect(texts[1]?.type === 'history' && texts[1].messages.map((m) => m.id)).toEqual(ids);
    expect(texts[2]?.type).toBe('joined');

    const since = await joined(server.httpUrl, 'hist', 'dave', ids[0]);
    const history = since.texts().find((m) => m.type === 'history');
    expect(history?.type === 'history' && history.messages.map((m) => m.id)).toEqual(ids.slice(1));

    since.send({ type: 'get-history', limit: 2 });
    const page = await since.next('history');
    expect(page.messages.map((m) => m.id)).toEqual(ids.slice(1));
    expect(page.more).toBe(true);
  });

  it('keeps what arrived as partial when the talker drops mid-message', async () => {
    const server = await servers.start();
    const packets = opusPacketsOf('speech-fr-48k.wav').slice(0, 30);
    const talker = await joined(server.httpUrl, 'drop', 'alice');
    const listener = await joined(server.httpUrl, 'drop', 'bob');
    talker.send({ type: 'talk-start', streamId: 3 });
    const { messageId } = await talker.next('talk-started');
    talker.sendPackets(3, packets, false);
    for (let i = 0; i < packets.length; i++) await listener.nextBinary();
    talker.ws.terminate();
    expect(await listener.next('talk-stopped')).toMatchObject({ messageId, reason: 'disconnect' });
    const stored = await listener.next('message-stored');
    expect(stored.message).toMatchObject({ id: messageId, status: 'partial', frameCount: 30 });
    const left = listener
      .texts()
      .flatMap((m) => (m.type === 'members-changed' ? m.left.map((l) => l.name) : []));
    // Presence is batched (members-changed): the leave may come before or after message-stored.
    if (left.length === 0) await listener.nextMembersChange('alice', 'left');
    else expect(left).toEqual(['alice']);
  });

  it('tells a listener who joins mid-talk about the live stream, then relays the rest to it', async () => {
    const server = await servers.start();
    const packets = opusPacketsOf('speech-fr-48k.wav').slice(0, 20);
    const talker = await joined(server.httpUrl, 'mid', 'alice');
    talker.send({ type: 'talk-start', streamId: 2 });
    const { messageId } = await talker.next('talk-started');
    talker.sendPackets(2, packets.slice(0, 10), false);
    talker.send({ type: 'get-history' }); // a round trip: the first 10 frames have been handled
    await talker.next('history');
    const late = await joined(server.httpUrl, 'mid', 'bob');
    const joinedMsg = late.texts().find((m) => m.type === 'joined');
    expect(joinedMsg?.type === 'joined' && joinedMsg.live).toEqual([
      expect.objectContaining({
        streamId: 2,
        messageId,
        from: expect.objectContaining({ name: 'alice' }) as unknown,
      }),
    ]);
    packets.slice(10).forEach((p, i) => talker.sendFrame(2, 10 + i, p));
    talker.send({ type: 'talk-stop', streamId: 2 });
    expect((await late.next('message-stored')).message.frameCount).toBe(20);
    expect(late.binaries().map((b) => b.readUInt32BE(8))).toEqual([
      10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
    ]);
  });

  it('ends a live message with reason left when the talker joins another room, and acks it', async () => {
    const server = await servers.start();
    const talker = await joined(server.httpUrl, 'one', 'alice');
    const listener = await joined(server.httpUrl, 'one', 'bob');
    talker.send({ type: 'talk-start', streamId: 4 });
    const { messageId } = await talker.next('talk-started');
    talker.sendPackets(4, opusPacketsOf('speech-fr-48k.wav').slice(0, 5), false);
    talker.send({ type: 'join', room: 'two' });
    expect(await listener.next('talk-stopped')).toMatchObject({ messageId, reason: 'left' });
    expect((await listener.next('message-stored')).message).toMatchObject({
      status: 'complete',
      frameCount: 5,
    });
    // The ack (room 'one') may arrive after 'joined' for room 'two': the store write is async.
    expect((await talker.next('message-stored')).message.id).toBe(messageId);
    expect(
      talker
        .texts()
        .filter((m) => m.type === 'joined')
        .map((m) => m.type === 'joined' && m.room),
    ).toEqual(['one', 'two']);
  });

  it('cuts a talker that stops answering pings and keeps its message as partial', async () => {
    const server = await servers.start({ pingIntervalMs: 400 });
    const listener = await joined(server.httpUrl, 'ping', 'bob');
    const ws = new WebSocket(`${server.httpUrl.replace('http', 'ws')}/ws`, { autoPong: false });
    ws.on('error', () => undefined);
    await once(ws, 'open');
    ws.send(JSON.stringify({ type: 'hello', protocol: 1, client: 'mute/0', name: 'mute' }));
    ws.send(JSON.stringify({ type: 'join', room: 'ping' }));
    ws.send(JSON.stringify({ type: 'talk-start', streamId: 1 }));
    const { messageId } = await listener.next('talk-started');
    ws.send(
      encodeFrame(
        { flags: 0, streamId: 1, sequence: 0, timestamp: 0 },
        opusPacketsOf('speech-fr-48k.wav')[0]!,
      ),
    );
    const [code] = (await once(ws, 'close')) as [number];
    expect(code).toBe(1006);
    expect(await listener.next('talk-stopped')).toMatchObject({ messageId, reason: 'disconnect' });
    expect((await listener.next('message-stored')).message).toMatchObject({
      status: 'partial',
      frameCount: 1,
    });
    // The listener answers pings (ws does by default) and stays connected.
    expect(listener.closeCode).toBeUndefined();
  });

  it('stops a message at maxMessageMs with MESSAGE_TOO_LONG and stores it complete', async () => {
    const server = await servers.start({ maxMessageMs: 200 });
    const packets = opusPacketsOf('speech-fr-48k.wav').slice(0, 15);
    const talker = await joined(server.httpUrl, 'long', 'alice');
    talker.send({ type: 'talk-start', streamId: 9 });
    await talker.next('talk-started');
    talker.sendPackets(9, packets, false);
    expect(await talker.next('error')).toMatchObject({ code: 'MESSAGE_TOO_LONG', streamId: 9 });
    expect((await talker.next('talk-stopped')).reason).toBe('too-long');
    expect((await talker.next('message-stored')).message).toMatchObject({
      status: 'complete',
      frameCount: 10,
      durationMs: 200,
    });
    // The frames that were already under way are dropped quietly, not answered with UNKNOWN_STREAM.
    talker.send({ type: 'talk-stop', streamId: 9 });
    talker.send({ type: 'get-history' });
    await talker.next('history');
    expect(talker.texts().filter((m) => m.type === 'error')).toHaveLength(1);
  });
});

describe('end-to-end encrypted streams', () => {
  it('stores and relays e2eSalt and keyCheck unchanged and refuses to export the audio', async () => {
    const server = await servers.start();
    const e2e = { e2eSalt: 'AAAAAAAAAAAAAAAAAAAAAA', keyCheck: 'b-_b-_b-_b-_b-_b-_b-_b' };
    const talker = await joined(server.httpUrl, 'secret', 'alice');
    talker.send({ type: 'talk-start', streamId: 5, encrypted: true, ...e2e });
    const started = await talker.next('talk-started');
    expect(started).toMatchObject({ encrypted: true, ...e2e });
    const late = await joined(server.httpUrl, 'secret', 'bob');
    const joinedMsg = late.texts().find((m) => m.type === 'joined');
    expect(joinedMsg?.type === 'joined' && joinedMsg.live).toEqual([
      expect.objectContaining({ messageId: started.messageId, encrypted: true, ...e2e }),
    ]);
    talker.sendFrame(5, 0, new Uint8Array([9, 9, 9, 9]), 0x03);
    const { message } = await talker.next('message-stored');
    expect(message).toMatchObject({ encrypted: true, frameCount: 1, ...e2e });
    const res = await fetch(`${server.httpUrl}/api/rooms/secret/messages/${message.id}`);
    expect(await res.json()).toEqual(message);
    const ogg = await fetch(`${server.httpUrl}/api/rooms/secret/messages/${message.id}.ogg`);
    expect(ogg.status).toBe(409);
    expect(((await ogg.json()) as { code: string }).code).toBe('MESSAGE_ENCRYPTED');
  });
});
