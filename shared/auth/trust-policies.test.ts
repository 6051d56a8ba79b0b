import { describe, expect, it } from 'vitest';
import { policyMatches, trustPolicyInputSchema, workloadPrincipal, type TrustPolicy } from './trust-policies';

const policy = (overrides: Partial<TrustPolicy>): TrustPolicy => ({
  id: 'p1',
  name: 'ci',
  issuer: 'https://token.actions.githubusercontent.com',
  audience: 'usa',
  claims: { repository: 'octo-org/app' },
  tenantId: 'acme',
  scopes: ['jobs:write'],
  createdAt: '2026-12-01T00:00:00.000Z',
  createdBy: 'root',
  ...overrides,
});

const token = {
  aud: 'usa',
  repository: 'Octo-Org/App',
  repository_owner: 'Octo-Org',
  ref: 'refs/heads/main',
  environment: 'Production',
};

describe('trust policy matching', () => {
  it('matches patterns with * for any run of characters; names without regard to case, refs exactly', () => {
    expect(policyMatches(policy({ claims: { repository: 'octo-org/*' } }), token)).toBe(true);
    expect(
      policyMatches(policy({ claims: { repository_owner: 'octo-org', ref: 'refs/heads/*' } }), token),
    ).toBe(true);
    expect(
      policyMatches(policy({ claims: { repository: 'octo-org/app', environment: 'production' } }), token),
    ).toBe(true);
    expect(
      policyMatches(policy({ claims: { repository: 'octo-org/app', ref: 'refs/heads/MAIN' } }), token),
    ).toBe(false);
    expect(policyMatches(policy({ claims: { repository: 'octo-org/ap' } }), token)).toBe(false);
    expect(
      policyMatches(policy({ claims: { repository: 'octo-org/app.' } }), {
        ...token,
        repository: 'octo-org/appX',
      }),
    ).toBe(false);
  });

  it('does not match a policy that names a claim the token lacks', () => {
    const { environment: _environment, ...withoutEnvironment } = token;
    expect(
      policyMatches(policy({ claims: { repository: 'octo-org/app', environment: '*' } }), withoutEnvironment),
    ).toBe(false);
  });

  it('acts as github:<repository> with the union of the scopes of the tenant’s matching policies', () => {
    const principal = workloadPrincipal(
      [policy({}), policy({ id: 'p2', scopes: ['jobs:read'], claims: { repository_owner: 'octo-org' } })],
      token,
      {},
    );
    expect(principal).toEqual({
      userId: 'github:Octo-Org/App',
      tenantId: 'acme',
      roles: [],
      adminTenantIds: [],
      via: 'workload',
      scopes: ['jobs:write', 'jobs:read'],
      trustPolicyId: 'p1',
    });
  });

  it('refuses a token no policy admits, and makes a token two tenants admit pick one', () => {
    expect(() => workloadPrincipal([policy({ audience: 'other' })], token, {})).toThrow(
      expect.objectContaining({ status: 401, details: { reason: 'no_matching_trust_policy' } }),
    );
    const both = [policy({}), policy({ id: 'p2', tenantId: 'beta' })];
    expect(() => workloadPrincipal(both, token, {})).toThrow(
      expect.objectContaining({
        status: 403,
        details: { reason: 'tenant_selection_required', tenants: ['acme', 'beta'] },
      }),
    );
    expect(workloadPrincipal(both, token, { requestedTenant: 'beta' })).toMatchObject({
      tenantId: 'beta',
      trustPolicyId: 'p2',
    });
  });

  it.each([
    ['no owner at all', { ref: 'refs/heads/main' }],
    ['an owner wildcard', { repository_owner: 'octo-*' }],
    ['a repository whose owner is a wildcard', { repository: '*/app' }],
    ['a claim it cannot check', { repository: 'octo-org/app', sub: 'repo:x' }],
    ['a pattern with a regular expression', { repository: 'octo-org/(app|web)' }],
  ])('refuses a policy with %s', (_name, claims) => {
    expect(
      trustPolicyInputSchema.safeParse({ name: 'ci', audience: 'usa', claims, tenantId: 'acme' }).success,
    ).toBe(false);
  });
});
