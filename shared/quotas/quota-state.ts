import { z } from 'zod';
import { idSegment } from '../adapters/cosmos-store';
import { AppError } from '../errors';
import type { PlanLimits } from '../plans/plan';
import { formatMicroUsd } from '../usage/usage-service';
import { withOutput } from './call-estimates';

/**
 * Quota counters as pure state transitions. The repository reads a counter document, applies one of these
 * functions and writes the result back only if the document is still at the ETag it read (retrying on 412),
 * so simultaneous requests on any number of instances can never both take the last unit. Refusals are
 * thrown as `AppError`s with the contract's 429 codes and the seconds until the limit is expected to lift.
 */

const reservationSchema = z.object({ amount: z.number().int().nonnegative(), expiresAt: z.string() });
const slotSchema = z.object({ jobId: z.string(), at: z.string() });

/** One user's counters (`quotas` container, id `quota-user:<userId>`). Day and minute roll over in UTC. */
export const userQuotaSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('quota-user'),
  userId: z.string(),
  /** `YYYY-MM-DD` (UTC) the day counters belong to. */
  day: z.string(),
  /** Job-creating requests admitted on `day`. */
  requests: z.number().int().nonnegative(),
  /** Tokens settled on `day` (provider-reported usage of finished calls). */
  tokens: z.number().int().nonnegative(),
  /** `YYYY-MM-DDTHH:MM` (UTC) the minute counter belongs to. */
  minute: z.string(),
  minuteRequests: z.number().int().nonnegative(),
  /**
   * Tokens held by LLM calls in flight, by call id. An expired entry belongs to a call whose process died: it
   * holds nothing, and stays until the next reservation reclaims it (counting what the call was recorded to use).
   */
  reservations: z.record(z.string(), reservationSchema),
  /** Jobs holding a run slot, and jobs waiting for one in arrival order. */
  running: z.array(slotSchema),
  queued: z.array(slotSchema),
});
export type UserQuota = z.infer<typeof userQuotaSchema>;

/** One tenant's monthly spend (`quotas` container, id `quota-tenant`). */
export const tenantQuotaSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  type: z.literal('quota-tenant'),
  /** `YYYY-MM` (UTC) the spend belongs to. */
  month: z.string(),
  /** Cost of settled calls this month, in micro-dollars. */
  spentMicroUsd: z.number().int().nonnegative(),
  /** Micro-dollars held by LLM calls in flight, by call id (expired entries as for the user's tokens). */
  reservations: z.record(z.string(), reservationSchema),
  /** Output tokens of the tenant's recent answered calls, by kind of call: what estimates are made from. */
  outputHistory: z.record(z.string(), z.array(z.number().int().nonnegative())).default({}),
  /** What those calls cost, in micro-dollars, by kind: the cost estimate (prompt caching included). */
  costHistory: z.record(z.string(), z.array(z.number().int().nonnegative())).default({}),
});
export type TenantQuota = z.infer<typeof tenantQuotaSchema>;

export const userQuotaId = (userId: string) => `quota-user:${idSegment(userId)}`;
export const tenantQuotaId = 'quota-tenant';

const dayOf = (now: Date) => now.toISOString().slice(0, 10);
const minuteOf = (now: Date) => now.toISOString().slice(0, 16);
const monthOf = (now: Date) => now.toISOString().slice(0, 7);

