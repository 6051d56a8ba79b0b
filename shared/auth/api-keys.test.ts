import { describe, expect, it, vi } from 'vitest';
import { AppError } from '../errors';
import {
  createApiKeyAuthenticator,
  apiKeyRecordSchema,
  generateApiKey,
  issueApiKey,
  parseApiKey,
  toApiKeyView,
  verifyApiKeySecret,
  type ApiKeyRecord,
  type ApiKeyStore,
} from './api-keys';

const pepper = 'a-pepper-of-at-least-thirty-two-characters';
const createdAt = '2026-01-01T00:00:00.000Z';

/** The port in memory; `touches` records every last-used write, and writes do not update the records. */
class MemoryApiKeyStore implements ApiKeyStore {
  readonly records = new Map<string, ApiKeyRecord>();
  readonly touches: { keyId: string; tenantId: string; at: string }[] = [];
  failTouches = false;

  add(record: Partial<ApiKeyRecord> & Pick<ApiKeyRecord, 'keyId' | 'hash'>): void {
    this.records.set(record.keyId, { tenantId: 't1', userId: 'u1', name: 'ci', createdAt, ...record });
  }

  findByKeyId(keyId: string): Promise<ApiKeyRecord | undefined> {
    return Promise.resolve(this.records.get(keyId));
  }

