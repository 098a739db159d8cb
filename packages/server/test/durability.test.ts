import { OggOpusDecoder } from 'ogg-opus-decoder';
import { afterEach, describe, expect, it } from 'vitest';
import type { VoiceMessage } from '@imv/protocol';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { ServerProcess } from './helpers/server-process.js';
import { serverFixture } from '@imv/test-support/server';

const { servers, joined } = serverFixture();
const processes: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.kill('SIGKILL')));
});

async function startProcess(dataDir: string): Promise<ServerProcess> {
  const proc = await ServerProcess.start(dataDir);
  processes.push(proc);
  return proc;
}

async function listRoom(url: string, room: string): Promise<VoiceMessage[]> {
  const res = await fetch(`${url}/api/rooms/${room}/messages`);
  return ((await res.json()) as { messages: VoiceMessage[] }).messages;
}

async function decodedSamples(url: string, room: string, id: number): Promise<number> {
  const res = await fetch(`${url}/api/rooms/${room}/messages/${id}.ogg`);
  expect(res.status).toBe(200);
  const decoder = new OggOpusDecoder();
  await decoder.ready;
  const { samplesDecoded } = await decoder.decodeFile(new Uint8Array(await res.arrayBuffer()));
  decoder.free();
  return samplesDecoded;
}

describe('durability', () => {
  const packets = opusPacketsOf('speech-fr-48k.wav');

  it('keeps history across close and a restart on the same data dir', async () => {
    const dataDir = servers.tempDir();
    const first = await servers.start({ dataDir, storeInWorker: true });
    const talker = await joined(first.httpUrl, 'lobby', 'alice');
    talker.send({ type: 'talk-start', streamId: 1 });
    talker.sendPackets(1, packets.slice(0, 40));
    const stored = (await talker.next('message-stored')).message;
    await first.close();

    const second = await servers.start({ dataDir, storeInWorker: true });
    expect(await listRoom(second.httpUrl, 'lobby')).toEqual([stored]);
    expect(await decodedSamples(second.httpUrl, 'lobby', stored.id)).toBe(40 * 960 - 312);
  });

  it('close() stops live talks as partial with reason shutdown, then closes every socket with 1001', async () => {
    const dataDir = servers.tempDir();
    const server = await servers.start({ dataDir, storeInWorker: true });
    const talker = await joined(server.httpUrl, 'lobby', 'alice');
    const listener = await joined(server.httpUrl, 'lobby', 'bob');
    talker.send({ type: 'talk-start', streamId: 4 });
    const { messageId } = await talker.next('talk-started');
    talker.sendPackets(4, packets.slice(0, 12), false);
    for (let i = 0; i < 12; i++) await listener.nextBinary();
    await server.close();
    expect(await listener.closed).toBe(1001);
    expect(await talker.closed).toBe(1001);
    expect(listener.texts().find((m) => m.type === 'talk-stopped')).toMatchObject({
      messageId,
      reason: 'shutdown',
    });
    const stored = talker.texts().find((m) => m.type === 'message-stored');
    expect(stored).toMatchObject({ message: { id: messageId, status: 'partial', frameCount: 12 } });

    const again = await servers.start({ dataDir, storeInWorker: true });
    expect(await listRoom(again.httpUrl, 'lobby')).toMatchObject([
      { id: messageId, status: 'partial', frameCount: 12 },
    ]);
  });

  it('loses nothing acked on SIGKILL; the unacked in-flight message comes back partial', async () => {
    const dataDir = servers.tempDir();
    const proc = await startProcess(dataDir);
    const talker = await joined(proc.httpUrl, 'lobby', 'alice');
    const listener = await joined(proc.httpUrl, 'lobby', 'bob');
    talker.send({ type: 'talk-start', streamId: 1 });
    talker.sendPackets(1, packets.slice(0, 100));
    const acked = (await talker.next('message-stored')).message;
    expect(acked.frameCount).toBe(100);

    talker.send({ type: 'talk-start', streamId: 2 });
    const { messageId: inFlight } = await talker.next('talk-started');
    talker.sendPackets(2, packets.slice(0, 30), false);
    for (let i = 0; i < 30; i++) await listener.nextBinary();
    expect(await proc.kill('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });

    const restarted = await startProcess(dataDir);
    const messages = await listRoom(restarted.httpUrl, 'lobby');
    expect(messages[0]).toEqual(acked);
    expect(messages.slice(1)).toMatchObject([{ id: inFlight, status: 'partial' }]);
    expect(messages[1]!.frameCount).toBeLessThanOrEqual(30);
    expect(await decodedSamples(restarted.httpUrl, 'lobby', acked.id)).toBe(100 * 960 - 312);
  });

  it('on SIGTERM keeps the live message as partial, closes sockets with 1001 and exits 0', async () => {
    const dataDir = servers.tempDir();
    const proc = await startProcess(dataDir);
    const talker = await joined(proc.httpUrl, 'lobby', 'alice');
    const listener = await joined(proc.httpUrl, 'lobby', 'bob');
    talker.send({ type: 'talk-start', streamId: 8 });
    const { messageId } = await talker.next('talk-started');
    talker.sendPackets(8, packets.slice(0, 20), false);
    for (let i = 0; i < 20; i++) await listener.nextBinary();
    const exit = await proc.kill('SIGTERM');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(await listener.closed).toBe(1001);
    expect(listener.texts().find((m) => m.type === 'message-stored')).toMatchObject({
      message: { id: messageId, status: 'partial', frameCount: 20 },
    });

    const restarted = await startProcess(dataDir);
    expect(await listRoom(restarted.httpUrl, 'lobby')).toMatchObject([
      { id: messageId, status: 'partial', frameCount: 20 },
    ]);
    // Every log line about a connection carries its id.
    const lines = proc.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const talkStart = lines.find((l) => l.msg === 'talk start');
    expect(talkStart).toMatchObject({
      conn: expect.stringMatching(/^c\d+$/) as unknown,
      messageId,
      streamId: 8,
    });
    expect(lines.find((l) => l.msg === 'talk stop')).toMatchObject({
      messageId,
      reason: 'shutdown',
      frames: 20,
    });
    expect(
      lines.filter((l) => l.msg === 'connected').every((l) => typeof l.conn === 'string'),
    ).toBe(true);
  });
});
