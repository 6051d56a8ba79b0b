import { Readable } from 'node:stream';
import { platformPartition } from '../adapters/cosmos-store';
import type { AuditListQuery, AuditTrail } from '../audit/audit-trail';
import { isPlatformAdmin, requirePlatformAdmin, requireTenantAdmin, type Principal } from '../auth/principal';
import { AppError } from '../errors';
import { z } from 'zod';
import { planLimitsSchema, planSchema, type Plan } from '../plans/plan';
import type { PlanRepository } from '../plans/plan-repository';
import type { Tenant, TenantRepository } from '../tenants/tenant-repository';
import type { TenantUsageReport, UsageReports } from '../usage/usage-reports';

export interface AdminServiceOptions {
  plans: PlanRepository;
  tenants: TenantRepository;
  reports: UsageReports;
  audit: AuditTrail;
  /** `DEFAULT_PLAN`: new tenants land on it, so it can never be retired. */
  defaultPlanId: string;
}

/** A plan edit: a new name, and any limits to change (the others stay). */
export const planPatchSchema = z
  .object({
    name: planSchema.shape.name.optional(),
    // Without its default: a patch that leaves a limit out must keep it, not reset it.
    limits: planLimitsSchema
      .extend({ maxConcurrentStreams: planLimitsSchema.shape.maxConcurrentStreams.unwrap() })
      .partial()
      .optional(),
  })
  .refine((patch) => patch.name !== undefined || patch.limits !== undefined, 'change name or limits');
export type PlanPatch = z.infer<typeof planPatchSchema>;

const retiredPlan = (planId: string) =>
  new AppError('not_found', `Plan ${planId} does not exist or is being retired.`);

/**
 * The tenant an admin route acts on: the one asked for, else the caller's own; platform admins, who act on
 * every tenant, must say which.
 */
export function administeredTenant(principal: Principal, requested: string | undefined): string {
  if (requested === undefined && isPlatformAdmin(principal)) {
    throw new AppError('validation_failed', 'query.tenantId: required for platform admins.');
  }
  const tenantId = requested ?? principal.tenantId;
  // The platform's own trail (plans, exports, refused sources) is no tenant's: `tenant_ids: *` does not cover it.
  if (tenantId === platformPartition) requirePlatformAdmin(principal);
  else requireTenantAdmin(principal, tenantId);
  return tenantId;
}

/**
 * The admin routes' rules: who may do what (platform admins everything; tenant admins their own tenant and
 * those in `tenant_ids`), over plans, tenants' plans and usage reports.
 */
export class AdminService {
  constructor(private readonly options: AdminServiceOptions) {}

  async listPlans(principal: Principal): Promise<Plan[]> {
    requirePlatformAdmin(principal);
    return this.options.plans.list();
  }

  async getPlan(principal: Principal, planId: string): Promise<Plan> {
    requirePlatformAdmin(principal);
    return this.options.plans.get(planId);
  }

  /** Creates a plan; `conflict` when the id is taken (plans are never overwritten silently). */
  async createPlan(principal: Principal, plan: Plan): Promise<Plan> {
    requirePlatformAdmin(principal);
    if (await this.options.plans.find(plan.id))
      throw new AppError('conflict', `Plan ${plan.id} already exists.`);
    return this.options.audit.recorded(
      { tenantId: platformPartition, action: 'plan.created', target: { type: 'plan', id: plan.id } },
      () => this.options.plans.create(plan),
    );
  }

  /** Edits a plan; new admissions use the new limits, jobs already admitted keep theirs. */
  async updatePlan(principal: Principal, planId: string, patch: PlanPatch): Promise<Plan> {
    requirePlatformAdmin(principal);
    await this.options.plans.get(planId);
    return this.options.audit.recorded(
      {
        tenantId: platformPartition,
        action: 'plan.updated',
        target: { type: 'plan', id: planId },
        details: {
          ...(patch.name === undefined ? {} : { name: patch.name }),
          ...patch.limits,
        },
      },
      () =>
        this.options.plans.update(planId, (plan) => ({
          ...plan,
          name: patch.name ?? plan.name,
          limits: { ...plan.limits, ...patch.limits },
        })),
    );
  }

