/**
 * Turns an RFC 7591 registration request into a client record, or says why
 * not, with the same rules and error strings as the file-backed store. Kept
 * here until the file stores' shared record rules land.
 */
import { randomUUID } from 'node:crypto';
import type { ClientRegistrationRequest, ClientRegistrationResult, OAuthClient } from '../stores/client-store.js';
import { redirectUrisProblem, type RedirectUriPolicy } from '../stores/redirect-uri.js';
import { isObject, isString, isStringArray } from '../stores/store-file.js';

const refuse = (error: string, errorDescription: string): ClientRegistrationResult => ({ success: false, error, errorDescription });

/** A new client record for the request, or the refusal to send back. */
export function clientFromRequest(request: ClientRegistrationRequest, policy: RedirectUriPolicy): OAuthClient | ClientRegistrationResult {
  const fields: Partial<ClientRegistrationRequest> = isObject(request) ? request : {};
  const { client_name: name, redirect_uris: uris } = fields;
  if (!isString(name) || name.trim() === '') return refuse('invalid_client_metadata', 'client_name is required');
  const uriProblem = redirectUrisProblem(uris, policy);
  if (uriProblem !== undefined || !isStringArray(uris)) return refuse('invalid_redirect_uri', uriProblem ?? 'redirect_uris is required');
  const { response_types = ['code'], grant_types = ['authorization_code', 'refresh_token'], token_endpoint_auth_method = 'none' } = fields;
  if (!isStringArray(response_types) || !isStringArray(grant_types) || !isString(token_endpoint_auth_method)) {
    return refuse('invalid_client_metadata', 'response_types and grant_types must be string arrays, token_endpoint_auth_method a string');
  }
  return {
    client_id: randomUUID(),
    client_name: name,
    redirect_uris: [...uris],
    response_types: [...response_types],
    grant_types: [...grant_types],
    token_endpoint_auth_method,
    client_id_issued_at: Math.floor(Date.now() / 1000),
  };
}
