import type { EncryptionService } from '../encryption/encryption-service.js';
import { InvalidArgumentError } from './store-errors.js';
import { isRegisteredRedirectUri, type RedirectUriPolicy } from './redirect-uri.js';
import { clientFromRequest } from './client-registration.js';
import { isOAuthClient, type GrantType, type OAuthClient, type ResponseType, type TokenEndpointAuthMethod } from './record-rules.js';
import { isObject, isStringArray } from './store-file.js';
import type { StoreLogger } from './store-logger.js';
import { StorePersistence } from './store-persistence.js';

export type { GrantType, OAuthClient, ResponseType, TokenEndpointAuthMethod } from './record-rules.js';

/** Configuration of a {@link PersistentClientStore}. */
export interface ClientStoreConfig {
  /** URIs clients may register; `'*'` allows any https URI. Claude's callbacks and loopback `/callback` URIs are always allowed. */
  allowedRedirectUris: string[];
  /** URIs accepted as listed, whatever their scheme. Default none. */
  trustedRedirectUris?: string[];
  /**
   * Opt-in, stricter than the original: refuse redirect URIs with a fragment,
   * and match a loopback URI at authorization only against a registered one
   * that differs in nothing but the port (RFC 8252 §7.3). Default false.
   */
  strictRedirectUris?: boolean;
  /** Where moved-aside files are reported. Default: `process.emitWarning`. */
  logger?: StoreLogger;
}

/** A dynamic client registration request (RFC 7591 §2); the original's type. Fields after the auth method are not stored. */
export interface ClientRegistrationRequest {
  client_name: string;
  redirect_uris: string[];
  /** Default `['code']`. */
  response_types?: ResponseType[];
  /** Default `['authorization_code', 'refresh_token']`. */
  grant_types?: GrantType[];
  /** Default `'none'` (a public client). */
  token_endpoint_auth_method?: TokenEndpointAuthMethod;
  scope?: string;
  contacts?: string[];
  logo_uri?: string;
  client_uri?: string;
  policy_uri?: string;
  tos_uri?: string;
}

/** The outcome of a registration; `error` is an RFC 7591 §3.2.2 error code. */
export interface ClientRegistrationResult {
  success: boolean;
  client?: OAuthClient;
  error?: string;
  errorDescription?: string;
}

const copyOf = (client: OAuthClient): OAuthClient => structuredClone(client);

/**
 * Registered clients kept in memory and persisted as one encrypted file
 * (default `~/.sage/oauth_clients.enc`). `registerClient` and `deleteClient`
 * resolve only once the change is on disk; when the write fails they reject
 * with its error and the change is undone in memory.
 *
 * Any number of instances and processes may share the file: saves merge,
 * lookups read fresh (README, "Many writers").
 */
export class PersistentClientStore {
  readonly #clients = new Map<string, OAuthClient>();
  readonly #policy: RedirectUriPolicy;
  readonly #file: StorePersistence<OAuthClient>;