  touchLastUsed(keyId: string, tenantId: string, at: string): Promise<void> {
    if (this.failTouches) return Promise.reject(new Error('store down'));
    this.touches.push({ keyId, tenantId, at });
    return Promise.resolve();
  }
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

function setup(options: { now?: Date; pepper?: string } = {}) {
  const store = new MemoryApiKeyStore();
  const clock = { now: options.now ?? new Date('2026-06-01T12:00:00.000Z') };
  const logger = { warn: vi.fn() };
  const authenticator = createApiKeyAuthenticator({
    store,
    pepper: options.pepper,
    now: () => clock.now,
    lastUsedThrottleMs: 60_000,
    logger,
  });
  return { store, clock, logger, authenticator };
}

/** Lets fire-and-forget work (last-used writes) settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('API key format', () => {
  it('generates usa_<keyId>_<secret> with a 256-bit base64url secret that parses back', () => {
    const key = generateApiKey();
    expect(key.plaintext).toMatch(/^usa_[0-9a-f]{24}_[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiKey(key.plaintext);
    expect(parsed?.keyId).toBe(key.keyId);
    expect(Buffer.from(parsed?.secret ?? '', 'base64url')).toHaveLength(32);
    expect(generateApiKey().plaintext).not.toBe(key.plaintext);
  });

  it('stores only a hash that contains neither the key nor its secret', () => {
    for (const options of [{}, { pepper }]) {
      const key = generateApiKey(options);
      const secret = parseApiKey(key.plaintext)?.secret ?? 'missing';
      expect(key.hash).toMatch(/^(sha256|hmac-sha256):[A-Za-z0-9_-]{43}$/);
      expect(key.hash).not.toContain(secret);
      expect(key.hash).not.toContain(key.plaintext);
    }
  });

  it('refuses text that is not a well-formed key', () => {
    const { keyId } = generateApiKey();
    for (const text of ['', 'usa_', `usa_${keyId}`, `usa_${keyId}_short`, `xyz_${keyId}_${'a'.repeat(43)}`]) {
      expect(parseApiKey(text)).toBeUndefined();
    }
  });

  it('verifies the right secret and refuses a wrong one, with or without a pepper', () => {
    const plain = generateApiKey();
    const peppered = generateApiKey({ pepper });
    const plainSecret = parseApiKey(plain.plaintext)?.secret ?? '';
    const pepperedSecret = parseApiKey(peppered.plaintext)?.secret ?? '';
    expect(verifyApiKeySecret(plainSecret, plain.hash)).toBe(true);
    expect(verifyApiKeySecret(pepperedSecret, peppered.hash, { pepper })).toBe(true);
    expect(verifyApiKeySecret(pepperedSecret, plain.hash)).toBe(false);
    expect(verifyApiKeySecret(pepperedSecret, peppered.hash, { pepper: `${pepper}-rotated` })).toBe(false);
    expect(verifyApiKeySecret(plainSecret, 'md5:abc')).toBe(false);
  });

  it('keeps keys hashed before a pepper was configured working, and refuses peppered ones without it', () => {
    const before = generateApiKey();
    const peppered = generateApiKey({ pepper });
    expect(verifyApiKeySecret(parseApiKey(before.plaintext)?.secret ?? '', before.hash, { pepper })).toBe(
      true,
    );
    expect(verifyApiKeySecret(parseApiKey(peppered.plaintext)?.secret ?? '', peppered.hash)).toBe(false);
  });
});

describe('issuing API keys', () => {
  it('builds a valid record for the owner that authenticates, and a view without the hash', async () => {
    const now = new Date('2026-06-01T10:00:00.000Z');
    const { plaintext, record } = issueApiKey(
      { tenantId: 't1', userId: 'u1' },
      { name: 'ci', expiresAt: '2026-07-01T00:00:00.000Z' },
      { pepper, now },
    );
    expect(apiKeyRecordSchema.parse(record)).toEqual(record);
    expect(record).toMatchObject({ tenantId: 't1', userId: 'u1', name: 'ci', createdAt: now.toISOString() });
    expect(JSON.stringify(record)).not.toContain(plaintext.slice(-43));
    expect(toApiKeyView(record)).not.toHaveProperty('hash');
    expect(toApiKeyView(record)).toMatchObject({
      keyId: record.keyId,
      expiresAt: '2026-07-01T00:00:00.000Z',
    });

    const { store, authenticator } = setup({ pepper });
    store.add(record);
    await expect(authenticator.authenticate(plaintext)).resolves.toMatchObject({ keyId: record.keyId });
  });
});

describe('API key authenticator', () => {
  it('resolves a valid key to its owner with no roles; a key stored before scopes existed holds every user scope', async () => {
    const { store, authenticator } = setup({ pepper });
    const key = generateApiKey({ pepper });
    store.add({ keyId: key.keyId, hash: key.hash, tenantId: 't9', userId: 'u9' });
    await expect(authenticator.authenticate(key.plaintext)).resolves.toEqual({
      userId: 'u9',
      tenantId: 't9',
      roles: [],
      adminTenantIds: [],
      via: 'api_key',
      scopes: ['jobs:write', 'jobs:read', 'usage:read', 'uploads:write'],
      keyId: key.keyId,
    });
  });

  it('carries the scopes the key was issued with', async () => {
    const { store, authenticator } = setup({ pepper });
    const { plaintext, record } = issueApiKey(
      { tenantId: 't9', userId: 'u9' },
      { name: 'reader', scopes: ['jobs:read'] },
      { pepper },
    );
    store.add(record);
    await expect(authenticator.authenticate(plaintext)).resolves.toMatchObject({ scopes: ['jobs:read'] });
  });

  it.each([
    ['an unknown key id', 'unknown_api_key', (_store: MemoryApiKeyStore) => generateApiKey().plaintext],
    [
      'a wrong secret',
      'unknown_api_key',
      (store: MemoryApiKeyStore) => {
        const key = generateApiKey();
        store.add({ keyId: key.keyId, hash: generateApiKey().hash });
        return key.plaintext;
      },
    ],
    [
      'a revoked key',
      'api_key_revoked',
      (store: MemoryApiKeyStore) => {
        const key = generateApiKey();
        store.add({ keyId: key.keyId, hash: key.hash, revokedAt: '2026-05-01T00:00:00.000Z' });
        return key.plaintext;
      },
    ],
    [
      'an expired key',
      'api_key_expired',
      (store: MemoryApiKeyStore) => {
        const key = generateApiKey();
        store.add({ keyId: key.keyId, hash: key.hash, expiresAt: '2026-06-01T11:59:59.000Z' });
        return key.plaintext;
      },
    ],
    ['a malformed key', 'malformed_api_key', (_store: MemoryApiKeyStore) => 'usa_not-a-key'],
  ])('refuses %s with 401 and never echoes the key', async (_name, reason, arrange) => {
    const { store, authenticator } = setup();
    const plaintext = arrange(store);
    const error = await refusal(authenticator.authenticate(plaintext));
    expect(error.code).toBe('unauthenticated');
    expect(error.status).toBe(401);
    expect(error.details?.reason).toBe(reason);
    const secret = parseApiKey(plaintext)?.secret ?? plaintext;
    expect(`${error.message} ${JSON.stringify(error.details)} ${String(error.cause)}`).not.toContain(secret);
    expect(store.touches).toEqual([]);
  });

  it('accepts a key until its expiry', async () => {
    const { store, authenticator } = setup();
    const key = generateApiKey();
    store.add({ keyId: key.keyId, hash: key.hash, expiresAt: '2026-06-01T12:00:01.000Z' });
    await expect(authenticator.authenticate(key.plaintext)).resolves.toMatchObject({ keyId: key.keyId });
  });

  it('writes last-used once for two uses inside the throttle window, again after it', async () => {
    const { store, clock, authenticator } = setup();
    const key = generateApiKey();
    store.add({ keyId: key.keyId, hash: key.hash, tenantId: 't1' });
    await authenticator.authenticate(key.plaintext);
    clock.now = new Date(clock.now.getTime() + 30_000);
    await authenticator.authenticate(key.plaintext);
    await settle();
    expect(store.touches).toEqual([{ keyId: key.keyId, tenantId: 't1', at: '2026-06-01T12:00:00.000Z' }]);

    clock.now = new Date(clock.now.getTime() + 30_000);
    await authenticator.authenticate(key.plaintext);
    await settle();
    expect(store.touches.map((touch) => touch.at)).toEqual([
      '2026-06-01T12:00:00.000Z',
      '2026-06-01T12:01:00.000Z',
    ]);
  });

  it('does not write last-used when the stored value is inside the window (another instance wrote it)', async () => {
    const { store, authenticator } = setup();
    const key = generateApiKey();
    store.add({ keyId: key.keyId, hash: key.hash, lastUsedAt: '2026-06-01T11:59:30.000Z' });
    await authenticator.authenticate(key.plaintext);
    await settle();
    expect(store.touches).toEqual([]);
  });

  it('logs a failed last-used write without failing the request', async () => {
    const { store, logger, authenticator } = setup();
    const key = generateApiKey();
    store.add({ keyId: key.keyId, hash: key.hash });
    store.failTouches = true;
    await expect(authenticator.authenticate(key.plaintext)).resolves.toMatchObject({ via: 'api_key' });
    await settle();
    expect(logger.warn).toHaveBeenCalledOnce();
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain(key.plaintext);
  });
});
