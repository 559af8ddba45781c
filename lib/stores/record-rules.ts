/**
 * What a stored record is, in one place: the three record shapes, the
 * guards the loader applies to each record, and the limits both sides share.
 * The stores check incoming data against the same rules, so they never
 * write a record their own loader would refuse (issue 9, item 5), and
 * whatever loads can be written back (issue 10, defect 6: a field nested
 * 20,000 deep loaded, then made every save overflow the stack).
 */
import { InvalidArgumentError } from './store-errors.js';
import { isObject, isString, isTime } from './store-file.js';

/** One signed-in user's session, as stored in `oauth_sessions.enc`. Times are epoch ms. */
export interface UserSession {
  sessionId: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}

/** A refresh token as stored in `oauth_refresh_tokens.enc`. Times are epoch ms. */
export interface RefreshToken {
  token: string;
  client_id: string;
  user_id: string;
  scope: string;
  created_at: number;
  expires_at: number;
  rotated: boolean;
}

/** The response types the original server supports. */
export type ResponseType = 'code';
/** The grant types the original server supports. */
export type GrantType = 'authorization_code' | 'refresh_token';
/** The token endpoint auth methods the original server supports. */
export type TokenEndpointAuthMethod = 'none' | 'client_secret_post';

/** A registered OAuth client as stored in `oauth_clients.enc` (RFC 7591 §3.2.1); the original's type. */
export interface OAuthClient {
  /** `sage_` and 32 hex digits. */
  client_id: string;
  client_name: string;
  redirect_uris: string[];
  response_types: ResponseType[];
  grant_types: GrantType[];
  token_endpoint_auth_method: TokenEndpointAuthMethod;
  /** Seconds since the epoch, as RFC 7591 specifies. */
  client_id_issued_at: number;
  client_secret?: string;
  client_secret_expires_at?: number;
  scope?: string;
}

/**
 * The bounds of a record. Far above anything OAuth sends (ids are 36 to 64
 * characters, a client lists a handful of URIs), far below what breaks a save.
 */
export const RECORD_LIMITS = Object.freeze({
  /** Characters in any string of a record: a field, an array entry, a key. */
  maxStringLength: 65_536,
  /** Entries in any array, and keys in any object nested in an extra field. */
  maxArrayLength: 1_000,
  /** Fields a record may carry beyond its own (kept and written back as they are). */
  maxExtraFields: 64,
  /** Nesting of the value of an extra field: `{}` or `[]` is 1 deep. */
  maxExtraDepth: 16,
  /** JSON values in all extra fields of one record together. */
  maxExtraValues: 10_000,
});

/** A string within RECORD_LIMITS.maxStringLength. */
export const isBoundedString = (value: unknown): value is string => isString(value) && value.length <= RECORD_LIMITS.maxStringLength;

/** An array of at most RECORD_LIMITS.maxArrayLength bounded strings. */
export const isBoundedStringArray = (value: unknown): value is string[] =>
  Array.isArray(value) && value.length <= RECORD_LIMITS.maxArrayLength && value.every(isBoundedString);

/** What an argument checked by {@link requireBoundedString} must be, for messages. */
export const BOUNDED_STRING = `a string of at most ${RECORD_LIMITS.maxStringLength} characters`;

/**
 * Returns `value` when it may be stored as a string field; throws
 * InvalidArgumentError (`ERR_INVALID_ARGUMENT`) naming `argument` otherwise.
 */
export function requireBoundedString(value: unknown, argument: string): string {
  if (!isBoundedString(value)) throw new InvalidArgumentError(argument, BOUNDED_STRING, value);
  return value;
}

const SESSION_FIELDS = new Set(['sessionId', 'userId', 'createdAt', 'expiresAt']);
const TOKEN_FIELDS = new Set(['token', 'client_id', 'user_id', 'scope', 'created_at', 'expires_at', 'rotated']);
const CLIENT_FIELDS = new Set([
  'client_id', 'client_name', 'redirect_uris', 'response_types', 'grant_types', 'token_endpoint_auth_method', 'client_id_issued_at',
]);

/** A session record the store can load and write back. */
export const isUserSession = (value: unknown): value is UserSession =>
  isObject(value) && isBoundedString(value.sessionId) && isBoundedString(value.userId) && isTime(value.createdAt) &&
  isTime(value.expiresAt) && hasBoundedExtras(value, SESSION_FIELDS);

/** A refresh-token record the store can load and write back. */
export const isRefreshToken = (value: unknown): value is RefreshToken =>
  isObject(value) && isBoundedString(value.token) && isBoundedString(value.client_id) && isBoundedString(value.user_id) &&
  isBoundedString(value.scope) && isTime(value.created_at) && isTime(value.expires_at) && typeof value.rotated === 'boolean' &&
  hasBoundedExtras(value, TOKEN_FIELDS);

/** A client record the store can load and write back. */
export const isOAuthClient = (value: unknown): value is OAuthClient =>
  isObject(value) && isBoundedString(value.client_id) && isBoundedString(value.client_name) && isBoundedStringArray(value.redirect_uris) &&
  isBoundedStringArray(value.response_types) && isBoundedStringArray(value.grant_types) &&
  isBoundedString(value.token_endpoint_auth_method) && isTime(value.client_id_issued_at) && hasBoundedExtras(value, CLIENT_FIELDS);

/**
 * Fields beyond the record's own (another version of the server may add
 * some) are kept, so they must be JSON within the limits. The walk stops at
 * the depth limit, so it never recurses deeper than RECORD_LIMITS.maxExtraDepth.
 */
function hasBoundedExtras(record: Record<string, unknown>, known: ReadonlySet<string>): boolean {
  const budget = { values: RECORD_LIMITS.maxExtraValues };
  let extras = 0;
  for (const key of Object.keys(record)) {
    if (known.has(key)) continue;
    extras += 1;
    if (extras > RECORD_LIMITS.maxExtraFields || key.length > RECORD_LIMITS.maxStringLength) return false;
    if (!isBoundedJson(record[key], 1, budget)) return false;
  }
  return true;
}

function isBoundedJson(value: unknown, depth: number, budget: { values: number }): boolean {
  budget.values -= 1;
  if (budget.values < 0) return false;
  if (value === null || typeof value === 'boolean') return true;
  if (typeof value === 'string') return value.length <= RECORD_LIMITS.maxStringLength;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || depth > RECORD_LIMITS.maxExtraDepth) return false;
  if (Array.isArray(value)) {
    return value.length <= RECORD_LIMITS.maxArrayLength && value.every((entry) => isBoundedJson(entry, depth + 1, budget));
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return false;
  const entries = Object.entries(value);
  return (
    entries.length <= RECORD_LIMITS.maxArrayLength &&
    entries.every(([key, entry]) => key.length <= RECORD_LIMITS.maxStringLength && isBoundedJson(entry, depth + 1, budget))
  );
}
