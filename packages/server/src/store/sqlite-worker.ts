// Worker thread that owns the SQLite database, so fsync latency (slow SD cards) never blocks the
// event loop that relays live audio. Started by WorkerMessageStore through worker-boot.js.
import { parentPort, workerData } from 'node:worker_threads';
import type { MessageStatus } from '@imv/protocol';
import { SqliteMessageStore } from './sqlite-store.js';
import type { ListQuery, NewMessage } from './store.js';
import { packFrames, unpackFrames } from './worker-protocol.js';
import type { PackedFrames, WorkerRequest, WorkerResponse } from './worker-protocol.js';

const port = parentPort!;
const { dataDir, fileName } = workerData as { dataDir: string; fileName: string };

function reply(response: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(response, transfer);
}

let store: SqliteMessageStore;
try {
  store = new SqliteMessageStore(dataDir, fileName);
  reply({ id: 0, ok: true, value: store.file });
} catch (err) {
  reply({ id: 0, ok: false, message: (err as Error).message });
  process.exit(1);
}

async function handle(request: WorkerRequest): Promise<unknown> {
  const args = request.args;
  switch (request.method) {
    case 'createMessage':
      return store.createMessage(args[0] as NewMessage);
    case 'appendFrames':
      return store.appendFrames(args[0] as number, unpackFrames(request.frames));
    case 'finishMessage':
      return store.finishMessage(
        args[0] as number,
        args[1] as Exclude<MessageStatus, 'recording'>,
        unpackFrames(request.frames),
      );
    case 'getMessage':
      return store.getMessage(args[0] as string, args[1] as number);
    case 'listMessages':
      return store.listMessages(args[0] as string, args[1] as ListQuery);
    case 'readFrames': {
      const payloads = await store.readFrames(args[0] as number);
      return packFrames(payloads.map((payload, sequence) => ({ sequence, timestamp: 0, payload })));
    }
    case 'readStoredFrames': {
      const { streamId, frames } = await store.readStoredFrames(args[0] as number);
      return { streamId, packed: packFrames(frames) };
    }
    case 'deleteMessage':
      return store.deleteMessage(args[0] as string, args[1] as number);
    case 'deleteRoom':
      return store.deleteRoom(args[0] as string);
    case 'listRooms':
      return store.listRooms();
    case 'getRoomKeyHash':
      return store.getRoomKeyHash(args[0] as string);
    case 'claimRoomKey':
      return store.claimRoomKey(args[0] as string, args[1] as string);
    case 'setRoomKeyHash':
      return store.setRoomKeyHash(args[0] as string, args[1] as string | undefined);
    case 'recoverInterrupted':
      return store.recoverInterrupted();
    case 'ping':
      return store.ping();
    case 'close':
      return store.close();
  }
}

port.on('message', (request: WorkerRequest) => {
  handle(request).then(
    (value) => {
      // Packed frames travel by transfer, not copy.
      const packed =
        request.method === 'readFrames'
          ? [(value as PackedFrames).bytes.buffer]
          : request.method === 'readStoredFrames'
            ? [(value as { packed: PackedFrames }).packed.bytes.buffer]
            : [];
      reply({ id: request.id, ok: true, value }, packed);
    },
    (err: unknown) => reply({ id: request.id, ok: false, message: (err as Error).message }),
  );
});
