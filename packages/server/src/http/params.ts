import { HttpError } from './errors.js';

/** Decimal digits as a person writes them: no sign, no leading zero, no exponent, no hex, no spaces. */
const CANONICAL_DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** A path or query value that must be a string (the schema says so; fastify would coerce a number). */
export const integerText = { type: 'string', maxLength: 64 } as const;

/**
 * Reads a canonical decimal integer in [min, max] from a path or query parameter, so that `0x1`,
 * `1e3`, `01`, `+1` or a 20-digit id are refused instead of coerced into another message's id.
 */
export function parseIntegerParam(
  name: string,
  text: string,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER,
): number {
  const value = CANONICAL_DECIMAL.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw HttpError.badRequest(
      `${name} must be a decimal integer from ${min} to ${max} without sign, leading zeros or exponent; got ${JSON.stringify(text.slice(0, 24))}`,
    );
  }
  return value;
}

/** As parseIntegerParam for an optional query parameter. */
export function parseOptionalIntegerParam(
  name: string,
  text: string | undefined,
  min: number,
  max?: number,
): number | undefined {
  return text === undefined ? undefined : parseIntegerParam(name, text, min, max);
}
