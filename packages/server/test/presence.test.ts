import { PROTOCOL_VERSION } from '@imv/protocol';
import type { Joined } from '@imv/protocol';
import { SHARED_NATS_URL, uniqueBusPrefix } from '@imv/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from '@imv/test-support/server';
import { TestServers } from '@imv/test-support/server';

const servers = new TestServers();
const clients: TestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await servers.cleanup();
});

async function joined(url: string, room: string, name: string): Promise<TestClient> {
  const client = await TestClient.joined(url, room, name);
  clients.push(client);
  return client;
}

/** A client that speaks protocol 2 (one member-joined / member-left per change). */
async function joinedV2(url: string, room: string, name: string): Promise<TestClient> {
  const client = await TestClient.open(url);
  clients.push(client);
  await client.hello(name, 2);
  client.send({ type: 'join', room });
  await client.next('joined');
  return client;
}

/** Everyone named in the members-changed batches a client has received so far. */
function namesIn(client: TestClient, change: 'joined' | 'left'): string[] {
  return client
    .texts()
    .flatMap((m) => (m.type === 'members-changed' ? m[change].map((j) => j.name) : []));
}

/** Waits until the client's members-changed batches have named everyone in `names` as joined. */
async function waitForNames(client: TestClient, names: string[]): Promise<void> {
  while (!names.every((n) => namesIn(client, 'joined').includes(n)))
    await client.next('members-changed');
}

describe('presence batches (protocol 3)', () => {
  it('sends the newcomer the whole list and the room a members-changed naming it', async () => {
    const server = await servers.start();
    const ana = await joined(server.httpUrl, 'crew', 'ana');
    const bo = await joined(server.httpUrl, 'crew', 'bo');
    const cy = await TestClient.open(server.httpUrl);
    clients.push(cy);
    await cy.hello('cy');
    cy.send({ type: 'join', room: 'crew' });
    const welcome = await cy.next('joined');
    expect(welcome.members.map((m) => m.name)).toEqual(['ana', 'bo', 'cy']);
    for (const member of [ana, bo]) {
      const batch = await member.nextMembersChange('cy');
      expect(batch.joined).toContainEqual(welcome.you);
      expect(batch.left).toEqual([]);
    }
    expect(ana.texts().map((m) => m.type)).not.toContain('member-joined');
    expect(ana.texts().map((m) => m.type)).not.toContain('presence');
  });

  it('batches joins that arrive together into fewer messages than joins', async () => {
    const server = await servers.start();
    const ana = await joined(server.httpUrl, 'crew', 'ana');
    const names = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const newcomers = await Promise.all(
      names.map(async (name) => {
        const client = await TestClient.open(server.httpUrl);
        clients.push(client);
        await client.hello(name);
        return client;
      }),
    );
    // Every join at once, on connections that already said hello.
    for (const client of newcomers) client.send({ type: 'join', room: 'crew' });
    await Promise.all(newcomers.map((c) => c.next('joined')));
    await waitForNames(ana, names);
    const batches = ana.texts().filter((m) => m.type === 'members-changed');
    expect(namesIn(ana, 'joined')).toEqual(expect.arrayContaining(names));
    expect(batches.length).toBeLessThan(names.length);
  });

  it('names who left, on leave and when a socket drops', async () => {
    const server = await servers.start();
    const ana = await joined(server.httpUrl, 'crew', 'ana');
    const bo = await joined(server.httpUrl, 'crew', 'bo');
    const cy = await joined(server.httpUrl, 'crew', 'cy');
    // A join and a leave within one batch cancel out: leave once the joins were announced.
    await waitForNames(ana, ['bo', 'cy']);
    bo.send({ type: 'leave' });
    expect((await ana.nextMembersChange('bo', 'left')).joined).toEqual([]);
    cy.ws.terminate();
    await ana.nextMembersChange('cy', 'left');
    expect(namesIn(ana, 'left')).toEqual(['bo', 'cy']);
  });

  it('leaves out a member who joined and left within one batch', async () => {
    const server = await servers.start();
    const ana = await joined(server.httpUrl, 'crew', 'ana');
    const bo = await TestClient.open(server.httpUrl);
    clients.push(bo);
    await bo.hello('bo');
    // join + leave back to back land in the same batch; cy's join after them shows it was sent.
    bo.send({ type: 'join', room: 'crew' });
    bo.send({ type: 'leave' });
    await bo.next('joined');
    await joined(server.httpUrl, 'crew', 'cy');
    await ana.nextMembersChange('cy');
    expect(namesIn(ana, 'joined')).not.toContain('bo');
    expect(namesIn(ana, 'left')).not.toContain('bo');
  });
});

