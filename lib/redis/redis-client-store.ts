import type { ClientRegistrationRequest, ClientRegistrationResult, ClientStoreConfig, OAuthClient } from '../stores/client-store.js';
import type { ClientStore } from '../stores/contract.js';
import { isRegisteredRedirectUri, type RedirectUriPolicy } from '../stores/redirect-uri.js';
import { isObject, isStringArray } from '../stores/store-file.js';
import { clientFromRequest } from '../stores/client-registration.js';
import { isLookupId } from './input-checks.js';
import { CLIENT, openRecord, sealRecord } from './record-codec.js';
import type { RedisBackend } from './redis-backend.js';
import { RedisRecordError } from './redis-errors.js';
import { InvalidArgumentError } from '../stores/store-errors.js';

/** Configuration of a {@link RedisClientStore}: the file store's redirect URI policy. */
export type RedisClientStoreConfig = Pick<ClientStoreConfig, 'allowedRedirectUris' | 'trustedRedirectUris' | 'strictRedirectUris'>;

/**
 * Registered clients in Redis, one encrypted string per client under a
 * hashed key, without expiry. The same validation and RFC 7591 refusals as
 * the file store; every change resolves only after Redis replied.
 */
export class RedisClientStore implements ClientStore {
  readonly #backend: RedisBackend;
  readonly #policy: RedirectUriPolicy;

  /** Throws InvalidArgumentError (`ERR_INVALID_ARGUMENT`) for what PersistentClientStore refuses: a config that is not an object, URI lists that are not arrays of strings. */
  constructor(backend: RedisBackend, config: RedisClientStoreConfig) {
    if (!isObject(config)) throw new InvalidArgumentError('config', 'an object', config);
    const { allowedRedirectUris, trustedRedirectUris = [] } = config;
    if (!isStringArray(allowedRedirectUris)) throw new InvalidArgumentError('config.allowedRedirectUris', 'an array of strings', allowedRedirectUris);
    if (!isStringArray(trustedRedirectUris)) throw new InvalidArgumentError('config.trustedRedirectUris', 'an array of strings', trustedRedirectUris);
    this.#backend = backend;
    this.#policy = { allowedRedirectUris: [...allowedRedirectUris], trustedRedirectUris: [...trustedRedirectUris], strict: config.strictRedirectUris === true };
  }

  /** Validates and registers a client, resolving once Redis stored it. Refusals resolve with `invalid_client_metadata` or `invalid_redirect_uri`. */
  async registerClient(request: ClientRegistrationRequest): Promise<ClientRegistrationResult> {
    const outcome = clientFromRequest(request, this.#policy);
    if ('success' in outcome) return outcome;
    const names = await this.#backend.names();
    const sealed = await sealRecord(this.#backend.encryption, outcome);
    // NX: a random id never collides, but a write must never replace a client it did not read.
    const reply = await this.#backend.call(['SET', names.client(outcome.client_id), sealed, 'NX']);
    if (reply !== 'OK') throw new RedisRecordError('client', 'SET NX was not acknowledged');
    return { success: true, client: structuredClone(outcome) };
  }

  /** The client, or null. */
  async getClient(clientId: string): Promise<OAuthClient | null> {
    if (!isLookupId(clientId)) return null;
    const names = await this.#backend.names();
    const sealed = await this.#backend.call(['GET', names.client(clientId)]);
    return sealed === null ? null : openRecord(this.#backend.encryption, CLIENT, clientId, sealed);
  }

  /** Removes the client, resolving `true` once Redis did, or `false` if there was none. */
  async deleteClient(clientId: string): Promise<boolean> {
    if (!isLookupId(clientId)) return false;
    const names = await this.#backend.names();
    return (await this.#backend.call(['DEL', names.client(clientId)])) === 1;
  }

  /** Whether `redirectUri` is registered for the client (loopback callbacks match on any port, RFC 8252 §7.3). */
  async isValidRedirectUri(clientId: string, redirectUri: string): Promise<boolean> {
    const registered = await this.getClient(clientId);
    return registered !== null && typeof redirectUri === 'string' && isRegisteredRedirectUri(registered.redirect_uris, redirectUri, this.#policy.strict);
  }

  /** Resolves at once: every change already resolved only once Redis acknowledged it. */
  async flush(): Promise<void> {}
}
