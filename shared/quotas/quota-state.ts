import { z } from 'zod';
import { idSegment } from '../adapters/cosmos-store';
import { AppError } from '../errors';
import type { PlanLimits } from '../plans/plan';

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
  /** Tokens held by LLM calls in flight, by call id; an expired entry (crashed worker) holds nothing. */
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
  /** Micro-dollars held by LLM calls in flight, by call id. */
  reservations: z.record(z.string(), reservationSchema),
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
  };
}

function liveReservations(reservations: UserQuota['reservations'], now: Date): UserQuota['reservations'] {
  const at = now.toISOString();
  return Object.fromEntries(Object.entries(reservations).filter(([, entry]) => entry.expiresAt > at));
}

function reservedSum(reservations: UserQuota['reservations']): number {
  return Object.values(reservations).reduce((sum, entry) => sum + entry.amount, 0);
}

/** The user's counters as of `now`: a new UTC day or minute starts from zero, expired reservations drop. */
export function rollUser(state: UserQuota, now: Date): UserQuota {
  const day = dayOf(now);
  const minute = minuteOf(now);
  return {
    ...state,
    ...(state.day === day ? {} : { day, requests: 0, tokens: 0 }),
    ...(state.minute === minute ? {} : { minute, minuteRequests: 0 }),
    reservations: liveReservations(state.reservations, now),
  };
}

/** The tenant's spend as of `now`: a new UTC month starts from zero. */
export function rollTenant(state: TenantQuota, now: Date): TenantQuota {
  const month = monthOf(now);
  return {
    ...state,
    ...(state.month === month ? {} : { month, spentMicroUsd: 0 }),
    reservations: liveReservations(state.reservations, now),
  };
}

/** What is left of the user's limits as of `now` (never negative). */
export function userRemaining(state: UserQuota, limits: PlanLimits, now: Date) {
  const current = rollUser(state, now);
  const reserved = reservedSum(current.reservations);
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
  const reserved = reservedSum(current.reservations);
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
  if (current.tokens + reservedSum(current.reservations) >= limits.tokensPerDay) {
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

/** Reserves `tokens` for one LLM call; idempotent per call id; refuses what would pass the daily limit. */
export function reserveTokens(
  state: UserQuota,
  limits: PlanLimits,
  callId: string,
  tokens: number,
  expiresAt: Date,
  now: Date,
): UserQuota | undefined {
  const current = rollUser(state, now);
  if (current.reservations[callId]) return undefined;
  if (current.tokens + reservedSum(current.reservations) + tokens > limits.tokensPerDay) {
    throw new AppError(
      'quota_exceeded',
      `This call needs up to ${tokens} tokens; the daily limit of ${limits.tokensPerDay} would be passed.`,
      { retryAfterSeconds: secondsUntilNextDay(now) },
    );
  }
  return {
    ...current,
    reservations: {
      ...current.reservations,
      [callId]: { amount: tokens, expiresAt: expiresAt.toISOString() },
    },
  };
}

/** Reserves `microUsd` of the tenant's monthly budget for one LLM call; idempotent per call id. */
export function reserveBudget(
  state: TenantQuota,
  limits: PlanLimits,
  callId: string,
  microUsd: number,
  expiresAt: Date,
  now: Date,
): TenantQuota | undefined {
  const current = rollTenant(state, now);
  if (current.reservations[callId]) return undefined;
  if (current.spentMicroUsd + reservedSum(current.reservations) + microUsd > budgetMicroUsd(limits)) {
    throw new AppError(
      'budget_exceeded',
      `The tenant's monthly budget of $${limits.monthlyBudgetUsd} would be passed by this call.`,
      { retryAfterSeconds: secondsUntilNextMonth(now) },
    );
  }
  return {
    ...current,
    reservations: {
      ...current.reservations,
      [callId]: { amount: microUsd, expiresAt: expiresAt.toISOString() },
    },
  };
}

/**
 * Replaces a call's reservation by what it actually used (0 when it failed or was cancelled). Settling a call
 * whose reservation is gone (already settled) changes nothing, so a repeated settle cannot count twice.
 */
export function settleUser(
  state: UserQuota,
  callId: string,
  usedTokens: number,
  now: Date,
): UserQuota | undefined {
  const current = rollUser(state, now);
  if (!state.reservations[callId]) return undefined;
  const { [callId]: _settled, ...rest } = current.reservations;
  return { ...current, tokens: current.tokens + usedTokens, reservations: rest };
}

/** The tenant counterpart of `settleUser`, in micro-dollars. */
export function settleTenant(
  state: TenantQuota,
  callId: string,
  usedMicroUsd: number,
  now: Date,
): TenantQuota | undefined {
  const current = rollTenant(state, now);
  if (!state.reservations[callId]) return undefined;
  const { [callId]: _settled, ...rest } = current.reservations;
  return { ...current, spentMicroUsd: current.spentMicroUsd + usedMicroUsd, reservations: rest };
}

/** Refuses admission when the tenant's month is already spent (calls reserve exactly; this is the early no). */
export function checkBudget(state: TenantQuota, limits: PlanLimits, now: Date): void {
  const { remainingMicroUsd } = tenantRemainingMicroUsd(state, limits, now);
  if (remainingMicroUsd <= 0) {
    throw new AppError(
      'budget_exceeded',
      `The tenant's monthly budget of $${limits.monthlyBudgetUsd} is spent.`,
      { retryAfterSeconds: secondsUntilNextMonth(now) },
    );
  }
}