describe('presence deltas (protocol 2)', () => {
  it('sends a protocol 2 member one member-joined per newcomer, never its own', async () => {
    const server = await servers.start();
    const ana = await joinedV2(server.httpUrl, 'crew', 'ana');
    const bo = await joinedV2(server.httpUrl, 'crew', 'bo');
    const cy = await joined(server.httpUrl, 'crew', 'cy');
    const cyJoined = cy.texts().find((m): m is Joined => m.type === 'joined');
    expect((await ana.next('member-joined')).member.name).toBe('bo');
    for (const member of [ana, bo]) {
      const delta = await member.next('member-joined');
      expect(delta).toEqual({ type: 'member-joined', room: 'crew', member: cyJoined?.you });
    }
    expect(bo.texts().filter((m) => m.type === 'member-joined')).toHaveLength(1);
    expect(ana.texts().map((m) => m.type)).not.toContain('members-changed');
    expect(cy.texts().map((m) => m.type)).not.toContain('member-joined');
  });

  it('sends member-left when a member leaves or its socket drops', async () => {
    const server = await servers.start();
    const ana = await joinedV2(server.httpUrl, 'crew', 'ana');
    const bo = await joined(server.httpUrl, 'crew', 'bo');
    const cy = await joined(server.httpUrl, 'crew', 'cy');
    // A join and a leave within one batch cancel out: leave once the joins were announced.
    await ana.nextWhere(
      (r) =>
        r.kind === 'text' && r.message.type === 'member-joined' && r.message.member.name === 'cy',
      'member-joined cy',
    );
    bo.send({ type: 'leave' });
    expect((await ana.next('member-left')).member.name).toBe('bo');
    cy.ws.terminate();
    expect((await ana.next('member-left')).member.name).toBe('cy');
  });

  it('sends each member a delta of the same size however full the room is', async () => {
    const server = await servers.start();
    const first = await joinedV2(server.httpUrl, 'crew', 'm00');
    const lengths: number[] = [];
    first.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary && data.includes('"member-joined"')) lengths.push(data.length);
    });
    for (let i = 1; i < 30; i++)
      await joined(server.httpUrl, 'crew', `m${String(i).padStart(2, '0')}`);
    await first.nextWhere(
      (r) =>
        r.kind === 'text' && r.message.type === 'member-joined' && r.message.member.name === 'm29',
      'the last member-joined',
    );
    expect(lengths).toHaveLength(29);
    // Connection ids grow from c2 to c30: the delta grows by that one digit, not with the room.
    expect(Math.max(...lengths) - Math.min(...lengths)).toBeLessThanOrEqual(1);
  });

  it('still serves protocol 1 clients the whole list in presence, beside protocol 2 members', async () => {
    const server = await servers.start();
    const old = await TestClient.open(server.httpUrl);
    clients.push(old);
    expect((await old.hello('old', 1)).protocol).toBe(1);
    old.send({ type: 'join', room: 'crew' });
    await old.next('joined');
    const ana = await joinedV2(server.httpUrl, 'crew', 'ana');
    expect((await old.next('presence')).members.map((m) => m.name)).toEqual(['old', 'ana']);
    const bo = await joined(server.httpUrl, 'crew', 'bo');
    expect((await ana.next('member-joined')).member.name).toBe('bo');
    expect((await old.next('presence')).members.map((m) => m.name)).toEqual(['old', 'ana', 'bo']);
    ana.send({ type: 'leave' });
    expect((await old.next('presence')).members.map((m) => m.name)).toEqual(['old', 'bo']);
    expect((await bo.nextMembersChange('ana', 'left')).left.map((m) => m.name)).toEqual(['ana']);
    expect(old.texts().map((m) => m.type)).not.toContain('member-joined');
    expect(old.texts().filter((m) => m.type === 'presence')).toHaveLength(3);
  });

  it('refuses a protocol newer than its own with VERSION_MISMATCH', async () => {
    const server = await servers.start();
    const future = await TestClient.open(server.httpUrl);
    clients.push(future);
    future.send({ type: 'hello', protocol: PROTOCOL_VERSION + 1, client: 'future/0', name: 'f' });
    expect((await future.next('error')).code).toBe('VERSION_MISMATCH');
    expect(await future.closed).toBe(4001);
  });

  it('sends deltas for members on another node of a cluster', async () => {
    const busPrefix = uniqueBusPrefix('presence');
    const cluster = { bus: SHARED_NATS_URL, busPrefix, nodeHeartbeatMs: 200 };
    const one = await servers.start({ ...cluster, nodeId: 'one' });
    const two = await servers.start({ ...cluster, nodeId: 'two' });
    const ana = await joined(one.httpUrl, 'crew', 'ana');
    const bo = await joined(two.httpUrl, 'crew', 'bo');
    expect((await ana.next('member-joined')).member.name).toBe('bo');
    bo.send({ type: 'leave' });
    expect((await ana.next('member-left')).member.name).toBe('bo');
    expect(ana.texts().map((m) => m.type)).not.toContain('presence');
  });
});
