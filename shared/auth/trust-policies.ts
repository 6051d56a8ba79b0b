import type { JWTPayload } from 'jose';
import { z } from 'zod';
import { selectTenant, type TenantSelection } from './claims-mapping';
import { authFailure } from './failures';
import { tenantIdSchema, trustPolicyIdSchema } from '../ids';
import type { Principal } from './principal';
import { ALL_USER_SCOPES, scopeListSchema, type ApiScope } from './scopes';

/** The issuer of GitHub Actions' OIDC tokens. */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/** The token claims a policy can constrain; each is a pattern where `*` matches any run of characters. */
export const trustClaimNames = ['repository', 'repository_owner', 'ref', 'environment'] as const;
export type TrustClaimName = (typeof trustClaimNames)[number];

/** GitHub treats owner, repository and environment names without regard to case; git refs keep theirs. */
const caseInsensitiveClaims: ReadonlySet<TrustClaimName> = new Set([
  'repository',
  'repository_owner',
  'environment',
]);

const patternSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9._\-/:@*]+$/, 'letters, digits, . _ - / : @ and * (any run of characters)');

export const trustPolicyClaimsSchema = z
  .strictObject({
    repository: patternSchema.optional().describe('e.g. octo-org/app or octo-org/*'),
    repository_owner: patternSchema.optional().describe('e.g. octo-org'),
    ref: patternSchema.optional().describe('e.g. refs/heads/main or refs/tags/v*'),
    environment: patternSchema.optional().describe('e.g. production'),
  })
  .refine(
    (claims) =>
      (claims.repository_owner !== undefined && !claims.repository_owner.includes('*')) ||
      (claims.repository !== undefined && !(claims.repository.split('/')[0] ?? '').includes('*')),
    'must pin the owner: repository_owner without *, or repository whose owner part has no *',
  );

/** A trust policy as a platform admin writes it. */
export const trustPolicyInputSchema = z.object({
  name: z.string().trim().min(1).max(100).describe('What the policy is for, e.g. the pipeline it serves.'),
  issuer: z
    .url({ protocol: /^https?$/ })
    .max(500)
    .default(GITHUB_ACTIONS_ISSUER)
    .describe('The token issuer; default GitHub Actions (https://token.actions.githubusercontent.com).'),
  audience: z.string().min(1).max(200).describe('The aud the workflow requests its token for.'),
  claims: trustPolicyClaimsSchema.describe(
    'Patterns the token’s claims must all match (* = any run of characters); the owner must be pinned.',
  ),
  tenantId: tenantIdSchema.describe('The tenant a matching token acts in.'),
  scopes: scopeListSchema
    .optional()
    .describe('What a matching token may do: jobs:write, jobs:read, usage:read, uploads:write; default all.'),
});
export type TrustPolicyInput = z.infer<typeof trustPolicyInputSchema>;

export const trustPolicySchema = trustPolicyInputSchema.extend({
  id: trustPolicyIdSchema,
  scopes: scopeListSchema,
  createdAt: z.string(),
  createdBy: z.string(),
});
export type TrustPolicy = z.infer<typeof trustPolicySchema>;

function matches(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, caseInsensitive ? 'i' : '').test(value);
}

/** True when every claim the policy constrains is a string in the token that matches its pattern. */
export function policyMatches(policy: Pick<TrustPolicy, 'claims'>, payload: JWTPayload): boolean {
  return trustClaimNames.every((name) => {
    const pattern = policy.claims[name];
    if (pattern === undefined) return true;
    const value = payload[name];
    return typeof value === 'string' && matches(pattern, value, caseInsensitiveClaims.has(name));
  });
}

/**
 * The principal a verified workload token acts as under the policies of its issuer: `github:<repository>` in
 * the tenant of the policies whose audience and claim patterns it meets (picked with `X-Tenant-Id` when
 * they name several), with the union of their scopes. No match is 401 `no_matching_trust_policy`.
 */
export function workloadPrincipal(
  policies: readonly TrustPolicy[],
  payload: JWTPayload,
  selection: TenantSelection,
): Principal {
  const audiences =
    payload.aud === undefined ? [] : typeof payload.aud === 'string' ? [payload.aud] : payload.aud;
  const matched = policies.filter(
    (policy) => audiences.includes(policy.audience) && policyMatches(policy, payload),
  );
  if (matched.length === 0) throw authFailure('no_matching_trust_policy');
  const repository = typeof payload.repository === 'string' ? payload.repository : undefined;
  if (repository === undefined || repository === '')
    throw authFailure('claim_invalid', { claim: 'repository' });
  const tenantId = selectTenant([...new Set(matched.map((policy) => policy.tenantId))].sort(), selection);
  const inTenant = matched.filter((policy) => policy.tenantId === tenantId);
  const granted = new Set<ApiScope>(inTenant.flatMap((policy) => policy.scopes));
  const [first] = inTenant;
  return {
    userId: `github:${repository}`,
    tenantId,
    roles: [],
    adminTenantIds: [],
    via: 'workload',
    scopes: ALL_USER_SCOPES.filter((scope) => granted.has(scope)),
    ...(first === undefined ? {} : { trustPolicyId: first.id }),
  };
}
