import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { principalFromClaims, readClaim, tenantsFromGroups, type TenantSelection } from './claims-mapping';
import { issuerConfigSchema, matchIssuer, tenantInIssuer, type IssuerConfig } from './issuer-config';

const base = { issuer: 'https://idp.example.com', audience: 'api://usa' };

/** Matches the AppError thrown for a refusal with this status and these details. */
const refusedWith = (status: number, details: Record<string, unknown>) =>
  expect.objectContaining({ status, details });

const map = (
  payload: JWTPayload,
  config: Partial<IssuerConfig> = {},
  selection: TenantSelection = {},
  issuerTenant?: string,
) =>
  principalFromClaims({ sub: 'u1', ...payload }, { config: { ...base, ...config }, issuerTenant }, selection);

describe('claims mapping', () => {
  it('defaults to tid, then tenant_id, with roles from roles and role', () => {
    expect(map({ tid: 'a', tenant_id: 'b', roles: ['x'], role: 'y' })).toMatchObject({
      tenantId: 'a',
      roles: ['x', 'y'],
    });
    expect(map({ tenant_id: 'b' }).tenantId).toBe('b');
  });

  it('reads a configured tenant claim and a nested roles claim, and keeps email and name', () => {
    const principal = map(
      { org: 'acme', realm_access: { roles: ['tenant_admin'] }, email: 'a@acme.test', name: 'Ann' },
      { tenantClaim: 'org', rolesClaim: 'realm_access.roles' },
    );
    expect(principal).toMatchObject({
      tenantId: 'acme',
      roles: ['tenant_admin'],
      email: 'a@acme.test',
      name: 'Ann',
    });
  });

  it('maps groups by prefix, ignoring groups that are not tenant groups', () => {
    expect(
      tenantsFromGroups(['/tenants/acme', '/staff', '/tenants/', '/tenants/a/b'], { prefix: '/tenants/' }),
    ).toEqual(['acme']);
    expect(
      map({ groups: ['/tenants/acme', 'everyone'] }, { tenantFromGroups: { prefix: '/tenants/' } }).tenantId,
    ).toBe('acme');
  });

  it('maps groups through an explicit map, from a configured groups claim', () => {
    const config = { groupsClaim: 'member_of', tenantFromGroups: { map: { 'Acme Users': 'acme' } } };
    expect(map({ member_of: 'Acme Users' }, config).tenantId).toBe('acme');
    expect(tenantsFromGroups(['constructor', '__proto__'], { map: { x: 'y' } })).toEqual([]);
  });

  it('lets a member of several mapped groups pick one with X-Tenant-Id, and only one of them', () => {
    const config = { tenantFromGroups: { prefix: 'tenant-' } };
    const payload = { groups: ['tenant-acme', 'tenant-beta'] };
    expect(map(payload, config, { requestedTenant: 'beta' }).tenantId).toBe('beta');

    expect(() => map(payload, config)).toThrow(
      refusedWith(403, { reason: 'tenant_selection_required', tenants: ['acme', 'beta'] }),
    );
    expect(() => map(payload, config, { requestedTenant: 'gamma' })).toThrow(
      refusedWith(403, { reason: 'tenant_not_member' }),
    );
  });

  it('refuses a tenant claim user who asks for another tenant', () => {
    expect(() => map({ tid: 'acme' }, {}, { requestedTenant: 'beta' })).toThrow(
      refusedWith(403, { reason: 'tenant_not_member' }),
    );
    expect(map({ tid: 'acme' }, {}, { requestedTenant: 'acme' }).tenantId).toBe('acme');
  });

  it.each<[string, JWTPayload, Partial<IssuerConfig>, string | undefined, Record<string, unknown>]>([
    ['no tenant claim', {}, {}, undefined, { reason: 'missing_tenant' }],
    [
      'no configured tenant claim',
      { tid: 'a' },
      { tenantClaim: 'org' },
      undefined,
      { reason: 'missing_tenant' },
    ],
    [
      'a tenant claim that is not a string',
      { tid: 7 },
      {},
      undefined,
      { reason: 'claim_invalid', claim: 'tid' },
    ],
    [
      'a tenant id with a slash',
      { tid: 'a/b' },
      {},
      undefined,
      { reason: 'tenant_id_invalid', claim: 'tid' },
    ],
    [
      'a tenant id starting with a dot',
      { tenant_id: '..' },
      {},
      undefined,
      { reason: 'tenant_id_invalid', claim: 'tenant_id' },
    ],
    [
      'a configured tenant claim longer than a tenant id may be',
      { org: { id: 'a'.repeat(129) } },
      { tenantClaim: 'org.id' },
      undefined,
      { reason: 'tenant_id_invalid', claim: 'org.id' },
    ],
    [
      'no mapped group',
      { groups: ['staff'] },
      { tenantFromGroups: { prefix: 'tenant-' } },
      undefined,
      { reason: 'no_tenant_group', claim: 'groups' },
    ],
    [
      'a groups claim that is not strings',
      { groups: [{ id: 1 }] },
      { tenantFromGroups: { prefix: 'tenant-' } },
      undefined,
      { reason: 'claim_invalid', claim: 'groups' },
    ],
    [
      'a tid other than the issuer’s tenant',
      { tid: 'other' },
      {},
      'home',
      { reason: 'issuer_tenant_mismatch' },
    ],
    [
      'roles that are not strings',
      { tid: 'a', roles: [1] },
      {},
      undefined,
      { reason: 'claim_invalid', claim: 'roles' },
    ],
  ])('refuses %s with 401 and its reason', (_name, payload, config, issuerTenant, details) => {
    expect(() => map(payload, config, {}, issuerTenant)).toThrow(refusedWith(401, details));
  });

  it('reads nested claims by dotted path and nothing through arrays or scalars', () => {
    expect(readClaim({ a: { b: { c: 1 } } }, 'a.b.c')).toBe(1);
    expect(readClaim({ a: [{ b: 1 }] }, 'a.0.b')).toBeUndefined();
    expect(readClaim({ a: 'text' }, 'a.length')).toBeUndefined();
  });
});

