import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImvServer } from '../src/index.js';
import { opusPacketsOf } from './helpers/opus-fixture.js';
import { TestClient } from './helpers/test-client.js';
import { TestServers } from './helpers/test-server.js';

interface ErrorBody {
  code: string;
  message: string;
  statusCode: number;
}

/** A GET with the path sent exactly as written (fetch would normalise `/../`). */
function rawGet(server: ImvServer, rawPath: string): Promise<{ status: number; body: ErrorBody }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: server.port, path: rawPath }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as ErrorBody }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('REST edges: canonical ids and a code for every error status', () => {
  const servers = new TestServers();
  let server: ImvServer;
  let id: number;

  beforeAll(async () => {
    const webRoot = servers.tempDir();
    writeFileSync(path.join(webRoot, 'index.html'), '<!doctype html><title>imv</title>');
    server = await servers.start({ webRoot });
    const talker = await TestClient.joined(server.httpUrl, 'edges', 'alice');
    talker.send({ type: 'talk-start', streamId: 1 });
    talker.sendPackets(1, opusPacketsOf('speech-en-48k.wav').slice(0, 3));
    id = (await talker.next('message-stored')).message.id;
    await talker.close();
  });
  afterAll(() => servers.cleanup());

  it('serves a message by its canonical id', async () => {
    for (const suffix of ['', '.ogg', '.frames']) {
      const res = await fetch(`${server.httpUrl}/api/rooms/edges/messages/${id}${suffix}`);
      expect(res.status, suffix).toBe(200);
    }
  });

  it('refuses ids that are not canonical positive decimal integers with 400 BAD_REQUEST', async () => {
    const ids = [
      `0x${id.toString(16)}`,
      '1e3',
      `0${id}`,
      `+${id}`,
      `-${id}`,
      '0',
      `${id}.0`,
      `%20${id}`,
      '12345678901234567890',
      '9007199254740992',
    ];
    for (const bad of ids) {
      for (const suffix of ['', '.ogg', '.frames']) {
        const url = `${server.httpUrl}/api/rooms/edges/messages/${bad}${suffix}`;
        const res = await fetch(url);
        const body = (await res.json()) as ErrorBody;
        expect([res.status, body.code, body.statusCode], url).toEqual([400, 'BAD_REQUEST', 400]);
        expect(body.message, url).toMatch(/^message id must be a decimal integer/);
        // A 20-digit id is named as it was written, not as 1.2345678901234567e+19.
        expect(body.message, url).not.toMatch(/e\+/);
      }
    }
  });

  it('refuses non-canonical paging parameters and admin ids the same way', async () => {
    for (const query of ['limit=1e1', 'limit=010', 'after=0x1', 'before=+5', 'before=1.5']) {
      const res = await fetch(`${server.httpUrl}/api/rooms/edges/messages?${query}`);
      const body = (await res.json()) as ErrorBody;
      expect([res.status, body.code], query).toEqual([400, 'BAD_REQUEST']);
    }
    const res = await fetch(`${server.httpUrl}/api/rooms/edges/messages/0x${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect([res.status, ((await res.json()) as ErrorBody).code]).toEqual([400, 'BAD_REQUEST']);
  });

  it('answers a body over the limit with 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await fetch(`${server.httpUrl}/api/rooms/edges/key`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${server.adminToken}` },
      body: JSON.stringify({ key: 'x'.repeat(200_000) }),
    });
    const body = (await res.json()) as ErrorBody;
    expect([res.status, body.code, body.statusCode]).toEqual([413, 'PAYLOAD_TOO_LARGE', 413]);
  });

  it('answers a static-file path traversal with 403 FORBIDDEN', async () => {
    const { status, body } = await rawGet(server, '/../../etc/passwd');
    expect([status, body.code, body.statusCode]).toEqual([403, 'FORBIDDEN', 403]);
  });

  it('answers an unsupported body type with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const res = await fetch(`${server.httpUrl}/api/rooms/edges/key`, {
      method: 'PUT',
      headers: { 'content-type': 'text/x-nothing', authorization: `Bearer ${server.adminToken}` },
      body: 'key',
    });
    const body = (await res.json()) as ErrorBody;
    expect([res.status, body.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });
});
