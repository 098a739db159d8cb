import { PrivateNats, SHARED_NATS_URL, uniqueBusPrefix } from '@imv/test-support';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { RoomSubscriber } from '../src/bus/bus.js';
import { BusError } from '../src/bus/bus-errors.js';
import { maskBusUrl, parseBusUrl, type BusUrl } from '../src/bus/bus-url.js';
import { NatsBus } from '../src/bus/nats-bus.js';
import { natsSubjects } from '../src/bus/nats-subjects.js';

const log = pino({ level: 'silent' });

class Collector implements RoomSubscriber {
  readonly frames: Buffer[] = [];
  readonly controls: string[] = [];
  deliverFrame(frame: Buffer): void {
    this.frames.push(Buffer.from(frame));
  }
  deliverControl(text: string): void {
    this.controls.push(text);
  }
}

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function natsUrl(url: string): Extract<BusUrl, { kind: 'nats' }> {
  const parsed = parseBusUrl(url);
  if (parsed.kind !== 'nats') throw new Error(`not a nats URL: ${url}`);
  return parsed;
}

describe('bus URLs', () => {
  it('reads memory, one or several NATS servers, with default ports and masked passwords', () => {
    expect(parseBusUrl('memory')).toEqual({ kind: 'memory' });
    expect(parseBusUrl('nats://10.0.0.5:4223,nats-b.lan,nats://10.0.0.7:5000')).toEqual({
      kind: 'nats',
      servers: ['nats://10.0.0.5:4223', 'nats://nats-b.lan:4222', 'nats://10.0.0.7:5000'],
      display: 'nats://10.0.0.5:4223,nats-b.lan,nats://10.0.0.7:5000',
    });
    expect(parseBusUrl('nats://imv:s3cret@nats.lan:4222')).toEqual({
      kind: 'nats',
      servers: ['nats://nats.lan:4222'],
      user: 'imv',
      pass: 's3cret',
      display: 'nats://imv:***@nats.lan:4222',
    });
    expect(maskBusUrl('nats://a:pw@h1,b:pw2@h2')).toBe('nats://a:***@h1,b:***@h2');
  });

  it('refuses anything else with a BusError that names the URL', () => {
    expect(() => parseBusUrl('redis://127.0.0.1:6379')).toThrow(
      new BusError(
        'bus URL redis://127.0.0.1:6379 is not "memory" or nats://host:port[,host:port…]',
      ),
    );
    expect(() => parseBusUrl('nats://host:port/x')).toThrow(BusError);
    expect(() => parseBusUrl('nats://u:pw@:4222')).toThrow(/nats:\/\/u:\*\*\*@:4222/);
  });

  it('puts each room on subjects of its own, whatever characters its name has', () => {
    const subjects = natsSubjects('imv.site');
    expect(subjects.frame('crew')).toBe('imv.site.room.Y3Jldw.frame');
    expect(subjects.control('crew')).toBe('imv.site.room.Y3Jldw.control');
    expect(subjects.frame('a.b *>')).toMatch(/^imv\.site\.room\.[A-Za-z0-9_-]+\.frame$/);
    expect(subjects.nodes).toBe('imv.site.nodes');
    expect(() => natsSubjects('imv.*')).toThrow(BusError);
  });
});

