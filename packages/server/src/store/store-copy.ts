import type { CopyableStore } from './store.js';

/** What one `imv store copy` run did. */
export interface CopyReport {
  /** Messages in the source (finished ones; see skippedRecording). */
  sourceMessages: number;
  copiedMessages: number;
  copiedFrames: number;
  /** Already in the target from an earlier run. */
  existingMessages: number;
  /** Still being recorded in the source (a server is running on it); copy again later. */
  skippedRecording: number;
  copiedKeys: number;
  existingKeys: number;
  /** Rooms whose key differs in the target; the target's is kept. */
  conflictingKeys: string[];
  /** Frames of every copied-or-existing message, counted in the target at the end. */
  verifiedFrames: number;
}

export interface CopyProgress {
  done: number;
  total: number;
}

const PAGE = 200;

/**
 * Copies every finished message (with its id, frames and stream id) and every room key from one
 * store to another. Idempotent: a message already in the target under its id is left alone, so a
 * second run copies nothing. Each message is one transaction in the target. Ends by checking,
 * message by message, that the target holds as many frames as the source.
 */
export async function copyStore(
  from: CopyableStore,
  to: CopyableStore,
  onProgress?: (progress: CopyProgress) => void,
): Promise<CopyReport> {
  const report: CopyReport = {
    sourceMessages: 0,
    copiedMessages: 0,
    copiedFrames: 0,
    existingMessages: 0,
    skippedRecording: 0,
    copiedKeys: 0,
    existingKeys: 0,
    conflictingKeys: [],
    verifiedFrames: 0,
  };
  const total = (await from.counts()).messages;
  const expected = new Map<number, { room: string; frames: number }>();
  let done = 0;
  for (let after = 0; ;) {
    const ids = await from.listMessageIds(after, PAGE);
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!;
    for (const id of ids) {
      const exported = await from.exportMessage(id);
      done++;
      if (exported === undefined) continue; // deleted meanwhile
      if (exported.message.status === 'recording') {
        report.skippedRecording++;
        continue;
      }
      report.sourceMessages++;
      const outcome = await to.importMessage(exported);
      if (outcome === 'copied') {
        report.copiedMessages++;
        report.copiedFrames += exported.frames.length;
      } else {
        report.existingMessages++;
      }
      expected.set(id, { room: exported.message.room, frames: exported.frames.length });
      onProgress?.({ done, total });
    }
  }
  for (const room of (await from.listRooms()).filter((r) => r.keyed)) {
    const hash = await from.getRoomKeyHash(room.room);
    if (hash === undefined) continue;
    const there = await to.getRoomKeyHash(room.room);
    if (there === undefined) {
      await to.setRoomKeyHash(room.room, hash);
      report.copiedKeys++;
    } else if (there === hash) {
      report.existingKeys++;
    } else {
      report.conflictingKeys.push(room.room);
    }
  }
  for (const [id, { room, frames }] of expected) {
    const message = await to.getMessage(room, id);
    if (message?.frameCount !== frames) {
      throw new Error(
        `verification failed: message ${id} has ${frames} frames in the source but ` +
          `${message?.frameCount ?? 'no message'} in the target`,
      );
    }
    report.verifiedFrames += frames;
  }
  return report;
}
