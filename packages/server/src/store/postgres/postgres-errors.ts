import { StoreUnavailableError } from '../store-errors.js';

/** Node socket errors that mean the server is not there (or went away). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATE classes/codes of a database that is unreachable or going away (PostgreSQL appendix A):
 * class 08 connection exception, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections.
 */
function isUnavailableSqlState(code: string): boolean {
  return code.startsWith('08') || /^57P0[123]$/.test(code) || code === '53300';
}

/** node-postgres reports a lost connection and a connect timeout with these messages, without a code. */
const LOST_CONNECTION =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Query read timeout/i;

/** True when `err` says the database cannot be reached, rather than that the query was wrong. */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || isUnavailableSqlState(code))) {
    return true;
  }
  return LOST_CONNECTION.test(err.message);
}

/** Rethrows `err` as StoreUnavailableError when the database is unreachable, else unchanged. */
export function classifyPgError(err: unknown): Error {
  if (err instanceof StoreUnavailableError) return err;
  if (isUnavailable(err)) {
    const detail =
      err instanceof AggregateError
        ? (err.errors[0] as Error | undefined)?.message
        : (err as Error).message;
    return new StoreUnavailableError(
      `PostgreSQL is unreachable: ${detail ?? 'connection failed'}`,
      {
        cause: err,
      },
    );
  }
  return err instanceof Error ? err : new Error(String(err));
}
