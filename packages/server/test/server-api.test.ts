import { Writable } from 'node:stream';
import { FRAME_HEADER_LEN } from '@imv/protocol';
import { describe, expect, it } from 'vitest';
import { printBanner } from '../src/index.js';
import { reachableUrls } from '../src/network.js';
import { TestClient, serverFixture } from '@imv/test-support/server';

const { servers, clients } = serverFixture();

/** Collects pino's JSON lines. */
class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim() !== '') this.lines.push(JSON.parse(line) as Record<string, unknown>);
    done();
  }
}

describe('startServer options and banner', () => {
  it('prints "imv server listening" then each URL on its own line, loopback first', async () => {
    const server = await servers.start();
    let text = '';
    const out = new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString('utf8');
        done();
      },
    });
    printBanner(server, out);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('imv server listening');
    expect(lines[1]?.trim()).toBe(`http://127.0.0.1:${server.port}`);
    expect(server.httpUrl).toBe(`http://127.0.0.1:${server.port}`);
  });

  it('lists localhost and each LAN address for a wildcard bind', () => {
    const urls = reachableUrls('0.0.0.0', 8080);
    expect(urls[0]).toBe('http://localhost:8080');
    expect(urls.every((u) => /^http:\/\/[^/]+:8080$/.test(u))).toBe(true);
    expect(urls.some((u) => u.includes('127.0.0.1'))).toBe(false);
    expect(reachableUrls('192.168.1.5', 9000)).toEqual(['http://192.168.1.5:9000']);
  });

  it('creates a missing data dir and stores imv.sqlite in it', async () => {
    const dataDir = `${servers.tempDir()}/nested/data`;
    const server = await servers.start({ dataDir });
    const res = await fetch(`${server.httpUrl}/api/health`);
    expect(res.status).toBe(200);
    const { existsSync } = await import('node:fs');
    expect(existsSync(`${dataDir}/imv.sqlite`)).toBe(true);
  });
});

describe('logging and slow listeners', () => {
  it('logs JSON lines with the connection id, talk start/stop and client errors with their code', async () => {
    const logs = new LogCapture();
    const server = await servers.start({ logLevel: 'info', logDestination: logs });
    const talker = await TestClient.joined(server.httpUrl, 'lobby', 'alice');
    clients.push(talker);
    talker.sendRaw('{oops');
    await talker.next('error');
    talker.send({ type: 'talk-start', streamId: 3 });
    talker.sendFrame(3, 0, new Uint8Array([0xfc, 1, 2]), 1);
    const { message } = await talker.next('message-stored');
    const conn = logs.lines.find((l) => l.msg === 'connected')?.conn;
    expect(conn).toMatch(/^c\d+$/);
    expect(logs.lines.find((l) => l.msg === 'hello')).toMatchObject({ conn, name: 'alice' });
    expect(logs.lines.find((l) => l.msg === 'joined')).toMatchObject({ conn, room: 'lobby' });
    expect(logs.lines.find((l) => l.code === 'BAD_JSON')).toMatchObject({ conn });
    expect(logs.lines.find((l) => l.msg === 'talk start')).toMatchObject({
      conn,
      streamId: 3,
      messageId: message.id,
    });
    expect(logs.lines.find((l) => l.msg === 'talk stop')).toMatchObject({
      conn,
      messageId: message.id,
      frames: 1,
      reason: 'end-frame',
    });
  });

  it('drops live frames for a listener that stops reading, logs it once, and still stores every frame', async () => {
    const logs = new LogCapture();
    const server = await servers.start({
      logLevel: 'info',
      logDestination: logs,
      slowListenerBytes: 512 * 1024,
    });
    const talker = await TestClient.joined(server.httpUrl, 'lobby', 'alice');
    const stalled = await TestClient.joined(server.httpUrl, 'lobby', 'slow');
    const healthy = await TestClient.joined(server.httpUrl, 'lobby', 'fast');
    clients.push(talker, stalled, healthy);
    const stalledConn = stalled.texts().find((m) => m.type === 'welcome');
    // Stop reading at the TCP level: the server's send buffer for this socket fills up.
    const socket = (stalled.ws as unknown as { _socket: { pause(): void; resume(): void } })
      ._socket;
    socket.pause();

    const frames = 2500;
    const payload = new Uint8Array(4000).fill(0xfc); // 10 MB in all, well over what TCP buffers hold
    talker.send({ type: 'talk-start', streamId: 1 });
    await talker.next('talk-started');
    // Paced by the healthy listener, so only the stalled one falls behind.
    let heard = 0;
    for (let i = 0; i < frames; i++) {
      talker.sendFrame(1, i, payload);
      if ((i + 1) % 100 === 0) for (; heard <= i; heard++) await healthy.nextBinary();
    }
    talker.send({ type: 'talk-stop', streamId: 1 });
    const { message } = await talker.next('message-stored');
    expect(message.frameCount).toBe(frames);
    await healthy.next('message-stored');
    expect(healthy.binaries()).toHaveLength(frames);

    socket.resume();
    await stalled.next('message-stored');
    const received = stalled.binaries();
    expect(received.length).toBeLessThan(frames);
    // What did arrive is intact and in order.
    const sequences = received.map((b) => b.readUInt32BE(8));
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(received.every((b) => b.length === FRAME_HEADER_LEN + payload.length)).toBe(true);
    const warnings = logs.lines.filter((l) => l.msg === 'slow listener: dropping live frames');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.conn).toBe(
      stalledConn?.type === 'welcome' ? stalledConn.connectionId : undefined,
    );
  });
});
