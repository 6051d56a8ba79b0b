import { randomBytes } from 'node:crypto';
import type { JWTPayload } from 'jose';
import type { AuditTrail } from '../audit/audit-trail';
import { AppError } from '../errors';
import type { TenantSelection } from './claims-mapping';
import type { WorkloadTrust } from './jwt-verifier';
import { requirePlatformAdmin, type Principal } from './principal';
import { ALL_USER_SCOPES } from './scopes';
import { workloadPrincipal, type TrustPolicy, type TrustPolicyInput } from './trust-policies';
import type { TrustPolicyRepository } from './trust-policy-repository';

export interface TrustPolicyServiceOptions {
  policies: TrustPolicyRepository;
  audit: AuditTrail;
  /** Production: only https issuers, whose keys cannot be swapped on the way. */
  requireHttpsIssuers: boolean;
  /** How long this instance trusts its copy of the policies (default 30 s); its own changes apply at once. */
  cacheMs?: number;
  now?: () => Date;
}

/** What an audit record says about a policy: who it lets in and what they may do. */
function auditDetails(policy: TrustPolicy): Record<string, string> {
  return {
    name: policy.name,
    issuer: policy.issuer,
    audience: policy.audience,
    scopes: policy.scopes.join(' '),
    ...Object.fromEntries(
      Object.entries(policy.claims).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
  };
}

/**
 * CI trust policies: platform admins say which workload tokens (GitHub Actions OIDC: issuer, audience and
 * repository/owner/ref/environment patterns) act in which tenant with which scopes. As the authenticator's
 * {@link WorkloadTrust}, it answers from a short-lived in-process copy of the policies, so a token from an
 * unknown issuer costs no query of its own.
 */
export class TrustPolicyService implements WorkloadTrust {
  private cached: { policies: Promise<TrustPolicy[]>; at: number } | undefined;
  private readonly now: () => Date;

  constructor(private readonly options: TrustPolicyServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private policies(): Promise<TrustPolicy[]> {
    const at = this.now().getTime();
    if (!this.cached || at - this.cached.at >= (this.options.cacheMs ?? 30_000)) {
      const policies = this.options.policies.list();
      this.cached = { policies, at };
      // A failed read is not kept: the next token tries again.
      policies.catch(() => {
        if (this.cached?.policies === policies) this.cached = undefined;
      });
    }
    return this.cached.policies;
  }

  async audiencesFor(issuer: string): Promise<string[]> {
    const policies = await this.policies();
    return [
      ...new Set(policies.filter((policy) => policy.issuer === issuer).map((policy) => policy.audience)),
    ];
  }

  async principalFor(issuer: string, payload: JWTPayload, selection: TenantSelection): Promise<Principal> {
    const policies = (await this.policies()).filter((policy) => policy.issuer === issuer);
    return workloadPrincipal(policies, payload, selection);
  }

  async create(principal: Principal, input: TrustPolicyInput): Promise<TrustPolicy> {
    requirePlatformAdmin(principal);
    if (this.options.requireHttpsIssuers && !input.issuer.startsWith('https://')) {
      throw new AppError('validation_failed', 'issuer: must be an https URL in production.');
    }
    const policy: TrustPolicy = {
      ...input,
      id: randomBytes(10).toString('hex'),
      scopes: input.scopes ?? [...ALL_USER_SCOPES],
      createdAt: this.now().toISOString(),
      createdBy: principal.userId,
    };
    // Recorded in the chain of the tenant the policy opens, whose access it changes.
    await this.options.audit.recorded(
      {
        tenantId: policy.tenantId,
        action: 'trust_policy.created',
        target: { type: 'trustPolicy', id: policy.id },
        details: auditDetails(policy),
      },
      () => this.options.policies.create(policy),
    );
    this.cached = undefined;
    return policy;
  }

  async list(principal: Principal): Promise<TrustPolicy[]> {
    requirePlatformAdmin(principal);
    return this.options.policies.list();
  }

  /** Deletes a policy; tokens it admitted stop working on this instance at once, elsewhere within the cache time. */
  async delete(principal: Principal, policyId: string): Promise<void> {
    requirePlatformAdmin(principal);
    const policy = await this.options.policies.find(policyId);
    if (!policy) throw new AppError('not_found', `Trust policy ${policyId} was not found.`);
    await this.options.audit.recorded(
      {
        tenantId: policy.tenantId,
        action: 'trust_policy.deleted',
        target: { type: 'trustPolicy', id: policyId },
        details: auditDetails(policy),
      },
      () => this.options.policies.delete(policyId),
    );
    this.cached = undefined;
  }
}