describe('issuer templates', () => {
  const entra: IssuerConfig = {
    issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0',
    audience: 'api://usa',
    allowedTenants: ['6F1A0C52-0000-4000-8000-000000000001'],
  };

  it('matches only allowed tenants, case-insensitively, and says when the tenant is not allowed', () => {
    const allowed = matchIssuer(
      [entra],
      'https://login.microsoftonline.com/6f1a0c52-0000-4000-8000-000000000001/v2.0',
    );
    expect(allowed.matches.map((match) => match.issuerTenant)).toEqual([
      '6f1a0c52-0000-4000-8000-000000000001',
    ]);
    expect(matchIssuer([entra], 'https://login.microsoftonline.com/someone-else/v2.0')).toEqual({
      matches: [],
      notAllowed: true,
    });
    expect(matchIssuer([entra], 'https://login.microsoftonline.com/a/b/v2.0')).toEqual({
      matches: [],
      notAllowed: false,
    });
  });

  it('does not let the template’s dots or the tenant segment match more than they say', () => {
    expect(tenantInIssuer('https://a.example/{tenantid}/v2.0', 'https://aXexample/t1/v2.0')).toBeUndefined();
    expect(
      tenantInIssuer('https://a.example/{tenantid}/v2.0', 'https://a.example/t1/v2.0/extra'),
    ).toBeUndefined();
    expect(tenantInIssuer('https://a.example/{tenantid}/v2.0', 'https://a.example/T1/v2.0')).toBe('t1');
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['a template without allowedTenants', { issuer: 'https://x/{tenantid}' }, /allowedTenants/],
    ['allowedTenants without a template', { allowedTenants: ['a'] }, /allowedTenants/],
    ['two placeholders', { issuer: 'https://x/{tenantid}/{tenantid}', allowedTenants: ['a'] }, /once/],
    [
      'groups and a tenant claim',
      { tenantClaim: 'org', tenantFromGroups: { prefix: 't-' } },
      /tenantFromGroups/,
    ],
    ['a groups claim without a mapping', { groupsClaim: 'groups' }, /groupsClaim/],
    ['an empty group map', { tenantFromGroups: { map: {} } }, /tenantFromGroups/],
  ])('refuses a config with %s', (_name, overrides, message) => {
    const result = issuerConfigSchema.safeParse({ ...base, ...overrides });
    expect(result.success).toBe(false);
    expect(JSON.stringify(result.error?.issues)).toMatch(message);
  });
});
