import { ProtocolError } from './errors.js';
import { MAX_TEXT_BYTES, clientMessageSchema, serverMessageSchema } from './messages.js';
import type { ClientMessage, ServerMessage } from './messages.js';
import type { z } from 'zod';

const utf8 = new TextEncoder();

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw ProtocolError.badJson(cause);
  }
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : 'message'}: ${i.message}`)
    .join('; ');
}

function parseWith<T>(text: string, schema: z.ZodType<T>, knownTypes: readonly string[]): T {
  // UTF-16 length × 3 bounds the UTF-8 size, so only texts near the limit are measured.
  const bytes = text.length * 3 > MAX_TEXT_BYTES ? utf8.encode(text).byteLength : text.length;
  if (bytes > MAX_TEXT_BYTES) {
    throw ProtocolError.textTooLarge(bytes, MAX_TEXT_BYTES);
  }
  const value = parseJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw ProtocolError.badMessage('control message must be a JSON object with a "type"');
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== 'string')
    throw ProtocolError.badMessage('control message has no string "type"');
  if (!knownTypes.includes(type)) {
    throw ProtocolError.unknownType(type);
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw ProtocolError.badMessage(
      `invalid "${type}": ${describeIssues(result.error)}`,
      result.error,
    );
  }
  return result.data;
}

const CLIENT_TYPES = clientMessageSchema.options.map((o) => o.shape.type.value);
const SERVER_TYPES = serverMessageSchema.options.map((o) => o.shape.type.value);

/** Parses and validates a text frame from a client. Throws ProtocolError with a precise code. */
export function parseClientMessage(text: string): ClientMessage {
  return parseWith(text, clientMessageSchema, CLIENT_TYPES);
}

/** Parses and validates a text frame from the server. Throws ProtocolError. */
export function parseServerMessage(text: string): ServerMessage {
  return parseWith(text, serverMessageSchema, SERVER_TYPES);
}
