import http from 'node:http';
import type { Agent } from 'node:http';
import https from 'node:https';
import {
  ERROR_CODES,
  ProtocolError,
  REST_PATHS,
  ROOM_KEY_HEADER,
  historySchema,
  splitFramesDownload,
  voiceMessageSchema,
} from '@imv/protocol';
import type { ErrorCode, History, VoiceMessage } from '@imv/protocol';
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
  /** Room key for a keyed room, sent as `X-Imv-Room-Key`. */
  roomKey?: string;
}

export { ROOM_KEY_HEADER, splitFramesDownload as splitFrames } from '@imv/protocol';

export interface RestResponse {
  status: number;
  body: Buffer;
}

export interface RestRequest {
  method?: 'GET' | 'PUT' | 'DELETE' | 'POST';
  headers?: Record<string, string>;
  /** JSON body. */
  json?: unknown;
  agent?: Agent;
}

/** One request with node:http(s), which (unlike fetch) takes an Agent, so pinned certificates apply to REST too. */
function send(url: URL, request: RestRequest): Promise<RestResponse> {
  const client = url.protocol === 'https:' ? https : http;
  const body = request.json !== undefined ? Buffer.from(JSON.stringify(request.json)) : undefined;
  const headers: Record<string, string> = { ...request.headers };
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.byteLength);
  }
  return new Promise((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: request.method ?? 'GET',
        headers,
        ...(request.agent !== undefined ? { agent: request.agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** The code of an answer without our JSON body (a proxy's error page, say). */
function statusCode(status: number): ErrorCode {
  if (status === 401) return 'UNAUTHORIZED';
  if (status === 403) return 'FORBIDDEN';
  if (status === 404) return 'NOT_FOUND';
  if (status === 408) return 'REQUEST_TIMEOUT';
  if (status === 413) return 'PAYLOAD_TOO_LARGE';
  if (status === 429) return 'TOO_MANY_CONNECTIONS';
  return status >= 500 ? 'INTERNAL' : 'BAD_REQUEST';
}

/** Sends a request to the server's REST API; a non-2xx answer becomes an ImvClientError with the server's code. */
export async function restRequest(
  server: string,
  path: string,
  request: RestRequest = {},
): Promise<RestResponse> {
  const base = toHttpBase(server);
  let response: RestResponse;
  try {
    response = await send(new URL(`${base}${path}`), request);
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
    const code =
      typeof body.code === 'string' && KNOWN_CODES.has(body.code)
        ? (body.code as ErrorCode)
        : statusCode(response.status);
    const message = typeof body.message === 'string' ? body.message : `HTTP ${response.status}`;
    throw new ImvClientError(code, `${message} (${code})`, { cause: { status: response.status } });
  }
  return response;
}

function roomRequest(options: RestOptions): RestRequest {
  return {
    ...(options.agent !== undefined ? { agent: options.agent } : {}),
    ...(options.roomKey !== undefined ? { headers: { [ROOM_KEY_HEADER]: options.roomKey } } : {}),
  };
}

function parseJson(response: RestResponse, server: string): unknown {
  try {
    return JSON.parse(response.body.toString('utf8'));
  } catch {
    throw new ImvClientError(
      'BAD_MESSAGE',
      `the server's reply is not JSON: is ${server} an imv server?`,
    );
  }
}

/** One page of a room's stored messages, oldest first, via REST. */
export async function fetchHistory(
  server: string,
  room: string,
  query: HistoryQuery = {},
  options: RestOptions = {},
): Promise<History> {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query))
    if (value !== undefined) params.set(key, String(value));
  const qs = params.size > 0 ? `?${params.toString()}` : '';
  const response = await restRequest(
    server,
    `${REST_PATHS.messages(room)}${qs}`,
    roomRequest(options),
  );
  const parsed = historySchema.omit({ type: true }).safeParse(parseJson(response, server));
  if (!parsed.success) {
    throw new ImvClientError(
      'BAD_MESSAGE',
      `the server's history reply does not match the protocol: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  return { type: 'history', ...parsed.data };
}

/** One stored message's metadata. */
export async function fetchMessage(
  server: string,
  room: string,
  id: number,
  options: RestOptions = {},
): Promise<VoiceMessage> {
  const response = await restRequest(server, REST_PATHS.message(room, id), roomRequest(options));
  const parsed = voiceMessageSchema.safeParse(parseJson(response, server));
  if (!parsed.success) {
    throw new ImvClientError(
      'BAD_MESSAGE',
      `the server's message reply does not match the protocol: ${parsed.error.issues[0]?.message ?? ''}`,
    );
  }
  return parsed.data;
}

/** Downloads a stored message as Ogg Opus bytes. */
export async function downloadMessage(
  server: string,
  room: string,
  id: number,
  options: RestOptions = {},
): Promise<Uint8Array> {
  const response = await restRequest(server, REST_PATHS.messageOgg(room, id), roomRequest(options));
  return new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.byteLength);
}

/**
 * Downloads a stored message's frames as the server stored them (each with its rebuilt 16-byte
 * header): the way to get an end-to-end encrypted message, which only clients can decrypt.
 * The body is repeated [u16 BE length][frame bytes].
 */
export async function downloadFrames(
  server: string,
  room: string,
  id: number,
  options: RestOptions = {},
): Promise<Uint8Array[]> {
  const response = await restRequest(
    server,
    REST_PATHS.messageFrames(room, id),
    roomRequest(options),
  );
  try {
    return splitFramesDownload(response.body);
  } catch (err) {
    if (err instanceof ProtocolError) throw new ImvClientError(err.code, err.message);
    throw err;
  }
}
