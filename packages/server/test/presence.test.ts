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

describe('presence deltas (protocol 2)', () => {
  it('sends the newcomer the whole list and everyone else one member-joined', async () => {
    const server = await servers.start();
    const ana = await joined(server.httpUrl, 'crew', 'ana');
    const bo = await joined(server.httpUrl, 'crew', 'bo');
    const cy = await TestClient.open(server.httpUrl);
    clients.push(cy);
    await cy.hello('cy');
    cy.send({ type: 'join', room: 'crew' });
    const welcome = await cy.next('joined');
    expect(welcome.members.map((m) => m.name)).toEqual(['ana', 'bo', 'cy']);
    expect((await ana.next('member-joined')).member.name).toBe('bo');
    for (const member of [ana, bo]) {
      const delta = await member.next('member-joined');
      expect(delta).toEqual({ type: 'member-joined', room: 'crew', member: welcome.you });
    }
    expect(ana.texts().map((m) => m.type)).not.toContain('presence');
    expect(cy.texts().map((m) => m.type)).not.toContain('member-joined');
  });

  it('sends member-left when a member leaves or its socket drops', async () => {
    const server = await servers.start();
    const ana = await joined(server.httpUrl, 'crew', 'ana');
    const bo = await joined(server.httpUrl, 'crew', 'bo');
    const cy = await joined(server.httpUrl, 'crew', 'cy');
    bo.send({ type: 'leave' });
    expect((await ana.next('member-left')).member.name).toBe('bo');
    cy.ws.terminate();
    expect((await ana.next('member-left')).member.name).toBe('cy');
  });

  it('sends each member a delta of the same size however full the room is', async () => {
    const server = await servers.start();
    const first = await joined(server.httpUrl, 'crew', 'm00');
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
    const ana = await joined(server.httpUrl, 'crew', 'ana');
    const bo = await joined(server.httpUrl, 'crew', 'bo');
    expect((await ana.next('member-joined')).member.name).toBe('bo');
    expect((await old.next('presence')).members.map((m) => m.name)).toEqual(['old', 'ana']);
    expect((await old.next('presence')).members.map((m) => m.name)).toEqual(['old', 'ana', 'bo']);
    ana.send({ type: 'leave' });
    expect((await old.next('presence')).members.map((m) => m.name)).toEqual(['old', 'bo']);
    expect((await bo.next('member-left')).member.name).toBe('ana');
    expect(old.texts().map((m) => m.type)).not.toContain('member-joined');
  });

  it('refuses a protocol newer than its own with VERSION_MISMATCH', async () => {
    const server = await servers.start();
    const future = await TestClient.open(server.httpUrl);
    clients.push(future);
    future.send({ type: 'hello', protocol: 3, client: 'future/0', name: 'f' });
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
