import { Worker } from 'node:worker_threads';
import type { MessageStatus, VoiceMessage } from '@imv/protocol';
import type {
  ListQuery,
  MessagePage,
  MessageStore,
  NewMessage,
  RoomSummary,
  StoredFrame,
} from './store.js';
import { SingleNodeStore } from './single-node-store.js';
import { SQLITE_FILE_NAME } from './store-url.js';
import { packFrames, unpackFrames } from './worker-protocol.js';
import type { PackedFrames, WorkerRequest, WorkerResponse } from './worker-protocol.js';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/**
 * SqliteMessageStore run in a worker thread. better-sqlite3 is synchronous and FULL sync fsyncs at
 * every commit; on a slow disk that would stall live relay for every room. Here the event loop only
 * posts messages; a promise resolves once the worker's transaction has committed.
 */
export class WorkerMessageStore extends SingleNodeStore implements MessageStore {
  readonly kind = 'sqlite';
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    /** Path of the SQLite file. */
    readonly file: string,
  ) {
    super();
    worker.on('message', (response: WorkerResponse) => this.settle(response));
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => this.fail(new Error(`store worker exited with code ${code}`)));
  }

  /** Starts the worker and opens (migrating if needed) `<dataDir>/imv.sqlite` in it. */
  static open(dataDir: string, fileName = SQLITE_FILE_NAME): Promise<WorkerMessageStore> {
    // Compiled (dist/*.js, as `imv serve` runs) the worker is plain JavaScript; from the sources
    // (tests, tsx) it needs worker-boot.js to load TypeScript.
    const worker = import.meta.url.endsWith('.js')
      ? new Worker(new URL('./sqlite-worker.js', import.meta.url), {
          workerData: { dataDir, fileName },
        })
      : new Worker(new URL('./worker-boot.js', import.meta.url), {
          workerData: {
            dataDir,
            fileName,
            entry: new URL('./sqlite-worker.ts', import.meta.url).href,
          },
        });
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      worker.once('error', onError);
      worker.once('message', (response: WorkerResponse) => {
        worker.off('error', onError);
        if (response.ok) resolve(new WorkerMessageStore(worker, response.value as string));
        else {
          reject(new Error(response.message));
          void worker.terminate();
        }
      });
    });
  }

  private settle(response: WorkerResponse): void {
    const pending = this.pending.get(response.id);
    if (pending === undefined) return;
    this.pending.delete(response.id);
    if (response.ok) pending.resolve(response.value);
    else pending.reject(new Error(response.message));
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const pending of this.pending.values()) pending.reject(err);
    this.pending.clear();
  }

  private call<T>(
    method: WorkerRequest['method'],
    args: unknown[],
    frames?: readonly StoredFrame[],
  ): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    const request = { id, method, args } as WorkerRequest;
    const transfer: ArrayBuffer[] = [];
    if (frames !== undefined) {
      const packed = packFrames(frames);
      (request as { frames: PackedFrames }).frames = packed;
      transfer.push(packed.bytes.buffer);
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (value) => resolve(value as T), reject });
      this.worker.postMessage(request, transfer);
    });
  }

  createMessage(message: NewMessage): Promise<VoiceMessage> {
    return this.call('createMessage', [message]);
  }

  appendFrames(messageId: number, frames: readonly StoredFrame[]): Promise<void> {
    return this.call('appendFrames', [messageId], frames);
  }

  finishMessage(
    messageId: number,
    status: Exclude<MessageStatus, 'recording'>,
    lastFrames: readonly StoredFrame[] = [],
  ): Promise<VoiceMessage> {
    return this.call('finishMessage', [messageId, status], lastFrames);
  }

  getMessage(room: string, messageId: number): Promise<VoiceMessage | undefined> {
    return this.call('getMessage', [room, messageId]);
  }

  listMessages(room: string, query: ListQuery): Promise<MessagePage> {
    return this.call('listMessages', [room, query]);
  }

  async readFrames(messageId: number): Promise<Uint8Array[]> {
    const packed = await this.call<PackedFrames>('readFrames', [messageId]);
    return unpackFrames(packed).map((frame) => frame.payload);
  }

  async readStoredFrames(messageId: number): Promise<{ streamId: number; frames: StoredFrame[] }> {
    const { streamId, packed } = await this.call<{ streamId: number; packed: PackedFrames }>(
      'readStoredFrames',
      [messageId],
    );
    return { streamId, frames: unpackFrames(packed) };
  }

  deleteMessage(room: string, messageId: number): Promise<boolean> {
    return this.call('deleteMessage', [room, messageId]);
  }

  deleteRoom(room: string): Promise<number[]> {
    return this.call('deleteRoom', [room]);
  }

  listRooms(): Promise<RoomSummary[]> {
    return this.call('listRooms', []);
  }

  getRoomKeyHash(room: string): Promise<string | undefined> {
    return this.call('getRoomKeyHash', [room]);
  }

  claimRoomKey(room: string, keyHash: string): Promise<boolean> {
    return this.call('claimRoomKey', [room, keyHash]);
  }

  setRoomKeyHash(room: string, keyHash: string | undefined): Promise<void> {
    return this.call('setRoomKeyHash', [room, keyHash]);
  }

  recoverInterrupted(): Promise<number> {
    return this.call('recoverInterrupted', []);
  }

  ping(): Promise<void> {
    return this.call('ping', []);
  }

  async close(): Promise<void> {
    if (this.failure !== undefined) return;
    await this.call('close', []);
    this.failure = new Error('store is closed');
    await this.worker.terminate();
  }
}
