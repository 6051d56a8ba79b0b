import { AppError } from '../errors';
import { createLogger } from '../logger';

/**
 * Why a credential was refused: a machine-readable code for logs and problem+json `details`. It never
 * contains any part of the credential itself.
 */
export type AuthFailureReason =
  | 'missing_credential'
  | 'unsupported_scheme'
  | 'malformed_token'
  | 'unknown_issuer'
  | 'issuer_unavailable'
  | 'algorithm_not_allowed'
  | 'unknown_signing_key'
  | 'signature_invalid'
  | 'token_expired'
  | 'token_not_yet_valid'
  | 'audience_mismatch'
  | 'claim_invalid'
  | 'missing_tenant'
  | 'tenant_id_invalid'
  | 'no_tenant_group'
  | 'issuer_tenant_mismatch'
  | 'tenant_not_allowed'
  | 'token_lifetime_too_long'
  | 'no_matching_trust_policy'
  | 'malformed_api_key'
  | 'unknown_api_key'
  | 'api_key_revoked'
  | 'api_key_expired';

/** One generic message for every refusal, so a response never helps an attacker tell failures apart. */
const message = 'The credential is missing, invalid or expired.';

/** The `unauthenticated` (401) error for a refused credential. */
export function authFailure(reason: AuthFailureReason, extra: Record<string, unknown> = {}): AppError {
  return new AppError('unauthenticated', message, { details: { reason, ...extra } });
}

/** Receives operational warnings (an unreachable issuer, a failed last-used write); a pino logger fits. */
export interface AuthLogger {
  warn(details: Record<string, unknown>, message: string): void;
}

let defaultLogger: AuthLogger | undefined;

/** The structured logger auth uses when none is injected, created on first use. */
export function defaultAuthLogger(): AuthLogger {
  defaultLogger ??= createLogger('auth');
  return defaultLogger;
}

/**
 * The `WWW-Authenticate` value for a 401 (RFC 6750, section 3): a bare challenge when no credential was sent,
 * `error="invalid_token"` when one was refused, so clients know whether to ask for a token or a new one.
 */
export function wwwAuthenticateFor(error: AppError): string {
  const reason = error.details?.reason;
  return reason === undefined || reason === 'missing_credential' ? 'Bearer' : 'Bearer error="invalid_token"';
}
