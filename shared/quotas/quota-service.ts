import type { z } from 'zod';
import { DocumentChangedError, DocumentExistsError, type CosmosStore } from '../adapters/cosmos-store';
import { AppError } from '../errors';
import type { PlanLimits } from '../plans/plan';
import { formatMicroUsd } from '../usage/usage-service';
import { expectedFromHistory, expectedOutputTokens } from './call-estimates';
import {
  acquireSlot,
  admitJob,
  budgetMicroUsd,
  checkBudget,
  deadHolds,
  emptyTenantQuota,
  emptyUserQuota,
  reclaimTenant,
  reclaimUser,
  releaseSlot,
  rollTenant,
  rollUser,
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
  type CallNeed,
  type TenantQuota,
  type UserQuota,
} from './quota-state';

/** What a call whose process died was recorded to use (its usage record), found by call id. */
export type RecordedCall = (
  tenantId: string,
  callId: string,
) => Promise<{ day: string; month: string; tokens: number; microUsd: number } | undefined>;

export interface QuotaServiceOptions {
  store: CosmosStore;
  /** `Retry-After` for `concurrency_limit`: when a run slot is expected to free up. */
  concurrencyRetryAfterSeconds: number;
  /**
   * How long a reservation holds before it is treated as abandoned (its process died mid-call): longer than
   * any call can last. A call waits for others to give back what they hold at most twice this long.
   */
  reservationTtlMs: number;
  /** Looks up a dead call's usage record, so reclaiming its hold counts what it used. */
  recordedCall: RecordedCall;
  now?: () => Date;
}

/** The user and tenant a counter change is for. */
export interface QuotaOwner {
  tenantId: string;
  userId: string;
}

/**
 * What one LLM call asks for before it is sent: its prompt (estimated) and its request's `max_tokens`; its
 * expected output comes from the tenant's history of calls of the same kind.
 */
export interface CallDemand {
  callId: string;
  /** Kind of call (see `historyKey`). */
  kind: string;
  promptTokens: number;
  maxOutputTokens: number;
  /** The most the call can cost when sent with a given `max_tokens` (see `costCeiling`). */
  costCeiling: (maxOutputTokens: number) => number;
}

/** Why a call is waiting: the limit whose holds keep it out, and a sentence for people. */
export interface QuotaWait {
  reason: 'budget' | 'tokens';
  message: string;
}

/** A reservation made, and the `max_tokens` the call must be sent with to stay within it. */
export type CallAdmission =
  | {
      kind: 'reserved';
      maxOutputTokens: number;
      /** The limit that lowered `max_tokens` below the request's own; absent when none did. */
      loweredBy?: 'budget' | 'tokens';
    }
  | ({ kind: 'waiting' } & QuotaWait);

/** What a finished call used: zero for one that failed unanswered or was cancelled. */
export interface CallUsage {
  tokens: number;
  microUsd: number;
  /** An answered call's kind and output tokens, for the estimates of the calls after it. */
  output?: { key: string; tokens: number };
}

const nothingUsed: CallUsage = { tokens: 0, microUsd: 0 };

