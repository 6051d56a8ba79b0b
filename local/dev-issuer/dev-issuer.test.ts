import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, trustedIssuers, type ApiKeyStore } from '../../shared/auth';
import { AppError } from '../../shared/errors';
import { mintDevToken, startDevIssuer, type DevIssuer } from './dev-issuer';
import { devTokenCommand, UsageError } from './dev-token-command';

const noApiKeys: ApiKeyStore = {
  findByKeyId: () => Promise.resolve(undefined),
  touchLastUsed: () => Promise.resolve(),
};

/** The service's authenticator as configured by `AUTH_DEV_ISSUER_URL`. */
const serviceTrusting = (url: string) =>
  createAuthenticator({
    issuers: trustedIssuers({ AUTH_ISSUERS: [], AUTH_DEV_ISSUER_URL: url }),
    apiKeys: noApiKeys,
  });

let dataDir: string;
let issuer: DevIssuer | undefined;

beforeEach(() => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'dev-issuer-'));
});

afterEach(async () => {
  await issuer?.close();
  issuer = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local development issuer', () => {
  it('mints tokens that the service verifies through discovery, with the claims given', async () => {
    issuer = await startDevIssuer({ port: 0, dataDir });
    const token = await mintDevToken({
      issuer: issuer.url,
      dataDir,
      sub: 'alice',
      tenantId: 'acme',
      roles: ['tenant_admin'],
      tenantIds: ['beta'],
    });
    await expect(
      serviceTrusting(issuer.url).authenticate({ authorization: `Bearer ${token}` }),
    ).resolves.toEqual({
      userId: 'alice',
      tenantId: 'acme',
      roles: ['tenant_admin'],
      adminTenantIds: ['beta'],
      via: 'jwt',
    });
  });

  it('serves only the public key, and keeps the private one owner-readable', async () => {
    issuer = await startDevIssuer({ port: 0, dataDir });
    const discovery: unknown = await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json();
    expect(discovery).toMatchObject({ issuer: issuer.url, jwks_uri: `${issuer.url}/.well-known/jwks.json` });
    const jwks = await (await fetch(`${issuer.url}/.well-known/jwks.json`)).text();
    expect(jwks).toContain('"kty":"EC"');
    expect(jwks).not.toContain('"d"');
    expect(statSync(path.join(dataDir, 'signing-key.json')).mode & 0o777).toBe(0o600);
  });

  it('keeps its key across restarts, so earlier tokens still verify', async () => {
    issuer = await startDevIssuer({ port: 0, dataDir });
    const { url } = issuer;
    const token = await mintDevToken({ issuer: url, dataDir, sub: 'bob', tenantId: 'acme' });
    await issuer.close();
    issuer = await startDevIssuer({ port: Number(new URL(url).port), dataDir });
    expect(issuer.url).toBe(url);
    await expect(
      serviceTrusting(url).authenticate({ authorization: `Bearer ${token}` }),
    ).resolves.toMatchObject({
      userId: 'bob',
    });
  });

  it('mints from the command line with the given user, tenant, roles, audience and lifetime', async () => {
    issuer = await startDevIssuer({ port: 0, dataDir });
    const args = ['--user', 'carol', '--tenant', 'acme', '--role', 'platform_admin', '--tenant-ids', 'a, b'];
    const token = await devTokenCommand(
      [...args, '--ttl', '600', '--data-dir', dataDir],
      {
        AUTH_DEV_ISSUER_URL: `${issuer.url}/`,
      },
      '/unused',
    );
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: issuer.url,
      aud: 'user-story-agent',
      roles: ['platform_admin'],
      tenant_ids: ['a', 'b'],
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(600);
    await expect(
      serviceTrusting(issuer.url).authenticate({ authorization: `Bearer ${token}` }),
    ).resolves.toMatchObject({
      userId: 'carol',
      roles: ['platform_admin'],
    });

    const otherAudience = await devTokenCommand(
      ['--audience', 'api://other', '--data-dir', dataDir],
      {
        AUTH_DEV_ISSUER_URL: issuer.url,
      },
      '/unused',
    );
    const refused: unknown = await serviceTrusting(issuer.url)
      .authenticate({ authorization: `Bearer ${otherAudience}` })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(AppError);
    expect(refused instanceof AppError ? refused.details : undefined).toEqual({
      reason: 'audience_mismatch',
    });
  });

  it('reports command-line mistakes as usage errors', async () => {
    await expect(devTokenCommand(['--ttl', 'soon'], {}, dataDir)).rejects.toBeInstanceOf(UsageError);
    await expect(devTokenCommand(['--colour'], {}, dataDir)).rejects.toBeInstanceOf(UsageError);
  });
});
