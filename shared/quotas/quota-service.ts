import type { z } from 'zod';
import { DocumentChangedError, DocumentExistsError, type CosmosStore } from '../adapters/cosmos-store';
import { AppError } from '../errors';
import type { PlanLimits } from '../plans/plan';
import {
  acquireSlot,
  admitJob,
  checkBudget,
  emptyTenantQuota,
  emptyUserQuota,
  releaseSlot,
  reserveBudget,
  reserveTokens,
  settleTenant,
  settleUser,
  tenantQuotaId,
  tenantQuotaSchema,
  tenantRemainingMicroUsd,
  userQuotaId,
  userQuotaSchema,
  userRemaining,
  type Admission,
  type TenantQuota,
  type UserQuota,
} from './quota-state';

export interface QuotaServiceOptions {
  store: CosmosStore;
  /** `Retry-After` for `concurrency_limit`: when a run slot is expected to free up. */
  concurrencyRetryAfterSeconds: number;
  /** How long a reservation holds before it is treated as abandoned (a worker that crashed mid-call). */
  reservationTtlMs: number;
  now?: () => Date;
}

/** The user and tenant a counter change is for. */
export interface QuotaOwner {
  tenantId: string;
  userId: string;
}

/** What one LLM call reserves before it is made. */
export interface CallReservation {
  callId: string;
  tokens: number;
  microUsd: number;
}

/** Contention on one counter is short-lived; this many tries under jittered backoff always gets through. */
const maxAttempts = 200;

const pause = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(50, 2 + attempt * 2)));

/**
 * Quota counters in the `quotas` container, changed only by ETag-conditional replace (create for a counter
 * seen the first time): reserve first, reconcile after. See `quota-state.ts` for the rules themselves.
 */
export class QuotaService {
  private readonly now: () => Date;

  constructor(private readonly options: QuotaServiceOptions) {
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Read-modify-write of one counter document with optimistic concurrency. `change` returns the new state,
   * `undefined` to leave it, or throws to refuse (nothing is written). Returns what `change` computed.
   */
  private async mutate<T extends { id: string; tenantId: string }, R>(
    id: string,
    tenantId: string,
    schema: z.ZodType<T>,
    empty: () => T,
    change: (current: T) => { state: T | undefined; result: R },
  ): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const found = await this.options.store.read('quotas', id, tenantId, schema);
      const { state, result } = change(found?.document ?? empty());
      if (state === undefined) return result;
      try {
        if (found) await this.options.store.replace('quotas', state, found.etag);
        else await this.options.store.create('quotas', state);
        return result;
      } catch (error: unknown) {
        // Another writer changed the counters since the read, or created them first: read again.
        const lostRace = error instanceof DocumentChangedError || error instanceof DocumentExistsError;
        if (!lostRace) throw error;
        if (attempt >= maxAttempts) {
          throw new AppError('upstream_unavailable', 'Quota counters are busy; retry shortly.', {
            retryAfterSeconds: 1,
          });
        }
        await pause(attempt);
      }
    }
  }

  private user<R>(
    owner: QuotaOwner,
    change: (current: UserQuota) => { state: UserQuota | undefined; result: R },
  ) {
    return this.mutate(
      userQuotaId(owner.userId),
      owner.tenantId,
      userQuotaSchema,
      () => emptyUserQuota(owner.tenantId, owner.userId, this.now()),
      change,
    );
  }

  private tenant<R>(
    tenantId: string,
    change: (current: TenantQuota) => { state: TenantQuota | undefined; result: R },
  ) {
    return this.mutate(
      tenantQuotaId,
      tenantId,
      tenantQuotaSchema,
      () => emptyTenantQuota(tenantId, this.now()),
      change,
    );
  }

  /**
   * Admits a job-creating request against the plan read at admission: refuses a spent tenant budget, then
   * takes `requests` requests (minute and day; one per story) and a run slot or queue place in one
   * conditional write.
   */
  async admit(owner: QuotaOwner, limits: PlanLimits, jobId: string, requests = 1): Promise<Admission> {
    const now = this.now();
    const tenant = await this.options.store.read('quotas', tenantQuotaId, owner.tenantId, tenantQuotaSchema);
    if (tenant) checkBudget(tenant.document, limits, now);
    return this.user(owner, (current) => {
      const admitted = admitJob(
        current,
        limits,
        jobId,
        now,
        this.options.concurrencyRetryAfterSeconds,
        requests,
      );
      return { state: admitted.state, result: admitted.admission };
    });
  }

  /** True when the job holds (or just got) a run slot; false while it must keep waiting in the queue. */
  async acquireSlot(owner: QuotaOwner, jobId: string, maxConcurrentJobs: number): Promise<boolean> {
    return this.user(owner, (current) => {
      const outcome = acquireSlot(current, jobId, maxConcurrentJobs, this.now());
      return { state: outcome.state, result: outcome.granted };
    });
  }

  /** Frees the job's run slot or queue place (a finished, failed or cancelled job). */
  async releaseSlot(owner: QuotaOwner, jobId: string): Promise<void> {
    await this.user(owner, (current) => ({ state: releaseSlot(current, jobId), result: undefined }));
  }

  /**
   * Reserves a call's tokens (user, per day) and cost (tenant, per month) before it is made. If the budget
   * refuses, the tokens already reserved are released again.
   */
  async reserve(owner: QuotaOwner, limits: PlanLimits, call: CallReservation): Promise<void> {
    const now = this.now();
    const expiresAt = new Date(now.getTime() + this.options.reservationTtlMs);
    await this.user(owner, (current) => ({
      state: reserveTokens(current, limits, call.callId, call.tokens, expiresAt, now),
      result: undefined,
    }));
    try {
      await this.tenant(owner.tenantId, (current) => ({
        state: reserveBudget(current, limits, call.callId, call.microUsd, expiresAt, now),
        result: undefined,
      }));
    } catch (error: unknown) {
      await this.settle(owner, call.callId, { tokens: 0, microUsd: 0 });
      throw error;
    }
  }

  /** Replaces a call's reservation by its actual usage: zero for a failed or cancelled call. */
  async settle(owner: QuotaOwner, callId: string, used: { tokens: number; microUsd: number }): Promise<void> {
    const now = this.now();
    await this.user(owner, (current) => ({
      state: settleUser(current, callId, used.tokens, now),
      result: undefined,
    }));
    await this.tenant(owner.tenantId, (current) => ({
      state: settleTenant(current, callId, used.microUsd, now),
      result: undefined,
    }));
  }

  /** The caller's remaining quota and the tenant's remaining budget, for `/usage` and response headers. */
  async remaining(owner: QuotaOwner, limits: PlanLimits) {
    const now = this.now();
    const [user, tenant] = await Promise.all([
      this.options.store.read('quotas', userQuotaId(owner.userId), owner.tenantId, userQuotaSchema),
      this.options.store.read('quotas', tenantQuotaId, owner.tenantId, tenantQuotaSchema),
    ]);
    return {
      user: userRemaining(user?.document ?? emptyUserQuota(owner.tenantId, owner.userId, now), limits, now),
      tenant: tenantRemainingMicroUsd(tenant?.document ?? emptyTenantQuota(owner.tenantId, now), limits, now),
    };
  }
}
