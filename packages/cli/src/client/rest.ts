import { historySchema } from '@imv/protocol';
import type { History } from '@imv/protocol';
import { ImvClientError } from './client-error.js';
import { toHttpBase } from './server-url.js';

/** Query for GET /api/rooms/:room/messages. */
export interface HistoryQuery {
  after?: number;
  before?: number;
  limit?: number;
}

async function request(server: string, path: string): Promise<Response> {
  const base = toHttpBase(server);
  let response: Response;
  try {
    response = await fetch(`${base}${path}`);
  } catch (cause) {
    // undici reports the socket error (ECONNREFUSED, ENOTFOUND, ...) as the cause of "fetch failed".
    throw ImvClientError.unreachable(base, (cause as { cause?: unknown }).cause ?? cause);
  }
  if (!response.ok) {
    let body: { code?: unknown; message?: unknown } = {};
    try {
      body = (await response.json()) as typeof body;
    } catch {
      // Not our JSON error shape; the status line says enough.
    }
    const code = typeof body.code === 'string' ? body.code : undefined;
    const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status} ${response.statusText}`;
    throw new ImvClientError(
      code === 'NOT_FOUND' || response.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST',
      `${message}${code !== undefined ? ` (${code})` : ''}`,
    );
  }
  return response;
}

/** One page of a room's stored messages, oldest first, via REST. */
export async function fetchHistory(server: string, room: string, query: HistoryQuery = {}): Promise<History> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const qs = params.size > 0 ? `?${params.toString()}` : '';
  const response = await request(server, `/api/rooms/${encodeURIComponent(room)}/messages${qs}`);
  const body: unknown = await response.json();
  const parsed = historySchema.omit({ type: true }).safeParse(body);
  if (!parsed.success) {
    throw new ImvClientError('BAD_MESSAGE', `the server's history reply does not match the protocol: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return { type: 'history', ...parsed.data };
}

/** Downloads a stored message as Ogg Opus bytes. */
export async function downloadMessage(server: string, room: string, id: number): Promise<Uint8Array> {
  const response = await request(server, `/api/rooms/${encodeURIComponent(room)}/messages/${id}.ogg`);
  return new Uint8Array(await response.arrayBuffer());
}
