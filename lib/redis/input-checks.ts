/**
 * The one check of the Redis stores that the file stores' record rules
 * (lib/stores/record-rules.ts) do not cover: whether a lookup argument can
 * name a record at all. Arguments that are written go through the same
 * `requireBoundedString` and option ranges as the file stores, so both
 * backends refuse the same inputs with the same `ERR_INVALID_ARGUMENT` /
 * `ERR_OPTION_RANGE`.
 */
import { isBoundedString } from '../stores/record-rules.js';

/** Whether a lookup argument can name a record (what the stores accept when writing); anything else finds nothing without asking Redis. */
export const isLookupId = (value: unknown): value is string => isBoundedString(value);

/** Expiry times go to Redis as whole ms (PXAT/PEXPIREAT take integers); rounded up so Redis never removes a record before its expiry time. */
export const redisTime = (epochMs: number): string => String(Math.ceil(epochMs));
