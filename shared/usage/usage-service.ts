import type { Usage } from '../engine/iteration-result';
import type { UsageRepository } from '../jobs/usage-records';
import type { PlanLimits } from '../plans/plan';
import type { PlanRepository } from '../plans/plan-repository';
import type { QuotaService } from '../quotas/quota-service';
import type { TenantRepository } from '../tenants/tenant-repository';
import type { UsageReports } from './usage-reports';

export interface UsageServiceOptions {
  usage: UsageRepository;
  reports: UsageReports;
  plans: PlanRepository;
  tenants: TenantRepository;
  quotas: QuotaService | undefined;
  now?: () => Date;
}

/** Whose usage: one user of one tenant. */
export interface UsageOwner {
  tenantId: string;
  userId: string;
}

/** Micro-dollars as a decimal USD string, exactly (no float rounding): 1234567 -> `1.234567`. */
export function formatMicroUsd(microUsd: number): string {
  const whole = Math.floor(microUsd / 1_000_000);
  const fraction = String(microUsd % 1_000_000).padStart(6, '0');
  return `${whole}.${fraction}`;
}

/** The caller's usage (from usage records), the plan's limits and what remains of them (from the counters). */
export class UsageService {
  private readonly now: () => Date;

  constructor(private readonly options: UsageServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private async limitsOf(tenantId: string): Promise<{ planId: string; limits: PlanLimits }> {
    const tenant = await this.options.tenants.ensure(tenantId);
    return { planId: tenant.planId, limits: (await this.options.plans.get(tenant.planId)).limits };
  }

  /** `GET /api/v1/usage`: today and this month (UTC), the tenant's month spend, limits and remaining. */
  async summary(owner: UsageOwner) {
    const day = this.now().toISOString().slice(0, 10);
    const month = day.slice(0, 7);
    const [today, thisMonth, tenantMonth, plan] = await Promise.all([
      this.options.usage.userTotals(owner.tenantId, owner.userId, day, day),
      this.options.usage.userTotals(owner.tenantId, owner.userId, `${month}-01`, `${month}-31`),
      this.options.reports.tenantMonthTotal(owner.tenantId, month),
      this.limitsOf(owner.tenantId),
    ]);
    const remaining = this.options.quotas && (await this.options.quotas.remaining(owner, plan.limits));
    return {
      today: { ...today, day },
      month: { ...thisMonth, month },
      tenantMonth: { ...tenantMonth, month },
      plan: { id: plan.planId, limits: plan.limits },
      ...(remaining
        ? {
            remaining: {
              requestsToday: remaining.user.requestsToday,
              requestsThisMinute: remaining.user.requestsThisMinute,
              tokensToday: remaining.user.tokensToday,
              reservedTokens: remaining.user.reservedTokens,
              runningJobs: remaining.user.runningJobs,
              queuedJobs: remaining.user.queuedJobs,
              budgetMicroUsd: remaining.tenant.remainingMicroUsd,
              reservedBudgetMicroUsd: remaining.tenant.reservedMicroUsd,
              spentBudgetMicroUsd: remaining.tenant.spentMicroUsd,
            },
          }
        : {}),
    };
  }

  /**
   * Headers for job and run responses: the job's cost so far, and the requests (per day) and tokens the
   * caller has left. Limits are the job's admitted ones when given, else the tenant's current plan.
   */
  async headers(
    owner: UsageOwner,
    job?: { usage: Usage; limits?: PlanLimits },
  ): Promise<Record<string, string>> {
    const cost = { 'x-usage-cost-usd': formatMicroUsd(job?.usage.costMicroUsd ?? 0) };
    if (!this.options.quotas) return cost;
    const limits = job?.limits ?? (await this.limitsOf(owner.tenantId)).limits;
    const { user } = await this.options.quotas.remaining(owner, limits);
    return {
      ...cost,
      'x-ratelimit-remaining-requests': String(Math.min(user.requestsToday, user.requestsThisMinute)),
      'x-ratelimit-remaining-tokens': String(user.tokensToday),
    };
  }
}
