import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { z } from 'zod';
import { tenantIdSchema } from '../ids';
import { authFailure, defaultAuthLogger, type AuthFailureReason, type AuthLogger } from './failures';
import type { IssuerConfig } from './issuer-config';
import type { Principal } from './principal';

/** The only signature algorithms accepted; symmetric and unsecured tokens can never verify. */
export const ALLOWED_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'PS256', 'ES256']);

/** The largest clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. */
export const MAX_CLOCK_SKEW_SECONDS = 60;

/** The subset of `fetch` the verifier needs; injectable so tests and proxies can supply their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createJwtVerifier}. */
export interface JwtVerifierOptions {
  /** The trusted issuers; a token from any other issuer is refused. */
  issuers: IssuerConfig[];
  /** Used for discovery and JWKS requests; defaults to the global `fetch`. */
  fetch?: FetchLike;
  /** The current time for `exp`/`nbf`/`iat` checks; defaults to the system clock. */
  now?: () => Date;
  /** Deadline of each discovery or JWKS request, in milliseconds (default 5000). */
  httpTimeoutMs?: number;
  /**
   * Minimum time between two JWKS refreshes caused by an unknown `kid`, in milliseconds (default 30000): a
   * stream of forged `kid`s must not turn into a stream of requests to the issuer.
   */
  jwksRefreshCooldownMs?: number;
  /** Defaults to the `auth` structured logger. */
  logger?: AuthLogger;
}

/** Verifies bearer JWTs and maps their claims to a {@link Principal}. */
export interface JwtVerifier {
  /** Resolves the caller, or rejects with `AppError('unauthenticated')` carrying a reason code. */
  verify(token: string): Promise<Principal>;
}

const stringOrStrings = z.union([z.string(), z.array(z.string())]);

// Only the claims the service maps; anything else an issuer adds is ignored.
const claimsSchema = z.object({
  sub: z.string().min(1),
  // A tenant id ends up in partition keys, blob paths and admin URLs: it must fit the one tenant id format.
  tid: tenantIdSchema.optional(),
  tenant_id: tenantIdSchema.optional(),
  roles: stringOrStrings.optional(),
  role: stringOrStrings.optional(),
  tenant_ids: z.array(z.string().min(1)).optional(),
});

const discoverySchema = z.looseObject({
  issuer: z.string().min(1),
  jwks_uri: z.url({ protocol: /^https?$/ }),
});

function asList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return typeof value === 'string' ? [value] : value;
}

/** The principal a verified token's claims describe; refuses tokens that name no tenant. */
function principalFromClaims(payload: JWTPayload): Principal {
  const parsed = claimsSchema.safeParse(payload);
  if (!parsed.success) throw authFailure('claim_invalid');
  const claims = parsed.data;
  const tenantId = claims.tid ?? claims.tenant_id;
  if (tenantId === undefined) throw authFailure('missing_tenant');
  return {
    userId: claims.sub,
    tenantId,
    roles: [...new Set([...asList(claims.roles), ...asList(claims.role)])],
    adminTenantIds: claims.tenant_ids ?? [],
    via: 'jwt',
  };
}

/** An issuer with every audience configured for it (one issuer may serve several app registrations). */
interface TrustedIssuer {
  issuer: string;
  audiences: string[];
  jwksUri: string | undefined;
}

function byIssuer(configs: IssuerConfig[]): Map<string, TrustedIssuer> {
  const issuers = new Map<string, TrustedIssuer>();
  for (const config of configs) {
    const known = issuers.get(config.issuer);
    if (known === undefined) {
      issuers.set(config.issuer, {
        issuer: config.issuer,
        audiences: [config.audience],
        jwksUri: config.jwksUri,
      });
    } else {
      known.audiences.push(config.audience);
      known.jwksUri ??= config.jwksUri;
    }
  }
  return issuers;
}

