/**
 * Authentication for the HTTP edge: build one {@link createAuthenticator} per process from
 * {@link trustedIssuers} and an {@link ApiKeyStore}, then call `authenticate(request.headers)`.
 */
export {
  API_KEY_PREFIX,
  apiKeyRecordSchema,
  createApiKeyAuthenticator,
  generateApiKey,
  issueApiKey,
  parseApiKey,
  toApiKeyView,
  verifyApiKeySecret,
  type ApiKeyAuthenticator,
  type ApiKeyAuthenticatorOptions,
  type ApiKeyHashOptions,
  type ApiKeyRecord,
  type ApiKeyStore,
  type ApiKeyView,
  type GeneratedApiKey,
} from './api-keys';
export {
  createAuthenticator,
  type Authenticator,
  type AuthenticatorOptions,
  type FetchHeaders,
  type HeaderSource,
} from './authenticator';
export { authFailure, wwwAuthenticateFor, type AuthFailureReason, type AuthLogger } from './failures';
export { DEV_ISSUER_AUDIENCE, issuerConfigSchema, trustedIssuers, type IssuerConfig } from './issuer-config';
export {
  ALLOWED_ALGORITHMS,
  MAX_CLOCK_SKEW_SECONDS,
  createJwtVerifier,
  type FetchLike,
  type JwtVerifier,
  type JwtVerifierOptions,
} from './jwt-verifier';
export {
  ALL_TENANTS,
  PLATFORM_ADMIN_ROLE,
  TENANT_ADMIN_ROLE,
  canAdministerTenant,
  isPlatformAdmin,
  type Principal,
} from './principal';
