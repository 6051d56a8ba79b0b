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
import { principalFromClaims, type TenantSelection } from './claims-mapping';
import { authFailure, defaultAuthLogger, type AuthFailureReason, type AuthLogger } from './failures';
import { matchIssuer, type IssuerConfig } from './issuer-config';
import type { Principal } from './principal';

/** The only signature algorithms accepted; symmetric and unsecured tokens can never verify. */
export const ALLOWED_ALGORITHMS: readonly string[] = Object.freeze(['RS256', 'PS256', 'ES256']);

/** The largest clock skew tolerated on `exp`, `nbf` and `iat`, in seconds. */
export const MAX_CLOCK_SKEW_SECONDS = 60;

/** The subset of `fetch` the verifier needs; injectable so tests and proxies can supply their own. */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

/** Options of {@link createJwtVerifier}. */
export interface JwtVerifierOptions {
  /** The trusted user-token issuers; a token from any other issuer is refused unless `workloads` trusts it. */
  issuers: IssuerConfig[];
  /** CI workload trust (GitHub Actions OIDC), consulted for issuers `issuers` does not list. */
  workloads?: WorkloadTrust;
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

/**
 * Issuers trusted for machine identities rather than users: the token is verified like any other (keys of
 * its issuer, algorithm allow-list, expiry, audience), then mapped by the trust rules.
 */
export interface WorkloadTrust {
  /** The audiences accepted from `issuer`; empty when nothing trusts it. */
  audiencesFor(issuer: string): Promise<string[]>;
  /** The principal a verified token from `issuer` acts as, or a refusal with its reason. */
  principalFor(issuer: string, payload: JWTPayload, selection: TenantSelection): Promise<Principal>;
}

/** Verifies bearer JWTs and maps their claims to a {@link Principal}. */
export interface JwtVerifier {
  /**
   * Resolves the caller, or rejects with `AppError('unauthenticated')` (or `forbidden` for a tenant the
   * caller may not pick) carrying a reason code. `selection` is the request's `X-Tenant-Id`.
   */
  verify(token: string, selection?: TenantSelection): Promise<Principal>;
}

const discoverySchema = z.looseObject({
  issuer: z.string().min(1),
  jwks_uri: z.url({ protocol: /^https?$/ }),
});

/** Where one concrete issuer's keys are and which audiences its tokens may carry. */
interface KeySource {
  issuer: string;
  audiences: string[];
  jwksUri: string | undefined;
}

const audiencesOf = (payload: JWTPayload): string[] =>
  payload.aud === undefined ? [] : typeof payload.aud === 'string' ? [payload.aud] : payload.aud;

/** Translates jose's errors into reason codes; anything that is not a jose error means the issuer failed. */
export function reasonFor(error: unknown): AuthFailureReason {
  if (error instanceof errors.JWTExpired) return 'token_expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return 'claim_invalid';
    // `iat` fails here only with a maximum token age, whose "too old" case is a JWTExpired above.
    if (error.claim === 'nbf' || error.claim === 'iat') return 'token_not_yet_valid';
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
 * it; `{tenantid}` templates match allowed tenants only), then the signature, algorithm, `iss`, `aud`, `exp`,
 * `nbf` and `iat` are checked against that issuer's keys, and the claims are mapped by that issuer's rules.
 * JWKS are cached per key location and refreshed on an unknown `kid` (at most once per cooldown); discovery
 * documents are fetched once per issuer and cached (a failed fetch is retried by the next request).
 */
export function createJwtVerifier(options: JwtVerifierOptions): JwtVerifier {
  const now = options.now ?? (() => new Date());
  const httpTimeoutMs = options.httpTimeoutMs ?? 5000;
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const logger = options.logger ?? defaultAuthLogger();
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

  function keySetFor(source: KeySource): Promise<JWTVerifyGetKey> {
    // Entra multi-tenant issuers share one JWKS: keyed by its location, it is fetched once for all of them.
    const cacheKey = source.jwksUri ?? source.issuer;
    let keySet = keySets.get(cacheKey);
    if (keySet === undefined) {
      keySet =
        source.jwksUri === undefined
          ? discoverJwksUri(source.issuer).then(remoteKeySet)
          : Promise.resolve(remoteKeySet(source.jwksUri));
      keySets.set(cacheKey, keySet);
      // Forget a failed discovery so the next request tries again instead of failing until a restart.
      void keySet.catch(() => keySets.delete(cacheKey));
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

  async function verifiedPayload(token: string, source: KeySource): Promise<JWTPayload> {
    let payload: JWTPayload;
    try {
      const keySet = await keySetFor(source);
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: source.issuer,
        audience: source.audiences,
        algorithms: [...ALLOWED_ALGORITHMS],
        requiredClaims: ['exp', 'sub'],
        clockTolerance: MAX_CLOCK_SKEW_SECONDS,
        currentDate: now(),
      }));
    } catch (error: unknown) {
      refuse(error, source.issuer);
    }
    // jose checks `iat` only when a maximum token age is set; a token issued in the future is still wrong.
    if (payload.iat !== undefined && payload.iat > now().getTime() / 1000 + MAX_CLOCK_SKEW_SECONDS) {
      throw authFailure('token_not_yet_valid');
    }
    return payload;
  }

  return {
    async verify(token, selection = {}) {
      let iss: string | undefined;
      try {
        iss = decodeJwt(token).iss;
      } catch {
        throw authFailure('malformed_token');
      }
      if (iss === undefined) throw authFailure('unknown_issuer');

      const { matches, notAllowed } = matchIssuer(options.issuers, iss);
      if (matches.length > 0) {
        const payload = await verifiedPayload(token, {
          issuer: iss,
          audiences: matches.map((match) => match.config.audience),
          jwksUri: matches.find((match) => match.config.jwksUri !== undefined)?.config.jwksUri,
        });
        // One issuer may serve several app registrations, each with its own mapping: the audience picks it.
        const audiences = audiencesOf(payload);
        const matched = matches.find((match) => audiences.includes(match.config.audience)) ?? matches[0];
        if (matched === undefined) throw authFailure('audience_mismatch');
        return principalFromClaims(payload, matched, selection);
      }
      if (notAllowed) throw authFailure('tenant_not_allowed');

      const workloadAudiences = (await options.workloads?.audiencesFor(iss)) ?? [];
      if (workloadAudiences.length === 0 || options.workloads === undefined) {
        throw authFailure('unknown_issuer');
      }
      const payload = await verifiedPayload(token, {
        issuer: iss,
        audiences: workloadAudiences,
        jwksUri: undefined,
      });
      return options.workloads.principalFor(iss, payload, selection);
    },
  };
}
