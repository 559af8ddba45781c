/**
 * Dynamic client registration (RFC 7591 §2) as the original server does it:
 * the request's checks, their texts, the defaults and the client id format.
 * Shared by the file-backed and the Redis-backed client stores, so both
 * refuse and accept exactly the same requests.
 */
import { randomBytes } from 'node:crypto';
import type { ClientRegistrationRequest, ClientRegistrationResult } from './client-store.js';
import { redirectUrisProblem, type RedirectUriPolicy } from './redirect-uri.js';
import {
  isBoundedString, isBoundedStringArray, isOAuthClient, RECORD_LIMITS, type GrantType, type OAuthClient, type ResponseType, type TokenEndpointAuthMethod,
} from './record-rules.js';
import { isObject, isString } from './store-file.js';

const { maxStringLength, maxArrayLength } = RECORD_LIMITS;

/** The original's client id format: `sage_` and 16 random bytes in hex. */
export const newClientId = (): string => `sage_${randomBytes(16).toString('hex')}`;

const refuse = (error: string, errorDescription: string): ClientRegistrationResult => ({ success: false, error, errorDescription });

/**
 * The client to store for `request`, or the refusal to send back
 * (`invalid_client_metadata` or `invalid_redirect_uri`, with the original's
 * texts where the original refused too). Never throws for a bad request.
 */
export function clientFromRequest(request: ClientRegistrationRequest, policy: RedirectUriPolicy): OAuthClient | ClientRegistrationResult {
  if (!isObject(request)) return refuse('invalid_client_metadata', 'the registration request must be a JSON object');
  const { client_name: name, redirect_uris: uris } = request;
  // The original's texts first; the record limits only then (the loader would refuse more).
  if (!isString(name) || name.trim() === '') return refuse('invalid_client_metadata', 'client_name is required');
  if (!isBoundedString(name)) return refuse('invalid_client_metadata', `client_name must be at most ${maxStringLength} characters`);
  const uriProblem = redirectUrisProblem(uris, policy);
  if (uriProblem !== undefined) return refuse('invalid_redirect_uri', uriProblem);
  if (!isBoundedStringArray(uris)) {
    return refuse('invalid_redirect_uri', `redirect_uris must be at most ${maxArrayLength} strings of at most ${maxStringLength} characters`);
  }
  // `||`, not defaults: the original treats every empty value as absent.
  const response_types = request.response_types || ['code'];
  const grant_types = request.grant_types || ['authorization_code', 'refresh_token'];
  const token_endpoint_auth_method = request.token_endpoint_auth_method || 'none';
  if (!isBoundedStringArray(response_types) || !isBoundedStringArray(grant_types) || !isBoundedString(token_endpoint_auth_method)) {
    return refuse(
      'invalid_client_metadata',
      `response_types and grant_types must be at most ${maxArrayLength} strings, token_endpoint_auth_method a string (strings of at most ${maxStringLength} characters)`,
    );
  }
  const registered: OAuthClient = {
    client_id: newClientId(),
    client_name: name,
    redirect_uris: [...uris],
    // The original stores what the client sent, literal unions or not; the loader's bounds hold.
    response_types: [...response_types] as ResponseType[],
    grant_types: [...grant_types] as GrantType[],
    token_endpoint_auth_method: token_endpoint_auth_method as TokenEndpointAuthMethod,
    client_id_issued_at: Math.trunc(Date.now() / 1000),
  };
  // The checks above imply it; kept so no later edit can store what the loader refuses.
  if (!isOAuthClient(registered)) return refuse('invalid_client_metadata', 'the client metadata cannot be stored');
  return registered;
}
