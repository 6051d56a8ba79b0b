import { Readable } from 'node:stream';
import { canAdministerTenant, isPlatformAdmin, type Principal } from '../auth/principal';
import { AppError } from '../errors';
import type { Plan } from '../plans/plan';
import type { PlanRepository } from '../plans/plan-repository';
import type { Tenant, TenantRepository } from '../tenants/tenant-repository';
import type { TenantUsageReport, UsageReports } from '../usage/usage-reports';

export interface AdminServiceOptions {
  plans: PlanRepository;
  tenants: TenantRepository;
  reports: UsageReports;
}

function requirePlatformAdmin(principal: Principal): void {
  if (!isPlatformAdmin(principal)) throw new AppError('forbidden', 'This operation needs platform_admin.');
}

function requireTenantAdmin(principal: Principal, tenantId: string): void {
  if (!canAdministerTenant(principal, tenantId)) {
    throw new AppError('forbidden', `You may not administer tenant ${tenantId}.`);
  }
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
    return this.options.plans.create(plan);
  }

  /** Moves a tenant to another plan; jobs already admitted keep the limits they were admitted with. */
  async changeTenantPlan(principal: Principal, tenantId: string, planId: string): Promise<Tenant> {
    requireTenantAdmin(principal, tenantId);
    await this.options.plans.get(planId);
    return this.options.tenants.changePlan(tenantId, planId);
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