/** Polling for holds given back on other instances: from `firstPollMs` growing to `lastPollMs`, jittered. */
const firstPollMs = 100;
const lastPollMs = 2_000;

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
  /** Calls of this process waiting for holds to be given back, by tenant: woken by every local settle. */
  private readonly waiting = new Map<string, Set<() => void>>();

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
    change: (
      current: T,
    ) => { state: T | undefined; result: R } | Promise<{ state: T | undefined; result: R }>,
  ): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      const found = await this.options.store.read('quotas', id, tenantId, schema);
      const { state, result } = await change(found?.document ?? empty());
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
    change: (
      current: UserQuota,
    ) => { state: UserQuota | undefined; result: R } | Promise<{ state: UserQuota | undefined; result: R }>,
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
    change: (
      current: TenantQuota,
    ) =>
      { state: TenantQuota | undefined; result: R } | Promise<{ state: TenantQuota | undefined; result: R }>,
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

  /** What each dead call was recorded to use, in the counter's unit (`amount`: undefined outside its window). */
  private async recordedUsage(
    tenantId: string,
    dead: readonly string[],
    amount: (record: NonNullable<Awaited<ReturnType<RecordedCall>>>) => number | undefined,
  ): Promise<Map<string, number>> {
    const recorded = new Map<string, number>();
    for (const callId of dead) {
      const record = await this.options.recordedCall(tenantId, callId);
      const used = record && amount(record);
      if (used !== undefined) recorded.set(callId, used);
    }
    return recorded;
  }

  /**
   * The tenant's counter with the holds of dead calls (see `deadHolds`) reclaimed, counting what each was
   * recorded to cost this month; `changed` says whether there was anything to reclaim.
   */
  private async reclaimedTenant(stored: TenantQuota, callId: string, now: Date) {
    const dead = deadHolds(stored.reservations, callId, now);
    if (dead.length === 0) return { current: stored, changed: false };
    const recorded = await this.recordedUsage(stored.tenantId, dead, (record) =>
      record.month === stored.month ? record.microUsd : undefined,
    );
    return { current: reclaimTenant(stored, dead, recorded, now), changed: true };
  }

  /** The user counterpart of `reclaimedTenant`, counting the tokens recorded today. */
  private async reclaimedUser(stored: UserQuota, callId: string, now: Date) {
    const dead = deadHolds(stored.reservations, callId, now);
    if (dead.length === 0) return { current: stored, changed: false };
    const recorded = await this.recordedUsage(stored.tenantId, dead, (record) =>
      record.day === stored.day ? record.tokens : undefined,
    );
    return { current: reclaimUser(stored, dead, recorded, now), changed: true };
  }

  /** What the call asks of the tenant's budget; its expected output and cost come from the tenant's history. */
  private budgetNeed(tenant: TenantQuota, demand: CallDemand): CallNeed {
    const expected = expectedFromHistory(tenant.costHistory, demand.kind);
    return {
      callId: demand.callId,
      expectedOutputTokens: expectedOutputTokens(tenant.outputHistory, demand.kind, demand.maxOutputTokens),
      maxOutputTokens: demand.maxOutputTokens,
      ceiling: demand.costCeiling,
      ...(expected === undefined ? {} : { expected }),
    };
  }

  /**
   * What the call asks of the user's tokens, sent with at most `maxOutputTokens` (what the budget allows). Its
   * prompt is counted, not priced, so its estimate is its ceiling at the expected output.
   */
  private tokenNeed(budget: CallNeed, demand: CallDemand, maxOutputTokens: number): CallNeed {
    const { expected: _cost, ...need } = budget;
    return {
      ...need,
      maxOutputTokens,
      ceiling: (outputTokens) => demand.promptTokens + outputTokens,
    };
  }

  private waitingForBudget(
    fit: { held: number; holders: number },
    limits: PlanLimits,
    spent: number,
  ): CallAdmission {
    return {
      kind: 'waiting',
      reason: 'budget',
      message: `Waiting for ${fit.holders} LLM calls in flight to settle: they hold $${formatMicroUsd(fit.held)} of the tenant's remaining monthly budget of $${formatMicroUsd(budgetMicroUsd(limits) - spent)}.`,
    };
  }

  private waitingForTokens(
    fit: { held: number; holders: number },
    limits: PlanLimits,
    used: number,
  ): CallAdmission {
    return {
      kind: 'waiting',
      reason: 'tokens',
      message: `Waiting for ${fit.holders} LLM calls in flight to settle: they hold ${fit.held} of the ${limits.tokensPerDay - used} tokens left today.`,
    };
  }

  /**
   * Reads both counters and decides without writing when the call must wait or is refused, so the tries of a
   * waiting call cost two reads. Undefined when it may fit, or when dead holds must be reclaimed first (which
   * writes).
   */
  private async look(owner: QuotaOwner, limits: PlanLimits, demand: CallDemand, now: Date) {
    const [tenantFound, userFound] = await Promise.all([
      this.options.store.read('quotas', tenantQuotaId, owner.tenantId, tenantQuotaSchema),
      this.options.store.read('quotas', userQuotaId(owner.userId), owner.tenantId, userQuotaSchema),
    ]);
    const tenant = tenantFound?.document ?? emptyTenantQuota(owner.tenantId, now);
    const user = userFound?.document ?? emptyUserQuota(owner.tenantId, owner.userId, now);
    const dead = [
      ...deadHolds(tenant.reservations, demand.callId, now),
      ...deadHolds(user.reservations, demand.callId, now),
    ];
    if (dead.length > 0) return undefined;
    const need = this.budgetNeed(tenant, demand);
    const budget = reserveBudget(tenant, limits, need, now, now);
    if (budget.fit.kind === 'waits')
      return this.waitingForBudget(budget.fit, limits, rollTenant(tenant, now).spentMicroUsd);
    const tokens = reserveTokens(
      user,
      limits,
      this.tokenNeed(need, demand, budget.fit.maxOutputTokens),
      now,
      now,
    );
    if (tokens.fit.kind === 'waits')
      return this.waitingForTokens(tokens.fit, limits, rollUser(user, now).tokens);
    return undefined;
  }

  /**
   * Tries once to reserve a call's cost (tenant, per month) and tokens (user, per day), reclaiming the holds
   * of dead calls on the way. Refuses (throws `budget_exceeded` / `quota_exceeded`) only when settled usage
   * plus the call's estimate passes a limit; when holds of calls in flight keep it out, reserves nothing and
   * says why it must wait.
   */
  async reserve(owner: QuotaOwner, limits: PlanLimits, demand: CallDemand): Promise<CallAdmission> {
    const now = this.now();
    const looked = await this.look(owner, limits, demand, now);
    if (looked) return looked;
    const expiresAt = new Date(now.getTime() + this.options.reservationTtlMs);
    const budget = await this.tenant(owner.tenantId, async (stored) => {
      const { current, changed } = await this.reclaimedTenant(stored, demand.callId, now);
      const need = this.budgetNeed(current, demand);
      const reserved = reserveBudget(current, limits, need, expiresAt, now);
      return {
        state: reserved.state ?? (changed ? current : undefined),
        result: { fit: reserved.fit, need, spent: current.spentMicroUsd },
      };
    });
    if (budget.fit.kind === 'waits') return this.waitingForBudget(budget.fit, limits, budget.spent);
    const maxOutputTokens = budget.fit.maxOutputTokens;
    let tokens;
    try {
      tokens = await this.user(owner, async (stored) => {
        const { current, changed } = await this.reclaimedUser(stored, demand.callId, now);
        const reserved = reserveTokens(
          current,
          limits,
          this.tokenNeed(budget.need, demand, maxOutputTokens),
          expiresAt,
          now,
        );
        return {
          state: reserved.state ?? (changed ? current : undefined),
          result: { fit: reserved.fit, used: current.tokens },
        };
      });
    } catch (error: unknown) {
      await this.giveBack(owner, demand.callId, nothingUsed);
      throw error;
    }
    if (tokens.fit.kind === 'waits') {
      // Only a call that won a race since the look gets here; what it gave back, it held for a moment only.
      await this.giveBack(owner, demand.callId, nothingUsed);
      return this.waitingForTokens(tokens.fit, limits, tokens.used);
    }
    // A lower cap from the token limit leaves the budget hold above the call's ceiling: on the safe side.
    const capped = tokens.fit.maxOutputTokens;
    const loweredBy =
      capped >= demand.maxOutputTokens ? undefined : capped < maxOutputTokens ? 'tokens' : 'budget';
    return { kind: 'reserved', maxOutputTokens: capped, ...(loweredBy ? { loweredBy } : {}) };
  }

  /**
   * Reserves a call, waiting while holds of calls in flight keep it out: woken by every settle in this process,
   * and polling for those on other instances. `onWait` hears each reason to wait as it starts. Ends with
   * `cancelled` when `signal` aborts, and, past twice the reservation lifetime (every hold that kept it out
   * has been settled or reclaimed by then), with a retryable `upstream_unavailable`.
   */
  async reserveWhenFree(
    owner: QuotaOwner,
    limits: PlanLimits,
    demand: CallDemand,
    options: { signal?: AbortSignal; onWait?: (wait: QuotaWait) => void } = {},
  ): Promise<Omit<Extract<CallAdmission, { kind: 'reserved' }>, 'kind'>> {
    const deadline = Date.now() + 2 * this.options.reservationTtlMs;
    let told: string | undefined;
    for (let poll = 0; ; poll++) {
      if (options.signal?.aborted) throw new AppError('cancelled', 'The LLM call was cancelled.');
      const admission = await this.reserve(owner, limits, demand);
      if (admission.kind === 'reserved') {
        const { kind: _kind, ...reserved } = admission;
        return reserved;
      }
      if (admission.reason !== told) {
        told = admission.reason;
        options.onWait?.({ reason: admission.reason, message: admission.message });
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new AppError(
          'upstream_unavailable',
          `The LLM call waited ${Math.round((2 * this.options.reservationTtlMs) / 1000)} s for calls in flight to settle. ${admission.message}`,
          { retryable: true },
        );
      }
      const pollMs = Math.min(lastPollMs, firstPollMs * 1.5 ** poll) * (0.75 + Math.random() * 0.5);
      await this.settled(owner.tenantId, Math.min(left, pollMs), options.signal);
    }
  }

  /** Resolves on the next settle of the tenant's calls in this process, after `ms`, or when `signal` aborts. */
  private settled(tenantId: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.waiting.get(tenantId) ?? new Set<() => void>();
      this.waiting.set(tenantId, waiters);
      const wake = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', wake);
        waiters.delete(wake);
        if (waiters.size === 0 && this.waiting.get(tenantId) === waiters) this.waiting.delete(tenantId);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      signal?.addEventListener('abort', wake, { once: true });
      waiters.add(wake);
    });
  }

  /** Replaces a call's holds by its actual usage on both counters. */
  private async giveBack(owner: QuotaOwner, callId: string, used: CallUsage): Promise<void> {
    const now = this.now();
    await this.user(owner, (current) => ({
      state: settleUser(current, callId, used.tokens, now),
      result: undefined,
    }));
    await this.tenant(owner.tenantId, (current) => ({
      state: settleTenant(current, callId, used.microUsd, used.output, now),
      result: undefined,
    }));
  }

  /**
   * Replaces a call's holds by its actual usage (zero for a call that failed unanswered or was cancelled), and
   * wakes this process's calls waiting for the tenant's holds.
   */
  async settle(owner: QuotaOwner, callId: string, used: CallUsage): Promise<void> {
    try {
      await this.giveBack(owner, callId, used);
    } finally {
      for (const wake of [...(this.waiting.get(owner.tenantId) ?? [])]) wake();
    }
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