  /**
   * Retires (deletes) a plan no tenant uses; `conflict` while one does, or for the default plan. The plan is
   * marked first and tenants are counted after, while a tenant's move writes first and checks the mark after
   * (see `changeTenantPlan`): whichever runs second sees the other, so no tenant is left on a deleted plan.
   */
  async retirePlan(principal: Principal, planId: string): Promise<void> {
    requirePlatformAdmin(principal);
    if (planId === this.options.defaultPlanId) {
      throw new AppError(
        'conflict',
        `Plan ${planId} is the default plan (DEFAULT_PLAN) that new tenants get.`,
      );
    }
    await this.options.plans.get(planId);
    await this.options.audit.recorded(
      { tenantId: platformPartition, action: 'plan.retired', target: { type: 'plan', id: planId } },
      () => this.retire(planId),
    );
  }

  private async retire(planId: string): Promise<void> {
    await this.options.plans.markRetiring(planId, true);
    const users = await this.options.tenants.idsOnPlan(planId);
    if (users.length > 0) {
      await this.options.plans.markRetiring(planId, false);
      throw new AppError(
        'conflict',
        `Plan ${planId} is in use by ${users.length} tenant(s); move them first.`,
        {
          details: { tenantsOnPlan: users.length },
        },
      );
    }
    await this.options.plans.delete(planId);
  }

  /** Moves a tenant to another plan; jobs already admitted keep the limits they were admitted with. */
  async changeTenantPlan(principal: Principal, tenantId: string, planId: string): Promise<Tenant> {
    requireTenantAdmin(principal, tenantId);
    if (await this.options.plans.isRetiring(planId)) throw retiredPlan(planId);
    const before = await this.options.tenants.ensure(tenantId);
    return this.options.audit.recorded(
      {
        tenantId,
        action: 'tenant.plan_changed',
        target: { type: 'tenant', id: tenantId },
        details: { planId, previousPlanId: before.planId },
      },
      async () => {
        const moved = await this.options.tenants.changePlan(tenantId, planId);
        // A retirement that began while the tenant moved must not leave it on a deleted plan: move it back.
        if (await this.options.plans.isRetiring(planId)) {
          await this.options.tenants.changePlan(tenantId, before.planId);
          throw retiredPlan(planId);
        }
        return moved;
      },
    );
  }

  async tenantUsage(principal: Principal, tenantId: string, month: string): Promise<TenantUsageReport> {
    requireTenantAdmin(principal, tenantId);
    await this.options.audit.adminRead(principal, tenantId, { type: 'usageReport', id: month });
    return this.options.reports.tenantMonth(tenantId, month);
  }

  /** Every usage record of the month, streamed as CSV or JSON Lines; recorded in the platform's trail. */
  async exportUsage(principal: Principal, month: string, format: 'csv' | 'jsonl'): Promise<Readable> {
    requirePlatformAdmin(principal);
    await this.options.audit.record({
      tenantId: platformPartition,
      action: 'admin.usage_exported',
      target: { type: 'usageExport', id: month },
      details: { format },
    });
    return Readable.from(this.options.reports.export(this.options.tenants.listIds(), month, format));
  }

  /** A page of a tenant's audit trail (the platform's own under tenant `_platform`). */
  async auditTrail(principal: Principal, query: AuditListQuery) {
    const tenantId = administeredTenant(principal, query.tenantId);
    await this.options.audit.adminRead(principal, tenantId, { type: 'auditTrail', id: tenantId });
    return this.options.audit.list(tenantId, query);
  }

  /** Recomputes a tenant's hash chain. */
  async verifyAudit(principal: Principal, tenantId: string | undefined) {
    const tenant = administeredTenant(principal, tenantId);
    await this.options.audit.adminRead(principal, tenant, { type: 'auditTrail', id: tenant });
    return this.options.audit.verify(tenant);
  }
}
