import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppError } from '../errors';
import type { IssuerConfig } from './issuer-config';
import { createJwtVerifier, type JwtVerifierOptions } from './jwt-verifier';

const audience = 'api://user-story-agent';

interface SigningKey {
  alg: 'RS256' | 'PS256' | 'ES256' | 'RS512';
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: SigningKey['alg'], kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

/** A JWKS and discovery server on 127.0.0.1 that counts the requests it answers. */
class TestIssuer {
  jwksRequests = 0;
  discoveryRequests = 0;
  published: JWK[] = [];
  /** What the discovery document claims as issuer, when it should lie. */
  discoveryIssuer: string | undefined;
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((request, response) => {
      const json = (body: unknown) => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(body));
      };
      if (request.url === '/.well-known/openid-configuration') {
        this.discoveryRequests += 1;
        json({ issuer: this.discoveryIssuer ?? this.url, jwks_uri: `${this.url}/keys` });
      } else if (request.url === '/keys') {
        this.jwksRequests += 1;
        json({ keys: this.published });
      } else {
        response.writeHead(404).end();
      }
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  config(withJwksUri = true): IssuerConfig {
    return withJwksUri
      ? { issuer: this.url, audience, jwksUri: `${this.url}/keys` }
      : { issuer: this.url, audience };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** A token from `issuer` signed by `key`; `claims` entries set to `undefined` are left out. */
function token(issuer: TestIssuer, key: SigningKey, claims: JWTPayload = {}, kid = key.kid): Promise<string> {
  return new SignJWT({
    iss: issuer.url,
    aud: audience,
    sub: 'user-1',
    tid: 'tenant-1',
    iat: nowSeconds(),
    exp: nowSeconds() + 300,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid, typ: 'JWT' })
    .sign(key.privateKey);
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function refusal(promise: Promise<unknown>): Promise<AppError> {
  const error: unknown = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof AppError)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

let issuer: TestIssuer;
let rsa: SigningKey;
let pss: SigningKey;
let ec: SigningKey;
let stranger: SigningKey;
let rs512: SigningKey;

beforeAll(async () => {
  issuer = new TestIssuer();
  await issuer.start();
  [rsa, pss, ec, stranger, rs512] = await Promise.all([
    signingKey('RS256', 'rsa-1'),
    signingKey('PS256', 'pss-1'),
    signingKey('ES256', 'ec-1'),
    signingKey('RS256', 'rsa-1'),
    signingKey('RS512', 'rsa-any'),
  ]);
});

afterAll(async () => {
  await issuer.close();
});

afterEach(() => {
  vi.useRealTimers();
});

function freshVerifier(overrides: Partial<JwtVerifierOptions> = {}) {
  // The last key names no algorithm, as some issuers publish them, so only the allow-list stops RS512.
  issuer.published = [rsa.jwk, pss.jwk, ec.jwk, { ...rs512.jwk, alg: undefined }];
  issuer.jwksRequests = 0;
  issuer.discoveryRequests = 0;
  issuer.discoveryIssuer = undefined;
  return createJwtVerifier({ issuers: [issuer.config()], logger: { warn: vi.fn() }, ...overrides });
}

describe('JWT verification', () => {
  it.each(['RS256', 'PS256', 'ES256'])('accepts a valid %s token and maps its claims', async (alg) => {
    const key = [rsa, pss, ec].find((candidate) => candidate.alg === alg) ?? rsa;
    const verifier = freshVerifier();
    const jwt = await token(issuer, key, { roles: ['tenant_admin'], tenant_ids: ['t2', 't3'] });
    await expect(verifier.verify(jwt)).resolves.toEqual({
      userId: 'user-1',
      tenantId: 'tenant-1',
      roles: ['tenant_admin'],
      adminTenantIds: ['t2', 't3'],
      via: 'jwt',
      scopes: ['jobs:write', 'jobs:read', 'usage:read', 'uploads:write'],
    });
  });

  it('takes the tenant from tenant_id when tid is absent, and prefers tid when both are present', async () => {
    const verifier = freshVerifier();
    const fromTenantId = await token(issuer, rsa, { tid: undefined, tenant_id: 'tenant-x' });
    await expect(verifier.verify(fromTenantId)).resolves.toMatchObject({ tenantId: 'tenant-x' });
    const both = await token(issuer, rsa, { tid: 'tenant-a', tenant_id: 'tenant-b' });
    await expect(verifier.verify(both)).resolves.toMatchObject({ tenantId: 'tenant-a' });
  });

  it('takes roles from a single role claim, and defaults roles and tenant_ids to empty', async () => {
    const verifier = freshVerifier();
    const single = await token(issuer, rsa, { role: 'platform_admin' });
    await expect(verifier.verify(single)).resolves.toMatchObject({ roles: ['platform_admin'] });
    const none = await token(issuer, rsa);
    await expect(verifier.verify(none)).resolves.toMatchObject({ roles: [], adminTenantIds: [] });
  });

  it('accepts exp and nbf within the 60 s clock skew', async () => {
    const verifier = freshVerifier();
    const skewed = await token(issuer, rsa, {
      exp: nowSeconds() - 30,
      nbf: nowSeconds() + 30,
      iat: nowSeconds() + 30,
    });
    await expect(verifier.verify(skewed)).resolves.toMatchObject({ userId: 'user-1' });
  });

  const unsigned = (claims: JWTPayload) =>
    `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ iss: issuer.url, aud: audience, sub: 'u', tid: 't', exp: nowSeconds() + 300, ...claims })}.`;

  it.each<[string, string, () => Promise<string>]>([
    ['an expired token', 'token_expired', () => token(issuer, rsa, { exp: nowSeconds() - 120 })],
    [
      'a token whose nbf is beyond the skew',
      'token_not_yet_valid',
      () => token(issuer, rsa, { nbf: nowSeconds() + 120 }),
    ],
    [
      'a token issued beyond the skew in the future',
      'token_not_yet_valid',
      () => token(issuer, rsa, { iat: nowSeconds() + 120 }),
    ],
    ['a token without exp', 'claim_invalid', () => token(issuer, rsa, { exp: undefined })],
    [
      'a token for another audience',
      'audience_mismatch',
      () => token(issuer, rsa, { aud: 'api://someone-else' }),
    ],
    [
      'a token from an unconfigured issuer',
      'unknown_issuer',
      () => token(issuer, rsa, { iss: 'https://evil.example.com' }),
    ],
    ['a token without iss', 'unknown_issuer', () => token(issuer, rsa, { iss: undefined })],
    ['an unsigned (alg: none) token', 'algorithm_not_allowed', () => Promise.resolve(unsigned({}))],
    [
      'an HS256 token signed with the public key (key confusion)',
      'algorithm_not_allowed',
      async () =>
        new SignJWT({ iss: issuer.url, aud: audience, sub: 'u', tid: 't', exp: nowSeconds() + 300 })
          .setProtectedHeader({ alg: 'HS256', kid: rsa.kid })
          .sign(new TextEncoder().encode(await exportSPKI(rsa.publicKey))),
    ],
    ['an RS512 token, outside the allow-list', 'algorithm_not_allowed', () => token(issuer, rs512)],
    ['a token signed by another key with a known kid', 'signature_invalid', () => token(issuer, stranger)],
    ['a token without a tenant claim', 'missing_tenant', () => token(issuer, rsa, { tid: undefined })],
    ['a token whose roles are not strings', 'claim_invalid', () => token(issuer, rsa, { roles: [1, 2] })],
    ['garbage', 'malformed_token', () => Promise.resolve('not-a-jwt')],
    ['three garbage segments', 'malformed_token', () => Promise.resolve('abc.def.ghi')],
  ])('refuses %s with 401 unauthenticated', async (_name, reason, make) => {
    const verifier = freshVerifier();
    const jwt = await make();
    const error = await refusal(verifier.verify(jwt));
    expect(error.code).toBe('unauthenticated');
    expect(error.status).toBe(401);
    expect(error.details).toMatchObject({ reason });
    expect(error.message).not.toContain(jwt);
  });

  it('refreshes the JWKS exactly once for an unknown kid, then refuses; a second one inside the cooldown fetches nothing', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T12:00:00Z'));
    const verifier = freshVerifier();
    await verifier.verify(await token(issuer, rsa));
    expect(issuer.jwksRequests).toBe(1);

    vi.setSystemTime(new Date('2026-06-01T12:00:31Z'));
    const unknownKid = await token(issuer, rsa, {}, 'no-such-kid');
    expect((await refusal(verifier.verify(unknownKid))).details).toEqual({ reason: 'unknown_signing_key' });
    expect(issuer.jwksRequests).toBe(2);

    expect((await refusal(verifier.verify(unknownKid))).details).toEqual({ reason: 'unknown_signing_key' });
    expect(issuer.jwksRequests).toBe(2);
  });

  it('accepts a rotated-in key once the JWKS is refreshed', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-06-01T12:00:00Z'));
    const verifier = freshVerifier();
    await verifier.verify(await token(issuer, rsa));
    const rotated = await signingKey('RS256', 'rsa-2');
    issuer.published = [rsa.jwk, rotated.jwk];

    vi.setSystemTime(new Date('2026-06-01T12:00:31Z'));
    await expect(verifier.verify(await token(issuer, rotated))).resolves.toMatchObject({ userId: 'user-1' });
    expect(issuer.jwksRequests).toBe(2);
  });

  it('discovers the JWKS when jwksUri is absent, once, and caches both', async () => {
    const verifier = freshVerifier({ issuers: [issuer.config(false)] });
    for (const key of [rsa, pss, ec]) {
      await expect(verifier.verify(await token(issuer, key))).resolves.toMatchObject({
        tenantId: 'tenant-1',
      });
    }
    expect(issuer.discoveryRequests).toBe(1);
    expect(issuer.jwksRequests).toBe(1);
  });

  it('skips discovery when jwksUri is configured', async () => {
    const verifier = freshVerifier();
    await verifier.verify(await token(issuer, rsa));
    expect(issuer.discoveryRequests).toBe(0);
  });

  it('refuses keys from a discovery document that names another issuer, and retries discovery next time', async () => {
    const logger = { warn: vi.fn() };
    const verifier = freshVerifier({ issuers: [issuer.config(false)], logger });
    issuer.discoveryIssuer = 'https://someone-else.example.com';
    const jwt = await token(issuer, rsa);
    expect((await refusal(verifier.verify(jwt))).details).toEqual({ reason: 'issuer_unavailable' });
    expect(issuer.jwksRequests).toBe(0);
    expect(logger.warn).toHaveBeenCalledOnce();

    issuer.discoveryIssuer = undefined;
    await expect(verifier.verify(jwt)).resolves.toMatchObject({ userId: 'user-1' });
    expect(issuer.discoveryRequests).toBe(2);
  });

  it('refuses with 401 and logs when the issuer cannot be reached, and uses the injected fetch', async () => {
    const fetch = vi.fn(() => Promise.reject(new TypeError('fetch failed')));
    const logger = { warn: vi.fn() };
    const verifier = freshVerifier({ fetch, logger });
    const jwt = await token(issuer, rsa);
    const error = await refusal(verifier.verify(jwt));
    expect(error.details).toEqual({ reason: 'issuer_unavailable' });
    expect(fetch).toHaveBeenCalledOnce();
    expect(logger.warn).toHaveBeenCalledWith(
      expect.objectContaining({ issuer: issuer.url }),
      expect.any(String),
    );
    expect(JSON.stringify(logger.warn.mock.calls)).not.toContain(jwt);
  });

  it('accepts every audience configured for one issuer', async () => {
    const verifier = freshVerifier({
      issuers: [issuer.config(), { ...issuer.config(), audience: 'api://second-app' }],
    });
    await expect(verifier.verify(await token(issuer, rsa))).resolves.toMatchObject({ userId: 'user-1' });
    const second = await token(issuer, rsa, { aud: 'api://second-app' });
    await expect(verifier.verify(second)).resolves.toMatchObject({ userId: 'user-1' });
  });

  it('maps claims by the rules of the audience the token is for, when one issuer serves several apps', async () => {
    const verifier = freshVerifier({
      issuers: [
        issuer.config(),
        { ...issuer.config(), audience: 'api://grouped', tenantFromGroups: { prefix: 'tenant-' } },
      ],
    });
    const grouped = await token(issuer, rsa, { aud: 'api://grouped', tid: undefined, groups: ['tenant-g1'] });
    await expect(verifier.verify(grouped)).resolves.toMatchObject({ tenantId: 'g1' });
    await expect(verifier.verify(await token(issuer, rsa))).resolves.toMatchObject({ tenantId: 'tenant-1' });
  });

  it('discovers the keys of a {tenantid} issuer at the concrete issuer, for allowed tenants only', async () => {
    const template = { issuer: `${issuer.url}/{tenantid}`, audience, allowedTenants: ['t7'] };
    const fetch = vi.fn((url: string) =>
      Promise.resolve(
        url.endsWith('/openid-configuration')
          ? Response.json({ issuer: `${issuer.url}/t7`, jwks_uri: `${issuer.url}/keys` })
          : Response.json({ keys: issuer.published }),
      ),
    );
    const verifier = freshVerifier({ issuers: [template], fetch });
    const allowed = await token(issuer, rsa, { iss: `${issuer.url}/t7`, tid: 't7' });
    await expect(verifier.verify(allowed)).resolves.toMatchObject({ tenantId: 't7' });
    expect(fetch.mock.calls.map(([url]) => url)).toEqual([
      `${issuer.url}/t7/.well-known/openid-configuration`,
      `${issuer.url}/keys`,
    ]);
    const other = await token(issuer, rsa, { iss: `${issuer.url}/t8`, tid: 't8' });
    expect((await refusal(verifier.verify(other))).details).toEqual({ reason: 'tenant_not_allowed' });
    expect(fetch).toHaveBeenCalledTimes(2);
  });
});
