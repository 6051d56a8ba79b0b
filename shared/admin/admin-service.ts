import { Readable } from 'node:stream';
import { requirePlatformAdmin, requireTenantAdmin, type Principal } from '../auth/principal';
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
  /** `DEFAULT_PLAN`: new tenants land on it, so it can never be retired. */
  defaultPlanId: string;
}

/** A plan edit: a new name, and any limits to change (the others stay). */
export const planPatchSchema = z
  .object({
    name: planSchema.shape.name.optional(),
    limits: planLimitsSchema.partial().optional(),
  })
  .refine((patch) => patch.name !== undefined || patch.limits !== undefined, 'change name or limits');
export type PlanPatch = z.infer<typeof planPatchSchema>;

const retiredPlan = (planId: string) =>
  new AppError('not_found', `Plan ${planId} does not exist or is being retired.`);

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
    return this.options.plans.create(plan);
  }

  /** Edits a plan; new admissions use the new limits, jobs already admitted keep theirs. */
  async updatePlan(principal: Principal, planId: string, patch: PlanPatch): Promise<Plan> {
    requirePlatformAdmin(principal);
    return this.options.plans.update(planId, (plan) => ({
      ...plan,
      name: patch.name ?? plan.name,
      limits: { ...plan.limits, ...patch.limits },
    }));
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
    const moved = await this.options.tenants.changePlan(tenantId, planId);
    // A retirement that began while the tenant moved must not leave it on a deleted plan: move it back.
    if (await this.options.plans.isRetiring(planId)) {
      await this.options.tenants.changePlan(tenantId, before.planId);
      throw retiredPlan(planId);
    }
    return moved;
  }

  async tenantUsage(principal: Principal, tenantId: string, month: string): Promise<TenantUsageReport> {
    requireTenantAdmin(principal, tenantId);
    return this.options.reports.tenantMonth(tenantId, month);
  }

  /** Every usage record of the month, streamed as CSV or JSON Lines. */
  exportUsage(principal: Principal, month: string, format: 'csv' | 'jsonl'): Readable {
    requirePlatformAdmin(principal);
    return Readable.from(this.options.reports.export(this.options.tenants.listIds(), month, format));
  }
}
