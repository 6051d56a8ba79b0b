import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { apiKeyIdSchema, connectionIdSchema } from '../ids';
import { authFailure, defaultAuthLogger, type AuthLogger } from './failures';
import type { Principal } from './principal';
import { ALL_USER_SCOPES, scopeListSchema, type ApiScope } from './scopes';

/** Every API key starts with this, which is how a bearer credential is told apart from a JWT. */
export const API_KEY_PREFIX = 'usa_';

// 32 random bytes in base64url: 256 bits, which makes a plain (fast) hash safe against guessing.
const secretPattern = /^[A-Za-z0-9_-]{43}$/;

/** Options shared by hashing and verification. */
export interface ApiKeyHashOptions {
  /**
   * `API_KEY_PEPPER`: when set, new keys are stored as HMAC-SHA-256 under it, so a leaked key table cannot
   * even be checked against a guessed key without the pepper. Keys hashed without it keep working.
   */
  pepper?: string | undefined;
}

/** A freshly generated key: show `plaintext` to its owner once, store only `keyId` and `hash`. */
export interface GeneratedApiKey {
  /** `usa_<keyId>_<secret>`. Never stored or logged. */
  plaintext: string;
  keyId: string;
  /** `sha256:<base64url>` or `hmac-sha256:<base64url>` of the secret; the scheme prefix tells which. */
  hash: string;
}

/** A stored API key, as the repository returns it (timestamps are ISO 8601). */
export const apiKeyRecordSchema = z.object({
  keyId: apiKeyIdSchema,
  tenantId: z.string().min(1),
  userId: z.string().min(1),
  name: z.string().min(1),
  hash: z.string().min(1),
  createdAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  revokedAt: z.iso.datetime({ offset: true }).optional(),
  lastUsedAt: z.iso.datetime({ offset: true }).optional(),
  /** What the key may do; keys created before scopes existed may do everything a user may. */
  scopes: scopeListSchema.optional(),
  /** Set on an OpenWebUI connection's key: calls with it come through that connection. */
  connectionId: connectionIdSchema.optional(),
});

export type ApiKeyRecord = z.infer<typeof apiKeyRecordSchema>;

/** Where API keys live; the service implements it on Cosmos DB. */
export interface ApiKeyStore {
  /** The key with this id, revoked and expired ones included, or `undefined`. */
  findByKeyId(keyId: string): Promise<ApiKeyRecord | undefined>;
  /** Records that the key was used at `at` (ISO 8601). */
  touchLastUsed(keyId: string, tenantId: string, at: string): Promise<void>;
}

function digest(scheme: 'sha256' | 'hmac-sha256', secret: string, pepper: string | undefined): Buffer {
  if (scheme === 'sha256') return createHash('sha256').update(secret, 'utf8').digest();
  return createHmac('sha256', pepper ?? '')
    .update(secret, 'utf8')
    .digest();
}

/** Creates a key with a 96-bit id and a 256-bit secret, and the hash to store. */
export function generateApiKey(options: ApiKeyHashOptions = {}): GeneratedApiKey {
  const keyId = randomBytes(12).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const scheme = options.pepper === undefined ? 'sha256' : 'hmac-sha256';
  return {
    plaintext: `${API_KEY_PREFIX}${keyId}_${secret}`,
    keyId,
    hash: `${scheme}:${digest(scheme, secret, options.pepper).toString('base64url')}`,
  };
}

/** A new key for its owner: the record to store and the plaintext to show exactly once. */
export function issueApiKey(
  owner: { tenantId: string; userId: string },
  input: {
    name: string;
    expiresAt?: string | undefined;
    scopes?: readonly ApiScope[] | undefined;
    connectionId?: string | undefined;
  },
  options: ApiKeyHashOptions & { now?: Date } = {},
): { plaintext: string; record: ApiKeyRecord } {
  const { plaintext, keyId, hash } = generateApiKey(options);
  const record: ApiKeyRecord = {
    keyId,
    tenantId: owner.tenantId,
    userId: owner.userId,
    name: input.name,
    hash,
    createdAt: (options.now ?? new Date()).toISOString(),
    scopes: [...(input.scopes ?? ALL_USER_SCOPES)],
  };
  if (input.connectionId !== undefined) record.connectionId = input.connectionId;
  if (input.expiresAt !== undefined) record.expiresAt = input.expiresAt;
  return { plaintext, record };
}

/** A key as its owner may see it when listing keys: everything but the hash. */
export type ApiKeyView = Omit<ApiKeyRecord, 'hash'>;

/** Strips the hash, which never leaves the service. */
export function toApiKeyView(record: ApiKeyRecord): ApiKeyView {
  const { hash: _hash, ...view } = record;
  return view;
}