describe('NatsBus on the shared NATS', () => {
  const buses: NatsBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
  });

  async function open(prefix: string, nodeId: string, url = SHARED_NATS_URL): Promise<NatsBus> {
    const bus = await NatsBus.open({ url: natsUrl(url), prefix, nodeId, log });
    buses.push(bus);
    return bus;
  }

  it('forwards the talker bytes unchanged to other nodes, and local members hear each frame once', async () => {
    const prefix = uniqueBusPrefix('bus');
    const a = await open(prefix, 'a');
    const b = await open(prefix, 'b');
    const talker = new Collector();
    const localEar = new Collector();
    const remoteEar = new Collector();
    const otherRoom = new Collector();
    a.subscribe('crew.1', talker);
    a.subscribe('crew.1', localEar);
    b.subscribe('crew.1', remoteEar);
    b.subscribe('crew.2', otherRoom);
    // NATS applies a subscription once the server has read it; a round trip makes sure.
    await b.flush();

    const frames = Array.from({ length: 20 }, (_, i) =>
      Buffer.from([0x01, 0x00, i, 0xaa, 0xbb, i * 3, 0xff, 0x00, 0x10]),
    );
    for (const frame of frames) a.publishFrame('crew.1', frame, talker);
    a.publishControl('crew.1', '{"type":"talk-stopped"}', talker);

    await until('the remote member to get every frame', () => remoteEar.frames.length === 20);
    await until('the control message', () => remoteEar.controls.length === 1);
    expect(remoteEar.frames).toEqual(frames);
    expect(remoteEar.controls).toEqual(['{"type":"talk-stopped"}']);
    // Another round trip: anything echoed back to node a would have arrived by now.
    await a.flush();
    expect(localEar.frames).toEqual(frames);
    expect(localEar.controls).toEqual(['{"type":"talk-stopped"}']);
    expect(talker.frames).toEqual([]);
    expect(talker.controls).toEqual([]);
    expect(otherRoom.frames).toEqual([]);
  });

  it('carries node messages to the other nodes and stops relaying a room its last member left', async () => {
    const prefix = uniqueBusPrefix('bus');
    const a = await open(prefix, 'a');
    const b = await open(prefix, 'b');
    const heard: string[] = [];
    b.setRemoteHandlers({
      onNode: (text) => heard.push(text),
      onControl: (_room, text) => text !== 'hidden',
      onReachability: () => {},
    });
    const ear = new Collector();
    b.subscribe('lobby', ear);
    await b.flush();
    a.publishNode('{"type":"bye","node":"a"}');
    a.publishControl('lobby', 'hidden');
    a.publishControl('lobby', 'shown');
    await until('the node message', () => heard.length === 1);
    await until('the shown control message', () => ear.controls.length === 1);
    expect(heard).toEqual(['{"type":"bye","node":"a"}']);
    expect(ear.controls).toEqual(['shown']);

    b.unsubscribe('lobby', ear);
    await b.flush();
    a.publishControl('lobby', 'after');
    await a.flush();
    await b.flush();
    expect(ear.controls).toEqual(['shown']);
  });

  it('fails to open with a one-line BusError naming the URL when nothing listens there', async () => {
    const error = await NatsBus.open({
      url: natsUrl('nats://127.0.0.1:1'),
      prefix: uniqueBusPrefix('bus'),
      nodeId: 'x',
      log,
    }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(BusError);
    expect((error as Error).message).toMatch(
      /^cannot connect to the bus nats:\/\/127\.0\.0\.1:1: /,
    );
    expect((error as Error).message).not.toContain('\n');
  });
});

describe('NatsBus when NATS goes away', () => {
  let nats: PrivateNats | undefined;
  const buses: NatsBus[] = [];
  afterEach(async () => {
    await Promise.all(buses.splice(0).map((b) => b.close()));
    await nats?.stop();
  });

  it('keeps local members talking, reports the outage, and relays again once NATS is back', async () => {
    nats = await PrivateNats.start();
    const prefix = uniqueBusPrefix('outage');
    const reachability: boolean[] = [];
    const a = await NatsBus.open({ url: natsUrl(nats.url), prefix, nodeId: 'a', log });
    const b = await NatsBus.open({ url: natsUrl(nats.url), prefix, nodeId: 'b', log });
    buses.push(a, b);
    a.setRemoteHandlers({
      onNode: () => {},
      onControl: () => true,
      onReachability: (up) => reachability.push(up),
    });
    const talker = new Collector();
    const localEar = new Collector();
    const remoteEar = new Collector();
    a.subscribe('crew', talker);
    a.subscribe('crew', localEar);
    b.subscribe('crew', remoteEar);
    await b.flush();

    await nats.stop();
    await until('node a to notice', () => !a.reachable);
    expect(reachability).toEqual([false]);
    a.publishFrame('crew', Buffer.from('down'), talker);
    expect(localEar.frames).toEqual([Buffer.from('down')]);

    await nats.start();
    await until('node a to reconnect', () => a.reachable, 20_000);
    await until('node b to reconnect', () => b.reachable, 20_000);
    expect(reachability).toEqual([false, true]);
    // The client re-subscribes on reconnect; the frame sent during the outage is not replayed.
    await b.flush();
    a.publishFrame('crew', Buffer.from('up'), talker);
    await until('the remote member to hear the bus again', () => remoteEar.frames.length > 0);
    expect(remoteEar.frames).toEqual([Buffer.from('up')]);
    expect(localEar.frames).toEqual([Buffer.from('down'), Buffer.from('up')]);
  });
});
