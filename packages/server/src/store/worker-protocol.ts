import type { StoredFrame } from './store.js';

/*
 * Messages between WorkerMessageStore (main thread) and sqlite-worker.ts. Frame batches travel as
 * one packed, transferred buffer: structured-cloning each payload view would copy the whole pooled
 * ArrayBuffer behind it (ws hands out views into 64 KiB socket chunks).
 */

export interface PackedFrames {
  seqs: number[];
  tss: number[];
  flags: number[];
  lengths: number[];
  bytes: Uint8Array<ArrayBuffer>;
}

export type WorkerRequest =
  | {
      id: number;
      method:
        | 'createMessage'
        | 'getMessage'
        | 'listMessages'
        | 'readFrames'
        | 'readStoredFrames'
        | 'deleteMessage'
        | 'deleteRoom'
        | 'listRooms'
        | 'getRoomKeyHash'
        | 'claimRoomKey'
        | 'setRoomKeyHash'
        | 'recoverInterrupted'
        | 'ping'
        | 'close';
      args: unknown[];
    }
  | { id: number; method: 'appendFrames' | 'finishMessage'; args: unknown[]; frames: PackedFrames };

export type WorkerResponse =
  { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

export function packFrames(frames: readonly StoredFrame[]): PackedFrames {
  let total = 0;
  for (const frame of frames) total += frame.payload.byteLength;
  const bytes = new Uint8Array(total);
  const packed: PackedFrames = { seqs: [], tss: [], flags: [], lengths: [], bytes };
  let pos = 0;
  for (const frame of frames) {
    packed.seqs.push(frame.sequence);
    packed.tss.push(frame.timestamp);
    packed.flags.push(frame.flags ?? 0);
    packed.lengths.push(frame.payload.byteLength);
    bytes.set(frame.payload, pos);
    pos += frame.payload.byteLength;
  }
  return packed;
}

export function unpackFrames(packed: PackedFrames): StoredFrame[] {
  const frames: StoredFrame[] = [];
  let pos = 0;
  for (let i = 0; i < packed.seqs.length; i++) {
    const length = packed.lengths[i]!;
    frames.push({
      sequence: packed.seqs[i]!,
      timestamp: packed.tss[i]!,
      flags: packed.flags[i]!,
      payload: packed.bytes.subarray(pos, pos + length),
    });
    pos += length;
  }
  return frames;
}
