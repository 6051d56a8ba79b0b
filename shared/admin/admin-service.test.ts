import { describe, expect, it } from 'vitest';
import type { AuditTrail } from '../audit/audit-trail';
import type { Principal } from '../auth/principal';
import { ALL_USER_SCOPES } from '../auth/scopes';
import { AppError } from '../errors';
import { defaultPlans, type Plan } from '../plans/plan';
import type { PlanRepository } from '../plans/plan-repository';
import type { Tenant, TenantRepository } from '../tenants/tenant-repository';
import type { UsageReports } from '../usage/usage-reports';
import { AdminService } from './admin-service';

const root: Principal = {
  userId: 'root',
  tenantId: 'ops',
  roles: ['platform_admin'],
  adminTenantIds: [],
  via: 'jwt',
  scopes: ALL_USER_SCOPES,
};

/**
 * Plans and tenants in memory with the repositories' semantics that retirement relies on (a missing plan
 * counts as retiring); `beforeMove` runs inside a tenant's move, before it is written, to interleave.
 */
function world() {
  const plans = new Map<string, Plan & { retiring?: boolean }>(
    defaultPlans.map((plan) => [plan.id, { ...plan }]),
  );
  plans.set('team', { ...defaultPlans[0]!, id: 'team', name: 'Team' });
  const tenantPlans = new Map<string, string>([['acme', 'free']]);
  const hooks: { beforeMove?: () => Promise<void> } = {};
  const planRepository = {
    get: (planId: string) => {
      const plan = plans.get(planId);
      return plan ? Promise.resolve(plan) : Promise.reject(new AppError('not_found', 'no plan'));
    },
    isRetiring: (planId: string) => {
      const plan = plans.get(planId);
      return Promise.resolve(plan === undefined || plan.retiring === true);
    },
    markRetiring: (planId: string, retiring: boolean) => {
      const plan = plans.get(planId);
      if (!plan) return Promise.reject(new AppError('not_found', 'no plan'));
      plan.retiring = retiring;
      return Promise.resolve();
    },
    delete: (planId: string) => Promise.resolve(void plans.delete(planId)),
  };
  const tenantRepository = {
    ensure: (tenantId: string) =>
      Promise.resolve({ tenantId, planId: tenantPlans.get(tenantId) ?? 'free' } as Tenant),
    changePlan: async (tenantId: string, planId: string) => {
      const hook = hooks.beforeMove;
      hooks.beforeMove = undefined;
      await hook?.();
      tenantPlans.set(tenantId, planId);
      return { tenantId, planId } as Tenant;
    },
    idsOnPlan: (planId: string) =>
      Promise.resolve([...tenantPlans].filter(([, plan]) => plan === planId).map(([id]) => id)),
  };
  const admin = new AdminService({
    plans: planRepository as unknown as PlanRepository,
    tenants: tenantRepository as unknown as TenantRepository,
    reports: {} as UsageReports,
    audit: { recorded: <T>(_entry: unknown, effect: () => Promise<T>) => effect() } as unknown as AuditTrail,
    defaultPlanId: 'free',
  });
  return { admin, plans, tenantPlans, hooks };
}

describe('plan retirement', () => {
  it('refuses a plan in use and the default plan, and clears its mark so tenants may still move onto it', async () => {
    const { admin, plans, tenantPlans } = world();
    tenantPlans.set('beta', 'team');
    await expect(admin.retirePlan(root, 'team')).rejects.toMatchObject({ code: 'conflict' });
    expect(plans.get('team')?.retiring).toBe(false);
    await expect(admin.retirePlan(root, 'free')).rejects.toMatchObject({ code: 'conflict' });
    await expect(admin.changeTenantPlan(root, 'acme', 'team')).resolves.toMatchObject({ planId: 'team' });
  });

  it('moves a tenant back when the plan was retired while it moved, so no tenant is left on a deleted plan', async () => {
    const { admin, plans, tenantPlans, hooks } = world();
    hooks.beforeMove = () => admin.retirePlan(root, 'team');
    await expect(admin.changeTenantPlan(root, 'acme', 'team')).rejects.toMatchObject({ code: 'not_found' });
    expect(plans.has('team')).toBe(false);
    expect(tenantPlans.get('acme')).toBe('free');
  });

  it('refuses a retirement that starts after a tenant moved onto the plan', async () => {
    const { admin, plans, tenantPlans } = world();
    await admin.changeTenantPlan(root, 'acme', 'team');
    await expect(admin.retirePlan(root, 'team')).rejects.toMatchObject({ code: 'conflict' });
    expect([plans.has('team'), tenantPlans.get('acme')]).toEqual([true, 'team']);
  });
});
