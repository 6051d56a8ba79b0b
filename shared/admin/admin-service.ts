import { Readable } from 'node:stream';
import { platformPartition } from '../adapters/cosmos-store';
import type { AuditListQuery, AuditTrail } from '../audit/audit-trail';
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
  audit: AuditTrail;
}

export function requirePlatformAdmin(principal: Principal): void {
  if (!isPlatformAdmin(principal)) throw new AppError('forbidden', 'This operation needs platform_admin.');
}

function requireTenantAdmin(principal: Principal, tenantId: string): void {
  if (!canAdministerTenant(principal, tenantId)) {
    throw new AppError('forbidden', `You may not administer tenant ${tenantId}.`);
  }
}

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

  /** Moves a tenant to another plan; jobs already admitted keep the limits they were admitted with. */
  async changeTenantPlan(principal: Principal, tenantId: string, planId: string): Promise<Tenant> {
    requireTenantAdmin(principal, tenantId);
    await this.options.plans.get(planId);
    const previous = await this.options.tenants.find(tenantId);
    return this.options.audit.recorded(
      {
        tenantId,
        action: 'tenant.plan_changed',
        target: { type: 'tenant', id: tenantId },
        details: { planId, previousPlanId: previous?.planId ?? null },
      },
      () => this.options.tenants.changePlan(tenantId, planId),
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
