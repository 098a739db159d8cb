import { frameMsOf } from '@imv/protocol';
import type { VoiceMessage } from '@imv/protocol';

/** "7.38 s" */
export function formatDuration(durationMs: number): string {
  return `${(durationMs / 1000).toFixed(2)} s`;
}

function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** Local date and time, "2026-11-25 01:02:03". */
export function formatLocalTime(epochMs: number): string {
  const d = new Date(epochMs);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/** Left-aligned text columns with two spaces between them; columns named in `rightAligned` are right-aligned. */
export function formatTable(
  header: string[],
  rows: string[][],
  rightAligned: ReadonlySet<number> = new Set(),
): string {
  const widths = header.map((h, col) =>
    Math.max(h.length, ...rows.map((r) => (r[col] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, col) =>
        rightAligned.has(col) ? cell.padStart(widths[col]!) : cell.padEnd(widths[col]!),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The fields of a stored message a user cares about, as printed by --json. */
export function messageJson(message: VoiceMessage): Record<string, unknown> {
  return {
    id: message.id,
    room: message.room,
    sender: message.senderName,
    startedAt: new Date(message.startedAt).toISOString(),
    durationMs: message.durationMs,
    frameMs: frameMsOf(message),
    frames: message.frameCount,
    bytes: message.bytes,
    status: message.status,
    encrypted: message.encrypted,
  };
}
