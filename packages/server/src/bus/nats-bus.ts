import { BusError } from './bus-errors.js';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import type { BusKind, RemoteHandlers, RoomBus, RoomSubscriber } from './bus.js';
import type { BusUrl } from './bus-url.js';
import { MemoryBus } from './memory-bus.js';
import { natsSubjects, type NatsSubjects } from './nats-subjects.js';

export interface NatsBusOptions {
  url: Extract<BusUrl, { kind: 'nats' }>;
  /** Subject prefix shared by the nodes of one cluster. */
  prefix: string;
  /** Shown to the NATS server as the client name. */
  nodeId: string;
  log: Logger;
  /** Give up connecting at start-up after this long. */
  connectTimeoutMs?: number;
}

/** Reconnect backoff: 250 ms, doubling to 5 s, plus up to 50 % jitter so nodes do not retry in step. */
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 5_000;

/** A remote frame or control message has no local sender to skip. */
const NOBODY: RoomSubscriber | undefined = undefined;

/** Subjects of one room and their subscriptions (held while this node has members there). */
interface RoomSubscriptions {
  frameSubject: string;
  controlSubject: string;
  frame: Subscription;
  control: Subscription;
}

/** Reconnect attempts since the last success (the backoff exponent). */
interface Backoff {
  attempt: number;
}

/**
 * RoomBus over NATS core (no JetStream). Local members are served by an in-process MemoryBus
 * whether or not NATS is up, and every publication also goes to the room's NATS subjects, where the
 * other nodes pick it up. The connection sets noEcho, so the NATS server never sends a node its own
 * publications back: local members hear each frame once, from the MemoryBus.
 */
export class NatsBus implements RoomBus {
  readonly kind: BusKind = 'nats';
  private readonly local = new MemoryBus();
  private readonly subscriptions = new Map<string, RoomSubscriptions>();
  private readonly subjects: NatsSubjects;
  private handlers: RemoteHandlers | undefined;
  private up = true;
  private closing = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly options: NatsBusOptions,
    private readonly backoff: Backoff,
  ) {
    this.subjects = natsSubjects(options.prefix);
    nc.subscribe(this.subjects.nodes, {
      callback: (err, msg) => {
        if (err === null) this.handlers?.onNode(msg.string());
      },
    });
    void this.watchStatus();
  }

  /** Connects to NATS; rejects with BusError (one line, URL masked) when it cannot. */
  static async open(options: NatsBusOptions): Promise<NatsBus> {
    natsSubjects(options.prefix); // a bad prefix fails before any connection is made
    const backoff: Backoff = { attempt: 0 };
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers: options.url.servers,
        ...(options.url.user !== undefined && { user: options.url.user, pass: options.url.pass }),
        name: `imv ${options.nodeId}`,
        noEcho: true,
        timeout: options.connectTimeoutMs ?? 3_000,
        reconnect: true,
        maxReconnectAttempts: -1,
        reconnectDelayHandler: () => {
          const base = Math.min(RECONNECT_MAX_MS, RECONNECT_FIRST_MS * 2 ** backoff.attempt);
          backoff.attempt = Math.min(backoff.attempt + 1, 10);
          return base + Math.random() * base * 0.5;
        },
        // A dead server is noticed within ~4 s even when TCP says nothing.
        pingInterval: 2_000,
        maxPingOut: 2,
      });
    } catch (err) {
      const cause = err instanceof Error ? err.message : String(err);
      throw new BusError(`cannot connect to the bus ${options.url.display}: ${cause}`, {
        cause: err,
      });
    }
    const bus = new NatsBus(nc, options, backoff);
    options.log.info({ bus: options.url.display, prefix: options.prefix }, 'bus connected');
    return bus;
  }

  get url(): string {
    return this.options.url.display;
  }

  get reachable(): boolean {
    return this.up && !this.nc.isClosed();
  }

  setRemoteHandlers(handlers: RemoteHandlers): void {
    this.handlers = handlers;
  }

  private async watchStatus(): Promise<void> {
    const log = this.options.log;
    for await (const status of this.nc.status()) {
      if (status.type === 'disconnect') {
        if (!this.up) continue;
        this.up = false;
        if (!this.closing) {
          log.warn(
            { bus: this.url, server: status.server },
            'bus disconnected: other nodes are out of reach, local rooms keep working',
          );
          this.handlers?.onReachability(false);
        }
      } else if (status.type === 'reconnect') {
        this.backoff.attempt = 0;
        if (this.up) continue;
        this.up = true;
        log.info({ bus: this.url, server: status.server }, 'bus reconnected');
        this.handlers?.onReachability(true);
      } else if (status.type === 'error') {
        log.warn({ bus: this.url, err: status.error.message }, 'bus error');
      }
    }
  }

  subscribe(room: string, subscriber: RoomSubscriber): void {
    this.local.subscribe(room, subscriber);
    if (this.subscriptions.has(room)) return;
    const frameSubject = this.subjects.frame(room);
    const controlSubject = this.subjects.control(room);
    const frame = this.nc.subscribe(frameSubject, {
      callback: (err, msg) => {
        if (err !== null) return;
        const data = msg.data;
        // A view, not a copy: the NATS parser hands out a slice of a socket read it does not reuse.
        this.local.publishFrame(
          room,
          Buffer.from(data.buffer, data.byteOffset, data.byteLength),
          NOBODY,
        );
      },
    });
    const control = this.nc.subscribe(controlSubject, {
      callback: (err, msg) => {
        if (err !== null) return;
        const text = msg.string();
        if (this.handlers?.onControl(room, text) ?? true) this.local.publishControl(room, text);
      },
    });
    this.subscriptions.set(room, { frameSubject, controlSubject, frame, control });
  }

  unsubscribe(room: string, subscriber: RoomSubscriber): void {
    this.local.unsubscribe(room, subscriber);
    if (this.local.count(room) > 0) return;
    const subscriptions = this.subscriptions.get(room);
    if (subscriptions === undefined) return;
    this.subscriptions.delete(room);
    subscriptions.frame.unsubscribe();
    subscriptions.control.unsubscribe();
  }

  publishFrame(room: string, frame: Buffer, from: RoomSubscriber): void {
    this.local.publishFrame(room, frame, from);
    // While disconnected the client would buffer frames and replay them late; live audio that
    // late is noise, so it is dropped (the message is stored whole either way).
    if (!this.up) return;
    // The talker is a member of its room, so the subjects are known; no string work per frame.
    const subjects = this.subscriptions.get(room);
    this.nc.publish(subjects?.frameSubject ?? this.subjects.frame(room), frame);
  }

  publishControl(room: string, text: string, except?: RoomSubscriber): void {
    this.local.publishControl(room, text, except);
    if (!this.up) return;
    const subjects = this.subscriptions.get(room);
    this.nc.publish(subjects?.controlSubject ?? this.subjects.control(room), text);
  }

  deliverLocalControl(room: string, text: string): void {
    this.local.publishControl(room, text);
  }

  publishNode(text: string): void {
    if (this.up) this.nc.publish(this.subjects.nodes, text);
  }

  /** Resolves after a round trip to the NATS server: everything published before has reached it. */
  flush(): Promise<void> {
    return this.nc.flush();
  }

  async close(): Promise<void> {
    this.closing = true;
    await this.local.close();
    if (this.nc.isClosed()) return;
    // drain() sends what is queued (e.g. the node's goodbye) before closing.
    await this.nc.drain().catch(() => this.nc.close());
  }
}
