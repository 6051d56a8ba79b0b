import { API_KEY_PREFIX, createApiKeyAuthenticator, type ApiKeyStore } from './api-keys';
import { USER_JWT_HEADER } from '../openwebui/user-jwt';
import { selectTenant } from './claims-mapping';
import { authFailure, type AuthLogger } from './failures';
import type { IssuerConfig } from './issuer-config';
import { createJwtVerifier, type FetchLike, type WorkloadTrust } from './jwt-verifier';
import type { Principal } from './principal';

/**
 * Request headers as either the Fetch API's `Headers` (what `HttpRequest.headers` is) or a plain map, whose
 * names are matched case-insensitively.
 */
export type HeaderSource = FetchHeaders | Record<string, string | string[] | undefined>;

/** The part of the Fetch API's `Headers` the authenticator reads. */
export interface FetchHeaders {
  get(name: string): string | null;
}

function isFetchHeaders(headers: HeaderSource): headers is FetchHeaders {
  return typeof headers.get === 'function';
}

/** Dependencies of {@link createAuthenticator}; everything but `issuers` and `apiKeys` has a default. */
export interface AuthenticatorOptions {
  /** Trusted JWT issuers, usually `trustedIssuers(config)`. */
  issuers: IssuerConfig[];
  /** CI workload trust (the trust policies), consulted for issuers `issuers` does not list. */
  workloads?: WorkloadTrust;
  /** OpenWebUI connections: who a call with a connection's key acts as. */
  connections?: ConnectionCallers;
  apiKeys: ApiKeyStore;
  /** `API_KEY_PEPPER`, when configured. */
  apiKeyPepper?: string | undefined;
  now?: () => Date;
  /** Used for OpenID discovery and JWKS requests. */
  fetch?: FetchLike;
  /** Deadline of each discovery or JWKS request, in milliseconds (default 5000). */
  httpTimeoutMs?: number;
  /** Minimum time between JWKS refreshes caused by an unknown `kid`, in milliseconds (default 30000). */
  jwksRefreshCooldownMs?: number;
  /** Minimum interval between two last-used writes for one API key, in milliseconds (default 5 minutes). */
  apiKeyLastUsedThrottleMs?: number;
  logger?: AuthLogger;
}

/** Resolves a call made with an OpenWebUI connection's key to the chat user it is made for. */
export interface ConnectionCallers {
  /** The chat user a valid `X-OpenWebUI-User-Jwt` names, or the connection itself without one. */
  callerFor(keyPrincipal: Principal, userJwt: string | undefined): Promise<Principal>;
}

/** Establishes who is calling from a request's headers. */
export interface Authenticator {
  /**
   * The caller, from `Authorization: Bearer <JWT or usa_ key>` or else `x-api-key: usa_...`, in the tenant
   * `X-Tenant-Id` names when the caller belongs to several. Rejects with `AppError('unauthenticated')` (401)
   * for a missing or refused credential and `AppError('forbidden')` (403) for a tenant the caller may not act
   * in, each with a reason code in `details.reason`; a failing key store's own error passes through.
   */
  authenticate(headers: HeaderSource): Promise<Principal>;
}

function header(headers: HeaderSource, name: string): string | undefined {
  if (isFetchHeaders(headers)) return headers.get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== name) continue;
    return Array.isArray(value) ? value[0] : typeof value === 'string' ? value : undefined;
  }
  return undefined;
}

/** `X-Tenant-Id`, the tenant a caller who belongs to several acts in; blank means not sent. */
function requestedTenantOf(headers: HeaderSource): string | undefined {
  const value = header(headers, 'x-tenant-id')?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** The credential a request carries; a non-bearer `Authorization` does not hide an `x-api-key`. */
function credentialOf(headers: HeaderSource): string {
  const authorization = header(headers, 'authorization')?.trim();
  const bearer = authorization === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(authorization)?.[1];
  if (bearer !== undefined) return bearer;
  const apiKey = header(headers, 'x-api-key')?.trim();
  if (apiKey !== undefined && apiKey !== '') {
    if (!apiKey.startsWith(API_KEY_PREFIX)) throw authFailure('malformed_api_key');
    return apiKey;
  }
  throw authFailure(authorization ? 'unsupported_scheme' : 'missing_credential');
}

/**
 * Builds the service's authenticator: JWTs from the trusted issuers and `usa_` API keys from the store.
 * Build it once per process (it caches discovery documents and signing keys).
 */
export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const jwt = createJwtVerifier(options);
  const apiKeys = createApiKeyAuthenticator({
    store: options.apiKeys,
    pepper: options.apiKeyPepper,
    now: options.now,
    lastUsedThrottleMs: options.apiKeyLastUsedThrottleMs,
    logger: options.logger,
  });
  return {
    async authenticate(headers) {
      const credential = credentialOf(headers);
      const selection = { requestedTenant: requestedTenantOf(headers) };
      if (!credential.startsWith(API_KEY_PREFIX)) return jwt.verify(credential, selection);
      const principal = await apiKeys.authenticate(credential);
      // A key belongs to one tenant: naming it is harmless, naming another is refused rather than ignored.
      selectTenant([principal.tenantId], selection);
      if (principal.connectionId === undefined || options.connections === undefined) return principal;
      const userJwt = header(headers, USER_JWT_HEADER)?.trim();
      return options.connections.callerFor(principal, userJwt === '' ? undefined : userJwt);
    },
  };
}
