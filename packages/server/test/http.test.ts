import { hostname } from 'node:os';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { correlate } from '@imv/media';
import { PROTOCOL_VERSION } from '@imv/protocol';
import { OggOpusDecoder } from 'ogg-opus-decoder';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ImvServer } from '../src/index.js';
import { fixturePath, opusPacketsOf, readWavMono } from './helpers/opus-fixture.js';
import { TestClient, TestServers } from '@imv/test-support/server';

interface ErrorBody {
  code: string;
  message: string;
  statusCode: number;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

/** Sends `packets` as one message in `room` and returns its stored id. */
async function sendMessage(
  server: ImvServer,
  room: string,
  packets: readonly Uint8Array[],
  streamId = 1,
): Promise<number> {
  const talker = await TestClient.joined(server.httpUrl, room, 'alice');
  talker.send({ type: 'talk-start', streamId });
  talker.sendPackets(streamId, packets);
  const id = (await talker.next('message-stored')).message.id;
  await talker.close();
  return id;
}

describe('REST: messages and audio', () => {
  const servers = new TestServers();
  let server: ImvServer;
  let speechId: number;
  const shortIds: number[] = [];
  const speech = opusPacketsOf('speech-en-48k.wav');

  beforeAll(async () => {
    server = await servers.start({ storeInWorker: true });
    speechId = await sendMessage(server, 'lobby', speech);
    for (let i = 0; i < 4; i++)
      shortIds.push(await sendMessage(server, 'paging', speech.slice(0, 3), i + 1));
  });
  afterAll(() => servers.cleanup());

  it('GET /api/health reports ok, version, protocol, the node id, the store and the bus', async () => {
    const { status, body } = await getJson<{ ok: boolean; version: string; protocol: number }>(
      `${server.httpUrl}/api/health`,
    );
    expect(status).toBe(200);
    expect(body).toEqual({
      ok: true,
      version: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown,
      protocol: PROTOCOL_VERSION,
      node: `${hostname()}:${server.port}`,
      store: { kind: 'sqlite', reachable: true },
      bus: { kind: 'memory', url: 'memory', reachable: true },
    });
  });

  it('lists the newest messages oldest first and pages with before/after/limit', async () => {
    const url = `${server.httpUrl}/api/rooms/paging/messages`;
    const all = await getJson<{ room: string; messages: { id: number }[]; more: boolean }>(url);
    expect(all.body.room).toBe('paging');
    expect(all.body.messages.map((m) => m.id)).toEqual(shortIds);
    expect(all.body.more).toBe(false);
    const newest = await getJson<{ messages: { id: number }[]; more: boolean }>(`${url}?limit=2`);
    expect(newest.body.messages.map((m) => m.id)).toEqual(shortIds.slice(2));
    expect(newest.body.more).toBe(true);
    const older = await getJson<{ messages: { id: number }[]; more: boolean }>(
      `${url}?limit=2&before=${shortIds[2]}`,
    );
    expect(older.body).toMatchObject({
      messages: shortIds.slice(0, 2).map((id) => ({ id })),
      more: false,
    });
    const after = await getJson<{ messages: { id: number }[]; more: boolean }>(
      `${url}?after=${shortIds[0]}&limit=2`,
    );
    expect(after.body).toMatchObject({
      messages: shortIds.slice(1, 3).map((id) => ({ id })),
      more: true,
    });
    const empty = await getJson<{ messages: unknown[]; more: boolean }>(
      `${server.httpUrl}/api/rooms/nobody-here/messages`,
    );
    expect(empty.body).toEqual({ room: 'nobody-here', messages: [], more: false });
  });

  it('rejects bad paging parameters and room names with BAD_REQUEST', async () => {
    for (const query of ['limit=0', 'limit=201', 'after=-1', 'before=abc']) {
      const { status, body } = await getJson<ErrorBody>(
        `${server.httpUrl}/api/rooms/paging/messages?${query}`,
      );
      expect(status, query).toBe(400);
      expect(body.code, query).toBe('BAD_REQUEST');
      expect(body.statusCode).toBe(400);
    }
    const { status, body } = await getJson<ErrorBody>(
      `${server.httpUrl}/api/rooms/Bad%20Room/messages`,
    );
    expect([status, body.code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('returns one message, and NOT_FOUND for another room, a missing id or an unknown route', async () => {
    const one = await getJson<{ id: number; frameCount: number; status: string }>(
      `${server.httpUrl}/api/rooms/lobby/messages/${speechId}`,
    );
    expect(one.body).toMatchObject({
      id: speechId,
      frameCount: speech.length,
      status: 'complete',
      durationMs: speech.length * 20,
    });
    for (const url of [
      `/api/rooms/paging/messages/${speechId}`,
      '/api/rooms/lobby/messages/9999',
      '/api/nope',
    ]) {
      const { status, body } = await getJson<ErrorBody>(`${server.httpUrl}${url}`);
      expect([status, body.code, body.statusCode], url).toEqual([404, 'NOT_FOUND', 404]);
    }
  });

  it('downloads a message as Ogg Opus that opusinfo accepts, opusdec decodes, and that sounds like the source', async () => {
    const res = await fetch(`${server.httpUrl}/api/rooms/lobby/messages/${speechId}.ogg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('audio/ogg');
    expect(res.headers.get('content-disposition')).toBe(
      `attachment; filename="imv-lobby-${speechId}.ogg"`,
    );
    const file = new Uint8Array(await res.arrayBuffer());

    const dir = servers.tempDir();
    mkdirSync(dir, { recursive: true });
    const oggPath = path.join(dir, 'message.ogg');
    writeFileSync(oggPath, file);
    const info = execFileSync('opusinfo', [oggPath], { encoding: 'utf8' });
    expect(info).not.toMatch(/warning|error/i);
    execFileSync('opusdec', ['--quiet', oggPath, path.join(dir, 'message.wav')]);

    const source = readWavMono(fixturePath('speech-en-48k.wav'));
    const decoder = new OggOpusDecoder();
    await decoder.ready;
    const decoded = (await decoder.decodeFile(file)).channelData[0]!;
    decoder.free();
    expect(Math.abs(decoded.length - source.length) / source.length).toBeLessThan(0.05);
    const fromOpusdec = readWavMono(path.join(dir, 'message.wav'));
    expect(Math.abs(fromOpusdec.length - decoded.length)).toBeLessThan(960);
    const { correlation } = correlate(source, decoded, { maxLagSamples: 4800 });
    expect(correlation).toBeGreaterThanOrEqual(0.9);
  });

  it('refuses the audio of a message in another room with NOT_FOUND', async () => {
    const { status, body } = await getJson<ErrorBody>(
      `${server.httpUrl}/api/rooms/paging/messages/${speechId}.ogg`,
    );
    expect([status, body.code]).toEqual([404, 'NOT_FOUND']);
  });
});

describe('web client', () => {
  const servers = new TestServers();
  afterEach(() => servers.cleanup());

  it('serves index.html at /, duo.html at /duo and assets from webRoot', async () => {
    const webRoot = servers.tempDir();
    writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>imv main</title>');
    writeFileSync(path.join(webRoot, 'duo.html'), '<!doctype html><title>imv duo</title>');
    mkdirSync(path.join(webRoot, 'assets'));
    writeFileSync(path.join(webRoot, 'assets', 'app.js'), 'console.log(1)');
    const server = await servers.start({ webRoot });
    const index = await fetch(`${server.httpUrl}/`);
    expect(index.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await index.text()).toContain('imv main');
    expect(await (await fetch(`${server.httpUrl}/duo`)).text()).toContain('imv duo');
    const asset = await fetch(`${server.httpUrl}/assets/app.js`);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${server.httpUrl}/assets/missing.js`)).status).toBe(404);
  });

  it('serves the service worker and the pages for revalidation on every load, hashed assets as immutable', async () => {
    const webRoot = servers.tempDir();
    writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>imv main</title>');
    writeFileSync(path.join(webRoot, 'sw.js'), 'self.addEventListener("fetch", () => {});');
    mkdirSync(path.join(webRoot, 'assets'));
    writeFileSync(path.join(webRoot, 'assets', 'app-Ab12.js'), 'console.log(1)');
    const server = await servers.start({ webRoot });
    const sw = await fetch(`${server.httpUrl}/sw.js`);
    expect(sw.status).toBe(200);
    expect(sw.headers.get('content-type')).toMatch(/javascript/);
    expect(sw.headers.get('cache-control')).toBe('no-cache');
    // The service worker lives at the root, so its default scope is the whole app; the CSP lets
    // the page start it from its own origin.
    expect(sw.headers.get('content-security-policy')).toContain("worker-src 'self'");
    expect((await fetch(`${server.httpUrl}/`)).headers.get('cache-control')).toBe('no-cache');
    expect((await fetch(`${server.httpUrl}/assets/app-Ab12.js`)).headers.get('cache-control')).toBe(
      'public, max-age=31536000, immutable',
    );
  });

  it('explains at / that the web client is not built when webRoot has no index.html', async () => {
    const server = await servers.start({ webRoot: servers.tempDir() });
    const res = await fetch(`${server.httpUrl}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('npm run build');
  });
});