/** Translates jose's errors into reason codes; anything that is not a jose error means the issuer failed. */
function reasonFor(error: unknown): AuthFailureReason {
  if (error instanceof errors.JWTExpired) return 'token_expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'token_not_yet_valid';
    if (error.claim === 'aud') return 'audience_mismatch';
    return 'claim_invalid';
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return 'algorithm_not_allowed';
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'signature_invalid';
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return 'unknown_signing_key';
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return 'malformed_token';
  return 'issuer_unavailable';
}

/**
 * Builds a verifier for the given issuers. The issuer is chosen by the token's `iss` (read without trusting
 * it), then the signature, algorithm, `iss`, `aud`, `exp`, `nbf` and `iat` are checked against that issuer's
 * keys. JWKS are cached per issuer and refreshed on an unknown `kid` (at most once per cooldown); discovery
 * documents are fetched once per issuer and cached (a failed fetch is retried by the next request).
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const now = options.now ?? (() => new Date());
  const httpTimeoutMs = options.httpTimeoutMs ?? 5000;
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const logger = options.logger ?? defaultAuthLogger();
  const issuers = byIssuer(options.issuers);
  const keySets = new Map<string, Promise<JWTVerifyGetKey>>();

  function remoteKeySet(jwksUri: string): JWTVerifyGetKey {
    return createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: httpTimeoutMs,
      cooldownDuration: options.jwksRefreshCooldownMs ?? 30_000,
      [customFetch]: fetchImpl,
    });
  }

  async function discoverJwksUri(issuer: string): Promise<string> {
    // OpenID Connect Discovery 1.0, section 4: the issuer without a trailing slash, then the well-known path.
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await fetchImpl(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(httpTimeoutMs),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`discovery answered ${response.status}`);
    }
    const document = discoverySchema.safeParse(await response.json());
    if (!document.success) throw new Error('discovery document lacks issuer or jwks_uri');
    // Section 4.3: a document naming another issuer must not be used, or one issuer could vouch for another.
    if (document.data.issuer !== issuer) throw new Error('discovery document names another issuer');
    return document.data.jwks_uri;
  }

  function keySetFor(config: TrustedIssuer): Promise<JWTVerifyGetKey> {
    let keySet = keySets.get(config.issuer);
    if (keySet === undefined) {
      keySet =
        config.jwksUri === undefined
          ? discoverJwksUri(config.issuer).then(remoteKeySet)
          : Promise.resolve(remoteKeySet(config.jwksUri));
      keySets.set(config.issuer, keySet);
      // Forget a failed discovery so the next request tries again instead of failing until a restart.
      void keySet.catch(() => keySets.delete(config.issuer));
    }
    return keySet;
  }

  function refuse(error: unknown, issuer: string): never {
    const reason = reasonFor(error);
    if (reason === 'issuer_unavailable') {
      logger.warn(
        { issuer, error: error instanceof Error ? error.message : String(error) },
        'token issuer keys unavailable',
      );
    }
    throw authFailure(reason);
  }

  return {
    async verify(token) {
      let iss: string | undefined;
      try {
        iss = decodeJwt(token).iss;
      } catch {
        throw authFailure('malformed_token');
      }
      const config = iss === undefined ? undefined : issuers.get(iss);
      if (config === undefined) throw authFailure('unknown_issuer');

      let payload: JWTPayload;
      try {
        const keySet = await keySetFor(config);
        ({ payload } = await jwtVerify(token, keySet, {
          issuer: config.issuer,
          audience: config.audiences,
          algorithms: [...ALLOWED_ALGORITHMS],
          requiredClaims: ['exp', 'sub'],
          clockTolerance: MAX_CLOCK_SKEW_SECONDS,
          currentDate: now(),
        }));
      } catch (error: unknown) {
        refuse(error, config.issuer);
      }
      // jose checks `iat` only when a maximum token age is set; a token issued in the future is still wrong.
      if (payload.iat !== undefined && payload.iat > now().getTime() / 1000 + MAX_CLOCK_SKEW_SECONDS) {
        throw authFailure('token_not_yet_valid');
      }
      return principalFromClaims(payload);
    },
  };
}
