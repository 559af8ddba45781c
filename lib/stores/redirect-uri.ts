/**
 * Redirect URI rules for dynamic client registration (RFC 7591 §2) and native
 * apps (RFC 8252 §7.3): the policy that decides which URIs a client may
 * register, and how a URI in an authorization request matches a registered one.
 */

/** Which redirect URIs a server accepts at registration. */
export interface RedirectUriPolicy {
  /** URIs a client may register; `'*'` allows any https URI. */
  readonly allowedRedirectUris: readonly string[];
  /** URIs accepted as they are, whatever their scheme (e.g. a native app's private-use scheme). */
  readonly trustedRedirectUris: readonly string[];
}

/** RFC 8252 §7.3 names the IP literals; `localhost` is accepted too, as most native clients send it. */
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

function parse(uri: string): URL | undefined {
  try {
    return new URL(uri);
  } catch {
    return undefined;
  }
}

/** An `http` URI on a loopback host, any port (RFC 8252 §7.3). */
export function isLoopbackRedirectUri(uri: string): boolean {
  const url = parse(uri);
  return url !== undefined && url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * Why `uri` may not be registered under `policy`, or `undefined` when it may.
 * Trusted URIs are accepted as listed. Otherwise the URI must be absolute,
 * without a fragment (RFC 6749 §3.1.2), and either an http loopback callback
 * or an https URI that `allowedRedirectUris` lists (or allows with `'*'`).
 */
export function redirectUriProblem(uri: string, policy: RedirectUriPolicy): string | undefined {
  if (policy.trustedRedirectUris.includes(uri)) return undefined;
  const url = parse(uri);
  if (url === undefined) return 'redirect_uri is not an absolute URI';
  if (url.hash !== '' || uri.includes('#')) return 'redirect_uri must not contain a fragment';
  if (isLoopbackRedirectUri(uri)) return undefined;
  if (url.protocol !== 'https:') return 'redirect_uri must use https unless it is an http loopback callback';
  if (!policy.allowedRedirectUris.includes('*') && !policy.allowedRedirectUris.includes(uri)) {
    return 'redirect_uri is not in the allowed list';
  }
  return undefined;
}

/**
 * Whether `requested` matches the registered URI `registered`: exactly, or,
 * for loopback callbacks, on every part but the port, which a native app
 * picks at request time (RFC 8252 §7.3).
 */
export function matchesRegisteredRedirectUri(registered: string, requested: string): boolean {
  if (registered === requested) return true;
  if (!isLoopbackRedirectUri(registered) || !isLoopbackRedirectUri(requested)) return false;
  const a = new URL(registered);
  const b = new URL(requested);
  a.port = '';
  b.port = '';
  return a.href === b.href;
}
