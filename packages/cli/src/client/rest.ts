import http from 'node:http';
import type { Agent } from 'node:http';
import https from 'node:https';
import { historySchema } from '@imv/protocol';
import type { History } from '@imv/protocol';
import { ImvClientError } from './client-error.js';
import { toHttpBase } from './server-url.js';
import { CliError } from '../cli-error.js';

/** Query for GET /api/rooms/:room/messages. */
export interface HistoryQuery {
  after?: number;
  before?: number;
  limit?: number;
}

export interface RestOptions {
  /** HTTP(S) agent, e.g. the certificate-pinning agent for https:. */
  agent?: Agent;
}

interface RestResponse {
  status: number;
  body: Buffer;
}

/** GET with node:http(s), which (unlike fetch) takes an Agent, so pinned certificates apply to REST too. */
function get(url: URL, agent: Agent | undefined): Promise<RestResponse> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.get(url, agent !== undefined ? { agent } : {}, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

async function request(server: string, path: string, options: RestOptions): Promise<RestResponse> {
  const base = toHttpBase(server);
  let response: RestResponse;
  try {
    response = await get(new URL(`${base}${path}`), options.agent);
  } catch (cause) {
    if (cause instanceof CliError) throw cause;
    throw ImvClientError.unreachable(server, cause);
  }
  if (response.status < 200 || response.status >= 300) {
    let body: { code?: unknown; message?: unknown } = {};
    try {
      body = JSON.parse(response.body.toString('utf8')) as typeof body;
    } catch {
      // Not our JSON error shape; the status says enough.
    }
    const code = typeof body.code === 'string' ? body.code : undefined;
    const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
    throw new ImvClientError(
      code === 'NOT_FOUND' || response.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST',
      `${message}${code !== undefined ? ` (${code})` : ''}`,
    );
  }
  return response;
}

/** One page of a room's stored messages, oldest first, via REST. */
export async function fetchHistory(
  server: string,
  room: string,
  query: HistoryQuery = {},
  options: RestOptions = {},
): Promise<History> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const qs = params.size > 0 ? `?${params.toString()}` : '';
  const response = await request(server, `/api/rooms/${encodeURIComponent(room)}/messages${qs}`, options);
  let body: unknown;
  try {
    body = JSON.parse(response.body.toString('utf8'));
  } catch {
    throw new ImvClientError('BAD_MESSAGE', `the server's history reply is not JSON: is ${server} an imv server?`);
  }
  const parsed = historySchema.omit({ type: true }).safeParse(body);
  if (!parsed.success) {
    throw new ImvClientError('BAD_MESSAGE', `the server's history reply does not match the protocol: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  return { type: 'history', ...parsed.data };
}

/** Downloads a stored message as Ogg Opus bytes. */
export async function downloadMessage(
  server: string,
  room: string,
  id: number,
  options: RestOptions = {},
): Promise<Uint8Array> {
  const response = await request(server, `/api/rooms/${encodeURIComponent(room)}/messages/${id}.ogg`, options);
  return new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.byteLength);
}
