import { describe, expect, it, vi } from 'vitest';
import { AppError } from '../errors';
import { generateApiKey, type ApiKeyRecord, type ApiKeyStore } from './api-keys';
import { createAuthenticator, type HeaderSource } from './authenticator';

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

function setup() {
  const key = generateApiKey();
  const record: ApiKeyRecord = {
    keyId: key.keyId,
    hash: key.hash,
    tenantId: 't1',
    userId: 'u1',
    name: 'ci',
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  const store: ApiKeyStore = {
    findByKeyId: (keyId) => Promise.resolve(keyId === record.keyId ? record : undefined),
    touchLastUsed: () => Promise.resolve(),
  };
  // No reachable issuer: a JWT must reach the verifier and be refused there without any request.
  const fetch = vi.fn(() => Promise.reject(new Error('no network in this test')));
  const authenticator = createAuthenticator({
    issuers: [{ issuer: 'https://issuer.example.com', audience: 'api://usa' }],
    apiKeys: store,
    fetch,
  });
  return { key, authenticator, fetch };
}

describe('authenticate', () => {
  it.each<[string, (plaintext: string) => HeaderSource]>([
    ['Authorization: Bearer (plain map)', (plaintext) => ({ Authorization: `Bearer ${plaintext}` })],
    [
      'authorization: bearer (Headers)',
      (plaintext) => new Headers({ authorization: `bearer  ${plaintext}` }),
    ],
    ['x-api-key (Headers)', (plaintext) => new Headers({ 'x-api-key': plaintext })],
    ['X-Api-Key (plain map, array value)', (plaintext) => ({ 'X-Api-Key': [plaintext] })],
    [
      'x-api-key beside a non-bearer Authorization',
      (plaintext) => ({ authorization: 'Basic dTpw', 'x-api-key': plaintext }),
    ],
  ])('accepts an API key sent as %s', async (_name, headers) => {
    const { key, authenticator } = setup();
    await expect(authenticator.authenticate(headers(key.plaintext))).resolves.toMatchObject({
      userId: 'u1',
      tenantId: 't1',
      via: 'api_key',
      keyId: key.keyId,
    });
  });

  it.each<[string, HeaderSource, string]>([
    ['no credential', {}, 'missing_credential'],
    ['an empty bearer', { authorization: 'Bearer ' }, 'unsupported_scheme'],
    ['Basic credentials', new Headers({ authorization: 'Basic dTpw' }), 'unsupported_scheme'],
    ['an x-api-key without the usa_ prefix', { 'x-api-key': 'sk-123' }, 'malformed_api_key'],
    ['a bearer usa_ credential that is not a key', { authorization: 'Bearer usa_nope' }, 'malformed_api_key'],
  ])('refuses %s with 401 unauthenticated', async (_name, headers, reason) => {
    const { authenticator } = setup();
    const error = await refusal(authenticator.authenticate(headers));
    expect(error.status).toBe(401);
    expect(error.details).toEqual({ reason });
  });

  it('sends any other bearer credential to JWT verification', async () => {
    const { authenticator, fetch } = setup();
    const error = await refusal(authenticator.authenticate({ authorization: 'Bearer eyJhbGciOi.not.a-jwt' }));
    expect(error.details).toEqual({ reason: 'malformed_token' });
    expect(fetch).not.toHaveBeenCalled();
  });

  it('lets an API key name its own tenant in X-Tenant-Id and refuses another with 403', async () => {
    const { key, authenticator } = setup();
    const headers = (tenant: string) => ({ authorization: `Bearer ${key.plaintext}`, 'x-tenant-id': tenant });
    await expect(authenticator.authenticate(headers('t1'))).resolves.toMatchObject({ tenantId: 't1' });
    const error = await refusal(authenticator.authenticate(headers('t2')));
    expect([error.status, error.details]).toEqual([403, { reason: 'tenant_not_member' }]);
  });
});
