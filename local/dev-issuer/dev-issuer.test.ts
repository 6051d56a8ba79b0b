import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodeJwt } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAuthenticator, trustedIssuers, type ApiKeyStore, type IssuerConfig } from '../../shared/auth';
import { AppError } from '../../shared/errors';
import {
  entraCommonJwksUri,
  mintDevToken,
  mintShapedToken,
  shapedIssuerUrl,
  startDevIssuer,
  type DevIssuer,
  type ProviderShape,
  type ShapedTokenOptions,
} from './dev-issuer';
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
      scopes: ['jobs:write', 'jobs:read', 'usage:read', 'uploads:write'],
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

describe('tokens shaped like other identity providers', () => {
  const audience = 'api://user-story-agent';
  const directory = '0b9e1c52-0000-4000-8000-00000000a11c';

  /** The service configured as the README tells admins to connect each provider. */
  function serviceTrustingProviders(url: string) {
    const issuers: IssuerConfig[] = [
      {
        issuer: shapedIssuerUrl('onelogin', url),
        audience,
        tenantFromGroups: { map: { 'Acme Editors': 'acme', 'Beta Editors': 'beta' } },
      },
      {
        issuer: shapedIssuerUrl('keycloak', url, { realm: 'usa' }),
        audience,
        tenantFromGroups: { prefix: '/tenants/' },
        rolesClaim: 'realm_access.roles',
      },
      {
        issuer: `${url}/{tenantid}/v2.0`,
        audience,
        jwksUri: entraCommonJwksUri(url),
        allowedTenants: [directory],
      },
    ];
    return createAuthenticator({ issuers, apiKeys: noApiKeys });
  }

  async function authenticate(
    shape: ProviderShape,
    options: Partial<ShapedTokenOptions>,
    headers: Record<string, string> = {},
  ) {
    const running = issuer ?? (await startDevIssuer({ port: 0, dataDir }));
    issuer = running;
    const token = await mintShapedToken(shape, { baseUrl: running.url, dataDir, audience, ...options });
    return serviceTrustingProviders(running.url)
      .authenticate({ authorization: `Bearer ${token}`, ...headers })
      .catch((error: unknown) => error);
  }

  const refusal = (outcome: unknown) =>
    outcome instanceof AppError ? { status: outcome.status, ...outcome.details } : outcome;

  it('maps a OneLogin user to the tenant of their one mapped group, keeping email and name', async () => {
    await expect(
      authenticate('onelogin', {
        user: '81234',
        email: 'ann@acme.test',
        groups: ['Acme Editors', 'All Staff'],
      }),
    ).resolves.toMatchObject({ userId: '81234', tenantId: 'acme', email: 'ann@acme.test', name: '81234' });
  });

  it('lets a OneLogin user in two mapped groups pick one with X-Tenant-Id, and refuses a guess or another tenant', async () => {
    const groups = ['Acme Editors', 'Beta Editors'];
    await expect(authenticate('onelogin', { groups }, { 'x-tenant-id': 'beta' })).resolves.toMatchObject({
      tenantId: 'beta',
    });
    expect(refusal(await authenticate('onelogin', { groups }))).toEqual({
      status: 403,
      reason: 'tenant_selection_required',
      tenants: ['acme', 'beta'],
    });
    expect(refusal(await authenticate('onelogin', { groups }, { 'x-tenant-id': 'gamma' }))).toEqual({
      status: 403,
      reason: 'tenant_not_member',
    });
    expect(refusal(await authenticate('onelogin', { groups: ['All Staff'] }))).toEqual({
      status: 401,
      reason: 'no_tenant_group',
      claim: 'groups',
    });
  });

  it('maps a Keycloak user by group path prefix, with realm roles', async () => {
    await expect(
      authenticate('keycloak', {
        user: 'kc-1',
        groups: ['/tenants/acme'],
        roles: ['tenant_admin', 'offline_access'],
      }),
    ).resolves.toMatchObject({ userId: 'kc-1', tenantId: 'acme', roles: ['tenant_admin', 'offline_access'] });
    expect(refusal(await authenticate('keycloak', { groups: ['/staff'] }))).toMatchObject({
      status: 401,
      reason: 'no_tenant_group',
    });
    // Another realm is another issuer, which nobody configured.
    expect(
      refusal(await authenticate('keycloak', { realm: 'other', groups: ['/tenants/acme'] })),
    ).toMatchObject({
      status: 401,
      reason: 'unknown_issuer',
    });
  });

  it('accepts an Entra multi-tenant token from an allowed directory only, whose tid matches its issuer', async () => {
    await expect(
      authenticate('entra', { directoryId: directory, roles: ['platform_admin'] }),
    ).resolves.toMatchObject({
      tenantId: directory,
      roles: ['platform_admin'],
    });
    expect(
      refusal(await authenticate('entra', { directoryId: '11111111-0000-4000-8000-000000000000' })),
    ).toEqual({
      status: 401,
      reason: 'tenant_not_allowed',
    });
    expect(
      refusal(
        await authenticate('entra', {
          directoryId: directory,
          claims: { tid: '11111111-0000-4000-8000-000000000000' },
        }),
      ),
    ).toEqual({ status: 401, reason: 'issuer_tenant_mismatch' });
  });

  it('signs each provider with its own key: a token claiming another provider’s issuer does not verify', async () => {
    const running = issuer ?? (await startDevIssuer({ port: 0, dataDir }));
    issuer = running;
    const forged = await mintShapedToken('keycloak', {
      baseUrl: running.url,
      dataDir,
      audience,
      groups: ['Acme Editors'],
      claims: { iss: shapedIssuerUrl('onelogin', running.url) },
    });
    const outcome = await serviceTrustingProviders(running.url)
      .authenticate({ authorization: `Bearer ${forged}` })
      .catch((error: unknown) => error);
    expect(refusal(outcome)).toMatchObject({ status: 401, reason: 'unknown_signing_key' });
  });

  it('mints a GitHub Actions token with the repository claims a trust policy matches', async () => {
    const token = await devTokenCommand(
      [
        '--shape',
        'github-actions',
        '--repository',
        'octo/app',
        '--environment',
        'prod',
        '--audience',
        'usa',
        '--data-dir',
        dataDir,
      ],
      { AUTH_DEV_ISSUER_URL: 'http://127.0.0.1:7079' },
      '/unused',
    );
    expect(decodeJwt(token)).toMatchObject({
      iss: 'http://127.0.0.1:7079/github-actions',
      aud: 'usa',
      sub: 'repo:octo/app:environment:prod',
      repository: 'octo/app',
      repository_owner: 'octo',
      ref: 'refs/heads/main',
      environment: 'prod',
    });
    await expect(
      devTokenCommand(['--shape', 'okta', '--data-dir', dataDir], {}, '/unused'),
    ).rejects.toBeInstanceOf(UsageError);
  });
});