  /**
   * Throws InvalidArgumentError (`ERR_INVALID_ARGUMENT`) for a config that is
   * not an object, URI lists that are not arrays of strings, or a storage
   * path that is not a string.
   */
  constructor(config: ClientStoreConfig, encryptionService: EncryptionService, storagePath?: string) {
    if (!isObject(config)) throw new InvalidArgumentError('config', 'an object', config);
    if (!isStringArray(config.allowedRedirectUris)) {
      throw new InvalidArgumentError('config.allowedRedirectUris', 'an array of strings', config.allowedRedirectUris);
    }
    if (config.trustedRedirectUris !== undefined && !isStringArray(config.trustedRedirectUris)) {
      throw new InvalidArgumentError('config.trustedRedirectUris', 'an array of strings', config.trustedRedirectUris);
    }
    this.#policy = {
      allowedRedirectUris: [...config.allowedRedirectUris],
      trustedRedirectUris: [...(config.trustedRedirectUris ?? [])],
      strict: config.strictRedirectUris === true,
    };
    this.#file = new StorePersistence(
      encryptionService,
      storagePath,
      { name: 'clients', field: 'clients', defaultFileName: 'oauth_clients.enc', isRecord: isOAuthClient, idOf: (client) => client.client_id, records: this.#clients },
      config.logger,
    );
  }

  /**
   * Reads the file under its locks: the clients in memory become the file's,
   * with this store's unsaved changes on top. Not needed for correctness
   * (every save merges, every lookup reads fresh): it surfaces a bad file at
   * start-up and warms the memory.
   */
  async loadFromStorage(): Promise<void> {
    this.#file.assertOpen('loadFromStorage');
    await this.#file.load();
  }

  /**
   * Validates and registers a client, resolving once it is on disk. The
   * request is the client's (RFC 7591 §2), so every problem in it resolves
   * with `invalid_client_metadata` or `invalid_redirect_uri` naming the
   * field, never rejects; that includes values beyond the record limits
   * (strings over 65,536 characters, lists over 1,000 entries), which the
   * loader would refuse. A field left empty (`null`, `''`) takes its
   * default, as in the original. Rejects with StoreClosedError
   * (`ERR_STORE_CLOSED`) once the store is closed.
   */
  async registerClient(request: ClientRegistrationRequest): Promise<ClientRegistrationResult> {
    this.#file.assertOpen('registerClient');
    const client = clientFromRequest(request, this.#policy);
    if ('success' in client) return client;
    this.#clients.set(client.client_id, client);
    await this.#persist(client.client_id, () => this.#clients.delete(client.client_id));
    return { success: true, client: copyOf(client) };
  }

  /** The client, or null; an id that is not a string (an authorization request without `client_id`) names none. */
  async getClient(clientId: string): Promise<OAuthClient | null> {
    if (typeof clientId !== 'string') return null;
    await this.#file.refresh();
    const client = this.#clients.get(clientId);
    return client === undefined ? null : copyOf(client);
  }

  /** Removes the client, resolving `true` once that is on disk, or `false` if there was none. */
  async deleteClient(clientId: string): Promise<boolean> {
    this.#file.assertOpen('deleteClient');
    if (typeof clientId !== 'string') return false;
    await this.#file.refresh();
    const client = this.#clients.get(clientId);
    if (client === undefined) return false;
    this.#clients.delete(clientId);
    await this.#persist(clientId, () => {
      if (!this.#clients.has(clientId)) this.#clients.set(clientId, client);
    });
    return true;
  }

  /**
   * Whether `redirectUri` may be used by the client: registered, or a loopback
   * callback when the client registered one (see `strictRedirectUris`).
   */
  async isValidRedirectUri(clientId: string, redirectUri: string): Promise<boolean> {
    if (typeof clientId !== 'string' || typeof redirectUri !== 'string') return false;
    await this.#file.refresh();
    const client = this.#clients.get(clientId);
    return client !== undefined && isRegisteredRedirectUri(client.redirect_uris, redirectUri, this.#policy.strict);
  }

  /** Resolves once every change made before the call is on disk; rejects with the write's error. */
  flush(): Promise<void> {
    return this.#file.flush();
  }

  /**
   * Refuses every later change with StoreClosedError (`ERR_STORE_CLOSED`),
   * saves everything already accepted and folds the journal into the store
   * file, which then alone holds every client (rejects with the write's
   * error; a second call retries). Lookups keep working.
   */
  close(): Promise<void> {
    return this.#file.close();
  }

  /** Whether some accepted change has not reached disk yet. */
  hasUnsavedChanges(): boolean {
    return this.#file.hasUnsavedChanges;
  }

  /** Clients held. */
  getMetrics(): { count: number } {
    return { count: this.#clients.size };
  }

  /** Saves; on failure undoes the change in memory and rethrows (NFR-8). */
  async #persist(clientId: string, undo: () => void): Promise<void> {
    this.#file.changed(clientId);
    try {
      await this.#file.saves.save();
    } catch (error) {
      undo();
      // A later save may already hold the undone change; the next one must overwrite it.
      this.#file.changed(clientId);
      throw error;
    }
  }
}
