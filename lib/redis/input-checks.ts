/**
 * Checks at the door of the Redis stores: a record is never written that the
 * stores' own readers would refuse. Kept small and local until the shared
 * record rules of the file stores land; the codes match in spirit (a typed
 * error naming the field, never the value).
 */
import { RedisStoreInputError } from './redis-errors.js';

/** Throws unless `value` is a non-empty string. */
export function requireText(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') throw new RedisStoreInputError(field, 'a non-empty string');
}

/** Throws unless `value` is a string (empty allowed, e.g. an empty scope). */
export function requireString(field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string') throw new RedisStoreInputError(field, 'a string');
}

/** Throws unless `value` is a positive finite number no larger than `max`. */
export function requirePositive(field: string, value: unknown, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > max) {
    throw new RedisStoreInputError(field, `a positive number up to ${max}`);
  }
}

/** Whether a lookup argument can name a record at all; anything else simply finds nothing. */
export const isLookupId = (value: unknown): value is string => typeof value === 'string' && value !== '';
