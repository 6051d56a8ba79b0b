import { describe, expect, it } from 'vitest';
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
  rollUser,
  secondsUntilNextDay,
  secondsUntilNextMinute,
  secondsUntilNextMonth,
  settleTenant,
  settleUser,
  userQuotaId,
  userRemaining,
  type UserQuota,
} from './quota-state';

const limits: PlanLimits = {
  requestsPerDay: 3,
  tokensPerDay: 1_000,
  maxStoryBytes: 1_000,
  maxIterations: 3,
  maxConcurrentJobs: 1,
  maxQueuedJobs: 2,
  requestsPerMinute: 100,
  monthlyBudgetUsd: 1,
  maxConcurrentStreams: 5,
  maxStoriesPerJob: 5,
};
const now = new Date('2026-11-22T13:45:30.250Z');
const later = new Date('2026-11-22T14:00:00.000Z');
const expires = new Date('2026-11-22T15:00:00.000Z');

function refusal(run: () => unknown): AppError {
  try {
    run();
  } catch (error: unknown) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

function admitAll(count: number, at = now, plan = limits): UserQuota {
  let state = emptyUserQuota('acme', 'alice', at);
  for (let index = 0; index < count; index++) state = admitJob(state, plan, `job-${index}`, at, 30).state;
  return state;
}

describe('UTC windows', () => {
  it('counts seconds to the next UTC minute, day and month, rounding up', () => {
    expect(secondsUntilNextMinute(now)).toBe(30);
    expect(secondsUntilNextDay(now)).toBe(10 * 3600 + 14 * 60 + 30);
    expect(secondsUntilNextMonth(new Date('2026-12-31T23:59:59.500Z'))).toBe(1);
  });

  it('starts a new day and minute from zero but keeps run slots', () => {
    const state = { ...admitAll(1), tokens: 500 };
    const next = rollUser(state, new Date('2026-11-23T00:00:00.000Z'));
    expect(next).toMatchObject({ day: '2026-11-23', requests: 0, tokens: 0, minuteRequests: 0 });
    expect(next.running).toEqual(state.running);
  });
});

describe('admitJob', () => {
  it('runs the first job, queues up to the queue depth, then refuses with concurrency_limit', () => {
    const plan = { ...limits, requestsPerDay: 10 };
    let state = emptyUserQuota('acme', 'alice', now);
    const admissions = [];
    for (const jobId of ['a', 'b', 'c']) {
      const admitted = admitJob(state, plan, jobId, now, 30);
      admissions.push(admitted.admission);
      state = admitted.state;
    }
    expect(admissions).toEqual(['running', 'queued', 'queued']);
    const error = refusal(() => admitJob(state, plan, 'd', now, 30));
    expect(error.code).toBe('concurrency_limit');
    expect(error.retryAfterSeconds).toBe(30);
  });

  it('refuses past requests/day with quota_exceeded until UTC midnight', () => {
    const plan = { ...limits, maxConcurrentJobs: 10 };
    const state = admitAll(3, now, plan);
    const error = refusal(() => admitJob(state, plan, 'x', now, 30));
    expect(error.code).toBe('quota_exceeded');
    expect(error.retryAfterSeconds).toBe(secondsUntilNextDay(now));
    expect(admitJob(state, plan, 'x', new Date('2026-11-23T00:00:01Z'), 30).state.requests).toBe(1);
  });

  it('refuses past requests/minute with rate_limited until the next minute', () => {
    const plan = { ...limits, requestsPerMinute: 2, maxConcurrentJobs: 10 };
    const state = admitAll(2, now, plan);
    const error = refusal(() => admitJob(state, plan, 'x', now, 30));
    expect(error.code).toBe('rate_limited');
    expect(error.retryAfterSeconds).toBe(30);
  });

  it('refuses a new job once the day’s tokens are used up', () => {
    const state = { ...emptyUserQuota('acme', 'alice', now), tokens: 1_000 };
    expect(refusal(() => admitJob(state, limits, 'x', now, 30)).code).toBe('quota_exceeded');
  });

  it('counts a backlog job as one request per story, and refuses one whose stories pass the daily limit', () => {
    const plan = { ...limits, requestsPerDay: 5 };
    const state = admitJob(emptyUserQuota('acme', 'alice', now), plan, 'backlog', now, 30, 3).state;
    expect({ requests: state.requests, minute: state.minuteRequests }).toEqual({ requests: 3, minute: 3 });
    expect(refusal(() => admitJob(state, plan, 'another', now, 30, 3)).code).toBe('quota_exceeded');
    expect(admitJob(state, plan, 'another', now, 30, 2).state.requests).toBe(5);
  });

  it('admits the same job again without counting it twice', () => {
    const state = admitAll(1);
    const again = admitJob(state, limits, 'job-0', now, 30);
    expect(again.admission).toBe('running');
    expect(again.state.requests).toBe(1);
  });
});

describe('run slots', () => {
  it('hands a freed slot to the first queued job only', () => {
    let state = admitAll(3, now, { ...limits, requestsPerDay: 10 });
    expect(acquireSlot(state, 'job-1', 1, now).granted).toBe(false);
    state = releaseSlot(state, 'job-0') ?? state;
    expect(acquireSlot(state, 'job-2', 1, now).granted).toBe(false);
    const acquired = acquireSlot(state, 'job-1', 1, now);
    expect(acquired.granted).toBe(true);
    expect(acquired.state?.running.map((slot) => slot.jobId)).toEqual(['job-1']);
    expect(acquired.state?.queued.map((slot) => slot.jobId)).toEqual(['job-2']);
  });

  it('lets a job the counters do not know run, and releasing it twice changes nothing', () => {
    const state = admitAll(1);
    expect(acquireSlot(state, 'unknown', 1, now)).toEqual({ state: undefined, granted: true });
    const released = releaseSlot(state, 'job-0');
    expect(released?.running).toEqual([]);
    expect(released && releaseSlot(released, 'job-0')).toBeUndefined();
  });
});

describe('token reservations', () => {
  it('reserves up to the daily limit exactly and refuses the call that would pass it', () => {
    let state = emptyUserQuota('acme', 'alice', now);
    state = reserveTokens(state, limits, 'call-1', 600, expires, now) ?? state;
    state = reserveTokens(state, limits, 'call-2', 400, expires, now) ?? state;
    expect(userRemaining(state, limits, now).tokensToday).toBe(0);
    expect(refusal(() => reserveTokens(state, limits, 'call-3', 1, expires, now)).code).toBe(
      'quota_exceeded',
    );
  });

  it('settles to actual usage once: a second settle of the same call changes nothing', () => {
    let state = reserveTokens(emptyUserQuota('acme', 'alice', now), limits, 'call', 900, expires, now);
    if (!state) throw new Error('expected a reservation');
    state = settleUser(state, 'call', 250, later) ?? state;
    expect(state.tokens).toBe(250);
    expect(state.reservations).toEqual({});
    expect(settleUser(state, 'call', 250, later)).toBeUndefined();
    expect(userRemaining(state, limits, later).tokensToday).toBe(750);
  });

  it('releases everything when a failed or cancelled call settles to zero', () => {
    const state = reserveTokens(emptyUserQuota('acme', 'alice', now), limits, 'call', 900, expires, now);
    if (!state) throw new Error('expected a reservation');
    const settled = settleUser(state, 'call', 0, later);
    expect(settled && userRemaining(settled, limits, later).tokensToday).toBe(1_000);
  });

  it('treats an expired reservation (a crashed worker) as released', () => {
    const state = reserveTokens(emptyUserQuota('acme', 'alice', now), limits, 'call', 900, later, now);
    if (!state) throw new Error('expected a reservation');
    expect(userRemaining(state, limits, now).tokensToday).toBe(100);
    expect(userRemaining(state, limits, new Date(later.getTime() + 1)).tokensToday).toBe(1_000);
  });

  it('is idempotent per call id', () => {
    const state = reserveTokens(emptyUserQuota('acme', 'alice', now), limits, 'call', 900, expires, now);
    expect(state && reserveTokens(state, limits, 'call', 900, expires, now)).toBeUndefined();
  });
});

describe('tenant budget', () => {
  it('reserves micro-dollars up to the budget and refuses the call that would pass it', () => {
    let state = emptyTenantQuota('acme', now);
    state = reserveBudget(state, limits, 'call-1', 999_999, expires, now) ?? state;
    const error = refusal(() => reserveBudget(state, limits, 'call-2', 2, expires, now));
    expect(error.code).toBe('budget_exceeded');
    expect(error.retryAfterSeconds).toBe(secondsUntilNextMonth(now));
    state = settleTenant(state, 'call-1', 1_000_000, later) ?? state;
    expect(state.spentMicroUsd).toBe(1_000_000);
    expect(refusal(() => checkBudget(state, limits, later)).code).toBe('budget_exceeded');
  });

  it('starts a new UTC month from zero', () => {
    const spent = { ...emptyTenantQuota('acme', now), spentMicroUsd: 1_000_000 };
    expect(() => checkBudget(spent, limits, new Date('2026-12-01T00:00:00Z'))).not.toThrow();
  });
});

describe('quota document ids', () => {
  it('keeps ids of plain user ids and encodes the characters Cosmos ids may not hold, without collisions', () => {
    expect(userQuotaId('alice@acme.test')).toBe('quota-user:alice@acme.test');
    expect(userQuotaId('github:octo-org/app')).toBe('quota-user:github:octo-org%2Fapp');
    expect(userQuotaId('a?b#c\\d')).toBe('quota-user:a%3Fb%23c%5Cd');
    expect(userQuotaId('x%2Fy')).not.toBe(userQuotaId('x/y'));
  });
});