/** Splits `usa_<keyId>_<secret>`; `undefined` when the text is not a well-formed key. */
export function parseApiKey(plaintext: string): { keyId: string; secret: string } | undefined {
  if (!plaintext.startsWith(API_KEY_PREFIX)) return undefined;
  const rest = plaintext.slice(API_KEY_PREFIX.length);
  const separator = rest.indexOf('_');
  if (separator < 0) return undefined;
  const keyId = rest.slice(0, separator);
  const secret = rest.slice(separator + 1);
  return apiKeyIdSchema.safeParse(keyId).success && secretPattern.test(secret)
    ? { keyId, secret }
    : undefined;
}

/** True when `secret` matches `storedHash`, compared in constant time. */
export function verifyApiKeySecret(
  secret: string,
  storedHash: string,
  options: ApiKeyHashOptions = {},
): boolean {
  const separator = storedHash.indexOf(':');
  const scheme = storedHash.slice(0, separator);
  if (scheme !== 'sha256' && scheme !== 'hmac-sha256') return false;
  // A peppered hash cannot be checked without the pepper; treating it as a mismatch fails closed.
  if (scheme === 'hmac-sha256' && options.pepper === undefined) return false;
  const expected = Buffer.from(storedHash.slice(separator + 1), 'base64url');
  const actual = digest(scheme, secret, options.pepper);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/** Options of {@link createApiKeyAuthenticator}. */
export interface ApiKeyAuthenticatorOptions extends ApiKeyHashOptions {
  store: ApiKeyStore;
  /** The current time for expiry and last-used; defaults to the system clock. */
  now?: () => Date;
  /** Minimum interval between two last-used writes for one key, in milliseconds (default 5 minutes). */
  lastUsedThrottleMs?: number;
  /** Receives failed last-used writes, which never fail the request; defaults to the `auth` logger. */
  logger?: AuthLogger;
}

/** Resolves `usa_` API keys to principals. */
export interface ApiKeyAuthenticator {
  /** Resolves the key's owner, or rejects with `AppError('unauthenticated')` carrying a reason code. */
  authenticate(plaintext: string): Promise<Principal>;
}

// Bounds the per-instance memory of last-used writes; entries older than the throttle window are dropped.
const maxRememberedTouches = 10_000;

/**
 * Builds an authenticator over a key store: unknown keys, wrong secrets, revoked and expired keys are refused
 * (401); a valid key's last-used time is written in the background at most once per throttle window per
 * instance (also when the store has not caught up yet), and a failed write is only logged.
 */
export function createApiKeyAuthenticator(options: ApiKeyAuthenticatorOptions): ApiKeyAuthenticator {
  const now = options.now ?? (() => new Date());
  const throttleMs = options.lastUsedThrottleMs ?? 5 * 60_000;
  const logger = options.logger ?? defaultAuthLogger();
  const touchedAt = new Map<string, number>();

  function touchIfDue(record: ApiKeyRecord, at: Date): void {
    const atMs = at.getTime();
    const stored = record.lastUsedAt === undefined ? Number.NaN : Date.parse(record.lastUsedAt);
    const last = Math.max(
      Number.isFinite(stored) ? stored : -Infinity,
      touchedAt.get(record.keyId) ?? -Infinity,
    );
    if (atMs - last < throttleMs) return;
    if (touchedAt.size >= maxRememberedTouches) {
      for (const [keyId, touched] of touchedAt) if (atMs - touched >= throttleMs) touchedAt.delete(keyId);
    }
    touchedAt.set(record.keyId, atMs);
    void Promise.resolve()
      .then(() => options.store.touchLastUsed(record.keyId, record.tenantId, at.toISOString()))
      .catch((error: unknown) => {
        logger.warn(
          { keyId: record.keyId, error: error instanceof Error ? error.message : String(error) },
          'could not record API key last use',
        );
      });
  }

  return {
    async authenticate(plaintext) {
      const parsed = parseApiKey(plaintext);
      if (parsed === undefined) throw authFailure('malformed_api_key');
      const record = await options.store.findByKeyId(parsed.keyId);
      // A wrong secret looks exactly like an unknown key; revocation and expiry are only told to the holder.
      if (
        record === undefined ||
        record.keyId !== parsed.keyId ||
        !verifyApiKeySecret(parsed.secret, record.hash, options)
      ) {
        throw authFailure('unknown_api_key');
      }
      const at = now();
      if (record.revokedAt !== undefined) throw authFailure('api_key_revoked', { keyId: record.keyId });
      if (record.expiresAt !== undefined && Date.parse(record.expiresAt) <= at.getTime()) {
        throw authFailure('api_key_expired', { keyId: record.keyId });
      }
      touchIfDue(record, at);
      return {
        userId: record.userId,
        tenantId: record.tenantId,
        roles: [],
        adminTenantIds: [],
        via: record.connectionId === undefined ? 'api_key' : 'openwebui',
        scopes: record.scopes ?? ALL_USER_SCOPES,
        keyId: record.keyId,
        ...(record.connectionId === undefined ? {} : { connectionId: record.connectionId }),
      };
    },
  };
}