/** Seconds from `now` until the next UTC midnight (at least 1). */
export function secondsUntilNextDay(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/** Seconds from `now` until the next UTC minute (at least 1). */
export function secondsUntilNextMinute(now: Date): number {
  return Math.max(1, Math.ceil((60_000 - (now.getTime() % 60_000)) / 1000));
}

/** Seconds from `now` until the first instant of next UTC month (at least 1). */
export function secondsUntilNextMonth(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

export function emptyUserQuota(tenantId: string, userId: string, now: Date): UserQuota {
  return {
    id: userQuotaId(userId),
    tenantId,
    type: 'quota-user',
    userId,
    day: dayOf(now),
    requests: 0,
    tokens: 0,
    minute: minuteOf(now),
    minuteRequests: 0,
    reservations: {},
    running: [],
    queued: [],
  };
}

export function emptyTenantQuota(tenantId: string, now: Date): TenantQuota {
  return {
    id: tenantQuotaId,
    tenantId,
    type: 'quota-tenant',
    month: monthOf(now),
    spentMicroUsd: 0,
    reservations: {},
    outputHistory: {},
    costHistory: {},
  };
}

type Holds = UserQuota['reservations'];

/** What the live holds add up to, leaving out `except` (the call asking again). */
function heldSum(reservations: Holds, now: Date, except?: string): number {
  const at = now.toISOString();
  return Object.entries(reservations).reduce(
    (sum, [callId, entry]) => (callId !== except && entry.expiresAt > at ? sum + entry.amount : sum),
    0,
  );
}

/**
 * Holds of calls that are certainly over: expired ones (their process died mid-call) and one held under
 * `callId` itself, left by an earlier run of the same call (a re-run activity asks again only after the
 * process that ran it died).
 */
export function deadHolds(reservations: Holds, callId: string, now: Date): string[] {
  const at = now.toISOString();
  return Object.entries(reservations)
    .filter(([id, entry]) => id === callId || entry.expiresAt <= at)
    .map(([id]) => id);
}

function withoutHolds(reservations: Holds, callIds: readonly string[]): Holds {
  return Object.fromEntries(Object.entries(reservations).filter(([id]) => !callIds.includes(id)));
}

/** The user's counters as of `now`: a new UTC day or minute starts from zero. */
export function rollUser(state: UserQuota, now: Date): UserQuota {
  const day = dayOf(now);
  const minute = minuteOf(now);
  return {
    ...state,
    ...(state.day === day ? {} : { day, requests: 0, tokens: 0 }),
    ...(state.minute === minute ? {} : { minute, minuteRequests: 0 }),
  };
}

/** The tenant's spend as of `now`: a new UTC month starts from zero. */
export function rollTenant(state: TenantQuota, now: Date): TenantQuota {
  const month = monthOf(now);
  return { ...state, ...(state.month === month ? {} : { month, spentMicroUsd: 0 }) };
}

/** Dead holds dropped, and what those calls were recorded to use (a call with no record used nothing). */
function reclaim(reservations: Holds, dead: readonly string[], recorded: ReadonlyMap<string, number>) {
  const used = dead.reduce((sum, callId) => sum + (recorded.get(callId) ?? 0), 0);
  return { used, reservations: withoutHolds(reservations, dead) };
}

/** Drops dead holds (see `deadHolds`), counting the tokens each of those calls was recorded to use today. */
export function reclaimUser(
  state: UserQuota,
  dead: readonly string[],
  recorded: ReadonlyMap<string, number>,
  now: Date,
): UserQuota {
  const current = rollUser(state, now);
  const { used, reservations } = reclaim(current.reservations, dead, recorded);
  return { ...current, tokens: current.tokens + used, reservations };
}

/** The tenant counterpart of `reclaimUser`, in micro-dollars recorded this month. */
export function reclaimTenant(
  state: TenantQuota,
  dead: readonly string[],
  recorded: ReadonlyMap<string, number>,
  now: Date,
): TenantQuota {
  const current = rollTenant(state, now);
  const { used, reservations } = reclaim(current.reservations, dead, recorded);
  return { ...current, spentMicroUsd: current.spentMicroUsd + used, reservations };
}

/** What is left of the user's limits as of `now` (never negative). */
export function userRemaining(state: UserQuota, limits: PlanLimits, now: Date) {
  const current = rollUser(state, now);
  const reserved = heldSum(current.reservations, now);
  return {
    requestsToday: Math.max(0, limits.requestsPerDay - current.requests),
    requestsThisMinute: Math.max(0, limits.requestsPerMinute - current.minuteRequests),
    tokensToday: Math.max(0, limits.tokensPerDay - current.tokens - reserved),
    reservedTokens: reserved,
    runningJobs: current.running.length,
    queuedJobs: current.queued.length,
  };
}

/** What is left of the tenant's monthly budget, in micro-dollars, as of `now`. */
export function tenantRemainingMicroUsd(state: TenantQuota, limits: PlanLimits, now: Date) {
  const current = rollTenant(state, now);
  const reserved = heldSum(current.reservations, now);
  return {
    spentMicroUsd: current.spentMicroUsd,
    reservedMicroUsd: reserved,
    remainingMicroUsd: Math.max(0, budgetMicroUsd(limits) - current.spentMicroUsd - reserved),
  };
}

export function budgetMicroUsd(limits: PlanLimits): number {
  return Math.round(limits.monthlyBudgetUsd * 1_000_000);
}

/** Where an admitted job goes: straight to a run slot, or into the user's queue. */
export type Admission = 'running' | 'queued';

/**
 * Admits one job-creating request: checks requests/minute, requests/day, tokens/day and the run slots, and
 * takes one unit of each. A job already admitted (a retried activity or request) is admitted again as is.
 */
export function admitJob(
  state: UserQuota,
  limits: PlanLimits,
  jobId: string,
  now: Date,
  concurrencyRetryAfterSeconds: number,
  /** Requests the job counts for: one per story (a system-mode job counts each of its stories). */
  requests = 1,
): { state: UserQuota; admission: Admission } {
  const current = rollUser(state, now);
  if (current.running.some((slot) => slot.jobId === jobId)) return { state: current, admission: 'running' };
  if (current.queued.some((slot) => slot.jobId === jobId)) return { state: current, admission: 'queued' };
  if (current.minuteRequests + requests > limits.requestsPerMinute) {
    throw new AppError(
      'rate_limited',
      `At most ${limits.requestsPerMinute} job requests a minute are allowed.`,
      { retryAfterSeconds: secondsUntilNextMinute(now) },
    );
  }
  if (current.requests + requests > limits.requestsPerDay) {
    throw new AppError('quota_exceeded', `The daily limit of ${limits.requestsPerDay} jobs is used up.`, {
      retryAfterSeconds: secondsUntilNextDay(now),
    });
  }
  // Settled tokens only: what calls in flight hold may yet be given back.
  if (current.tokens >= limits.tokensPerDay) {
    throw new AppError('quota_exceeded', `The daily limit of ${limits.tokensPerDay} tokens is used up.`, {
      retryAfterSeconds: secondsUntilNextDay(now),
    });
  }
  const slot = { jobId, at: now.toISOString() };
  let admission: Admission;
  if (current.running.length < limits.maxConcurrentJobs && current.queued.length === 0) {
    admission = 'running';
  } else if (current.queued.length < limits.maxQueuedJobs) {
    admission = 'queued';
  } else {
    throw new AppError(
      'concurrency_limit',
      `${current.running.length} jobs are running and ${current.queued.length} are queued, the most the plan allows.`,
      { retryAfterSeconds: concurrencyRetryAfterSeconds },
    );
  }
  return {
    admission,
    state: {
      ...current,
      requests: current.requests + requests,
      minuteRequests: current.minuteRequests + requests,
      running: admission === 'running' ? [...current.running, slot] : current.running,
      queued: admission === 'queued' ? [...current.queued, slot] : current.queued,
    },
  };
}

/**
 * Gives a queued job a run slot when one is free and it is first in line. A job the counters do not know
 * (admitted while quotas were off) runs without a slot. `undefined` state means: leave the document as it is.
 */
export function acquireSlot(
  state: UserQuota,
  jobId: string,
  maxConcurrentJobs: number,
  now: Date,
): { state: UserQuota | undefined; granted: boolean } {
  if (state.running.some((slot) => slot.jobId === jobId)) return { state: undefined, granted: true };
  const position = state.queued.findIndex((slot) => slot.jobId === jobId);
  if (position === -1) return { state: undefined, granted: true };
  if (position > 0 || state.running.length >= maxConcurrentJobs) return { state: undefined, granted: false };
  return {
    granted: true,
    state: {
      ...state,
      queued: state.queued.filter((slot) => slot.jobId !== jobId),
      running: [...state.running, { jobId, at: now.toISOString() }],
    },
  };
}

/** Frees whatever slot or queue place the job holds; `undefined` when it holds none. */
export function releaseSlot(state: UserQuota, jobId: string): UserQuota | undefined {
  const holds = [...state.running, ...state.queued].some((slot) => slot.jobId === jobId);
  if (!holds) return undefined;
  return {
    ...state,
    running: state.running.filter((slot) => slot.jobId !== jobId),
    queued: state.queued.filter((slot) => slot.jobId !== jobId),
  };
}

/**
 * What one LLM call asks of a counter. The call is sent with some `max_tokens` between what it is expected to
 * use and its request's own `max_tokens`; `ceiling` is the most it can then use, in the counter's unit.
 */
export interface CallNeed {
  callId: string;
  /** Output tokens the call is expected to use: the least `max_tokens` it is ever sent with. */
  expectedOutputTokens: number;
  /** Its request's `max_tokens`: the most it is sent with. */
  maxOutputTokens: number;
  /** The most the call can use when sent with this `max_tokens`; non-decreasing. */
  ceiling: (maxOutputTokens: number) => number;
  /**
   * What the call is expected to use, when calls of its kind have been seen using less than its ceiling at
   * the expected output (a cached prompt costs a tenth of a written one); absent: that ceiling.
   */
  expected?: number;
}

/** Where a call stands against one counter. */
export type CallFit =
  | { kind: 'fits'; maxOutputTokens: number; hold: number }
  /** It would fit if calls in flight gave back what they hold. */
  | { kind: 'waits'; held: number; holders: number }
  /** Settled usage plus its estimate passes the limit: no amount of waiting helps. */
  | { kind: 'refused'; needed: number };

/**
 * The admission rule, the same for tokens and budget. A call is refused only when what is settled plus its
 * estimate passes the limit. Otherwise it holds its ceiling at the largest `max_tokens` (down to its expected
 * output) that fits beside every live hold, or waits for holds to be given back. A call whose ceiling does
 * not fit even with nothing else in flight, though its estimate does, runs alone as the last call, with all
 * of its `max_tokens` (a lower cap would cut its answer short, billed and useless): it holds its ceiling
 * past the limit, which keeps every other call waiting until it settles. So settled usage passes the limit
 * by at most one call's worst case, and only when that call's estimate fitted.
 */
export function fitCall(
  settled: number,
  reservations: Holds,
  limit: number,
  need: CallNeed,
  now: Date,
): CallFit {
  const least = Math.min(need.expectedOutputTokens, need.maxOutputTokens);
  const ceiling = need.ceiling(least);
  const needed = Math.min(need.expected ?? ceiling, ceiling);
  if (settled + needed > limit) return { kind: 'refused', needed };
  const held = heldSum(reservations, now, need.callId);
  const free = limit - settled - held;
  if (ceiling > free) {
    if (held === 0) {
      return {
        kind: 'fits',
        maxOutputTokens: need.maxOutputTokens,
        hold: need.ceiling(need.maxOutputTokens),
      };
    }
    const at = now.toISOString();
    const holders = Object.entries(reservations).filter(
      ([id, entry]) => id !== need.callId && entry.expiresAt > at,
    ).length;
    return { kind: 'waits', held, holders };
  }
  let low = least;
  let high = need.maxOutputTokens;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (need.ceiling(middle) <= free) low = middle;
    else high = middle - 1;
  }
  return { kind: 'fits', maxOutputTokens: low, hold: need.ceiling(low) };
}

/** Where a call stands against one counter, with the counter as it is to be written (`undefined`: leave it). */
export interface Reserved<T> {
  state: T | undefined;
  fit: Exclude<CallFit, { kind: 'refused' }>;
}

function hold(reservations: Holds, callId: string, amount: number, expiresAt: Date): Holds {
  return { ...reservations, [callId]: { amount, expiresAt: expiresAt.toISOString() } };
}

/**
 * Reserves a call's tokens against the user's daily limit (see `fitCall`); throws `quota_exceeded` naming the
 * smallest limit that would let the call run.
 */
export function reserveTokens(
  state: UserQuota,
  limits: PlanLimits,
  need: CallNeed,
  expiresAt: Date,
  now: Date,
): Reserved<UserQuota> {
  const current = rollUser(state, now);
  const fit = fitCall(current.tokens, current.reservations, limits.tokensPerDay, need, now);
  if (fit.kind === 'refused') {
    throw new AppError(
      'quota_exceeded',
      `This call needs up to ${fit.needed} tokens and ${current.tokens} of the daily limit of ${limits.tokensPerDay} are used; it needs a daily limit of at least ${current.tokens + fit.needed}.`,
      {
        retryAfterSeconds: secondsUntilNextDay(now),
        details: { usedTokens: current.tokens, neededTokens: fit.needed, limitTokens: limits.tokensPerDay },
      },
    );
  }
  if (fit.kind === 'waits') return { state: undefined, fit };
  return {
    state: { ...current, reservations: hold(current.reservations, need.callId, fit.hold, expiresAt) },
    fit,
  };
}

/**
 * Reserves a call's cost against the tenant's monthly budget (see `fitCall`); throws `budget_exceeded` naming
 * the smallest budget that would let the call run.
 */
export function reserveBudget(
  state: TenantQuota,
  limits: PlanLimits,
  need: CallNeed,
  expiresAt: Date,
  now: Date,
): Reserved<TenantQuota> {
  const current = rollTenant(state, now);
  const fit = fitCall(current.spentMicroUsd, current.reservations, budgetMicroUsd(limits), need, now);
  if (fit.kind === 'refused') {
    throw new AppError(
      'budget_exceeded',
      `This call is expected to cost $${formatMicroUsd(fit.needed)} and the tenant has spent $${formatMicroUsd(current.spentMicroUsd)} of its monthly budget of $${formatMicroUsd(budgetMicroUsd(limits))}; it needs a budget of at least $${formatMicroUsd(current.spentMicroUsd + fit.needed)}.`,
      {
        retryAfterSeconds: secondsUntilNextMonth(now),
        details: {
          spentMicroUsd: current.spentMicroUsd,
          neededMicroUsd: fit.needed,
          budgetMicroUsd: budgetMicroUsd(limits),
        },
      },
    );
  }
  if (fit.kind === 'waits') return { state: undefined, fit };
  return {
    state: { ...current, reservations: hold(current.reservations, need.callId, fit.hold, expiresAt) },
    fit,
  };
}

/**
 * Replaces a call's hold by what it actually used (0 when it failed unanswered or was cancelled). Usage is
 * counted even when the hold is gone (reclaimed after its expiry), so no answered call goes uncounted.
 */
export function settleUser(
  state: UserQuota,
  callId: string,
  usedTokens: number,
  now: Date,
): UserQuota | undefined {
  if (!state.reservations[callId] && usedTokens === 0) return undefined;
  const current = rollUser(state, now);
  return {
    ...current,
    tokens: current.tokens + usedTokens,
    reservations: withoutHolds(current.reservations, [callId]),
  };
}

/**
 * The tenant counterpart of `settleUser`, in micro-dollars; an answered call's output tokens and cost join
 * the histories of its kind (`output`).
 */
export function settleTenant(
  state: TenantQuota,
  callId: string,
  usedMicroUsd: number,
  output: { key: string; tokens: number } | undefined,
  now: Date,
): TenantQuota | undefined {
  if (!state.reservations[callId] && usedMicroUsd === 0 && !output) return undefined;
  const current = rollTenant(state, now);
  return {
    ...current,
    spentMicroUsd: current.spentMicroUsd + usedMicroUsd,
    reservations: withoutHolds(current.reservations, [callId]),
    ...(output
      ? {
          outputHistory: {
            ...current.outputHistory,
            [output.key]: withOutput(current.outputHistory[output.key], output.tokens),
          },
          costHistory: {
            ...current.costHistory,
            [output.key]: withOutput(current.costHistory[output.key], usedMicroUsd),
          },
        }
      : {}),
  };
}

/**
 * Refuses admission when the tenant's settled spend has used up the month's budget (calls reserve exactly;
 * this is the early no). What calls in flight hold does not count: it may yet be given back.
 */
export function checkBudget(state: TenantQuota, limits: PlanLimits, now: Date): void {
  if (rollTenant(state, now).spentMicroUsd >= budgetMicroUsd(limits)) {
    throw new AppError(
      'budget_exceeded',
      `The tenant's monthly budget of $${limits.monthlyBudgetUsd} is spent.`,
      { retryAfterSeconds: secondsUntilNextMonth(now) },
    );
  }
}
