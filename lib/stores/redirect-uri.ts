/**
 * Redirect URI rules for dynamic client registration and authorization. By
 * default they are the original server's, because a native client's real
 * flow depends on them: Claude's callback URLs and http loopback callbacks
 * (`localhost` or `127.0.0.1`, any port, a path ending in `/callback`) are
 * always accepted; anything else must be listed (or allowed with `'*'`) and
 * use https. At authorization, a URI matches when it was registered, or when
 * it is a loopback callback and the client registered one (a native client
 * picks its port, and sometimes `127.0.0.1` for `localhost`, at request time).
 * The refusal texts are the original's, URI included.
 *
 * `strict` is opt-in: it also refuses fragments (RFC 6749 §3.1.2) and matches
 * a loopback URI only against a registered one that differs in nothing but
 * the port (RFC 8252 §7.3). Neither closes a hole the default leaves open:
 * a loopback redirect reaches only a process on the user's own machine,
 * which can already listen on any port, and PKCE binds the code to its client.
 */

/** The callback URLs of Claude's MCP clients, accepted for every client. */
export const CLAUDE_CALLBACK_URLS: readonly string[] = Object.freeze([
  'https://claude.ai/api/mcp/auth_callback',
  'https://claude.com/api/mcp/auth_callback',
]);

/** Which redirect URIs a store accepts. */
export interface RedirectUriPolicy {
  /** URIs a client may register; `'*'` allows any https URI. */
  readonly allowedRedirectUris: readonly string[];
  /** URIs accepted as they are, whatever their scheme (e.g. a native app's private-use scheme). */
  readonly trustedRedirectUris: readonly string[];
  /** Refuse fragments; match loopback URIs on everything but the port. */
  readonly strict: boolean;
}

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/** An http URI on `localhost` or `127.0.0.1`, any port, whose path ends in `/callback`. */
export function isLocalhostCallback(uri: string): boolean {
  const url = parse(uri);
  return url !== undefined && url.protocol === 'http:' && (url.hostname === 'localhost' || url.hostname === '127.0.0.1') && url.pathname.endsWith('/callback');
}

/** Why `uris` may not be registered under `policy` (the original's text), or undefined when they may. */
export function redirectUrisProblem(uris: unknown, policy: RedirectUriPolicy): string | undefined {
  if (!Array.isArray(uris) || uris.length === 0) return 'redirect_uris is required';
  for (const uri of uris as unknown[]) {
    const problem = typeof uri === 'string' ? redirectUriProblem(uri, policy) : `Invalid redirect_uri format: ${String(uri)}`;
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function redirectUriProblem(uri: string, policy: RedirectUriPolicy): string | undefined {
  if (policy.trustedRedirectUris.includes(uri)) return undefined;
  if (policy.strict && uri.includes('#')) return `redirect_uri must not contain a fragment: ${uri}`;
  if (CLAUDE_CALLBACK_URLS.includes(uri) || isLocalhostCallback(uri)) return undefined;
  if (!policy.allowedRedirectUris.includes(uri) && !policy.allowedRedirectUris.includes('*')) return `redirect_uri not allowed: ${uri}`;
  const url = parse(uri);
  if (url === undefined) return `Invalid redirect_uri format: ${uri}`;
  // As in the original, plain http is let through for a listed `localhost` URI of any path.
  if (url.protocol !== 'https:' && url.hostname !== 'localhost') return `redirect_uri must use HTTPS: ${uri}`;
  return undefined;
}

/** Whether an authorization request's `requested` URI is valid for a client that registered `registered`. */
export function isRegisteredRedirectUri(registered: readonly string[], requested: string, strict: boolean): boolean {
  if (registered.includes(requested)) return true;
  if (strict) return registered.some((uri) => sameButPort(uri, requested));
  return isLocalhostCallback(requested) && registered.some(isLocalhostCallback);
}

/** RFC 8252 §7.3 loopback hosts, `localhost` included as most native clients send it. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function sameButPort(registered: string, requested: string): boolean {
  const a = parse(registered);
  const b = parse(requested);
  if (a === undefined || b === undefined || a.protocol !== 'http:' || b.protocol !== 'http:') return false;
  if (!LOOPBACK_HOSTS.has(a.hostname) || !LOOPBACK_HOSTS.has(b.hostname)) return false;
  a.port = '';
  b.port = '';
  return a.href === b.href;
}
