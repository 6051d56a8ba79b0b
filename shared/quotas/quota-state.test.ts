import { describe, expect, it } from 'vitest';
import { AppError } from '../errors';
import type { PlanLimits } from '../plans/plan';
import {
  acquireSlot,
  admitJob,
  checkBudget,
  deadHolds,
  emptyTenantQuota,
  fitCall,
  emptyUserQuota,
  reclaimTenant,
  reclaimUser,
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
  type CallNeed,
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

/** A call whose ceiling is `prompt` plus its max_tokens (the token counter's unit). */
function tokenNeed(callId: string, prompt: number, expected: number, max: number): CallNeed {
  return {
    callId,
    expectedOutputTokens: expected,
    maxOutputTokens: max,
    ceiling: (outputTokens) => prompt + outputTokens,
  };
}

function reserved<T>(outcome: { state: T | undefined; fit: { kind: string } }): T {
  if (outcome.fit.kind !== 'fits' || !outcome.state)
    throw new Error(`expected a reservation, got ${outcome.fit.kind}`);
  return outcome.state;
}

/** Alice's counter holding 900 tokens (100 of prompt, 800 of output) for one call. */
function aliceHolding(callId: string, expiresAt = expires): UserQuota {
  return reserved(
    reserveTokens(
      emptyUserQuota('acme', 'alice', now),
      limits,
      tokenNeed(callId, 100, 800, 800),
      expiresAt,
      now,
    ),
  );
}

describe('fitCall', () => {
  const need = tokenNeed('call', 100, 200, 900);

  it('holds the full ceiling when it fits beside the live holds', () => {
    expect(fitCall(0, {}, 1_000, need, now)).toEqual({ kind: 'fits', maxOutputTokens: 900, hold: 1_000 });
  });

  it('lowers max_tokens to the largest that fits, down to the expected output', () => {
    const holds = { other: { amount: 500, expiresAt: expires.toISOString() } };
    expect(fitCall(0, holds, 1_000, need, now)).toEqual({ kind: 'fits', maxOutputTokens: 400, hold: 500 });
  });

  it('waits when only holds of calls in flight keep it out', () => {
    const holds = { other: { amount: 800, expiresAt: expires.toISOString() } };
    expect(fitCall(0, holds, 1_000, need, now)).toEqual({ kind: 'waits', held: 800, holders: 1 });
  });

  it('refuses only when settled usage plus the estimate passes the limit', () => {
    expect(fitCall(700, {}, 1_000, need, now)).toEqual({ kind: 'fits', maxOutputTokens: 200, hold: 300 });
    expect(fitCall(701, {}, 1_000, need, now)).toEqual({ kind: 'refused', needed: 300 });
  });

  it('ignores expired holds and the call’s own earlier hold', () => {
    const holds = {
      dead: { amount: 900, expiresAt: later.toISOString() },
      call: { amount: 900, expiresAt: expires.toISOString() },
    };
    const after = new Date(later.getTime() + 1);
    expect(fitCall(0, holds, 1_000, need, after)).toMatchObject({ kind: 'fits', maxOutputTokens: 900 });
  });

  it('runs a call whose estimate fits but whose ceiling does not alone, as the last call, with all its max_tokens', () => {
    const cached = { ...need, expected: 150 };
    expect(fitCall(800, {}, 1_000, cached, now)).toEqual({ kind: 'fits', maxOutputTokens: 900, hold: 1_000 });
    const holds = { other: { amount: 100, expiresAt: expires.toISOString() } };
    expect(fitCall(700, holds, 1_000, cached, now)).toEqual({ kind: 'waits', held: 100, holders: 1 });
    expect(fitCall(851, {}, 1_000, cached, now)).toEqual({ kind: 'refused', needed: 150 });
    // An estimate above the ceiling counts as the ceiling.
    expect(fitCall(700, {}, 1_000, { ...need, expected: 5_000 }, now)).toMatchObject({ kind: 'fits' });
  });

  it('keeps settled usage within the limit, or past it by one call alone, whatever calls in flight do (random schedules)', () => {
    // Every call in flight holds the most it can use. Without an estimate below that ceiling, settled usage
    // never passes the limit; with one, only a call running alone can take it past, by at most its ceiling.
    let seed = 17;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    let pastTheLimit = 0;
    for (let run = 0; run < 200; run++) {
      const estimated = run % 2 === 1;
      const limit = 500 + Math.floor(random() * 20_000);
      let settled = 0;
      let holds: Record<string, { amount: number; expiresAt: string }> = {};
      const inFlight = new Map<string, { prompt: number; maxOutputTokens: number }>();
      let refusedWhileFitting = 0;
      let largestCeiling = 0;
      for (let step = 0; step < 300; step++) {
        const settleOne = random() < 0.45 && inFlight.size > 0;
        if (settleOne) {
          const [callId, call] = [...inFlight.entries()][Math.floor(random() * inFlight.size)] ?? [];
          if (!callId || !call) continue;
          // Anything up to what it was allowed: its prompt plus at most its max_tokens.
          settled += call.prompt + Math.floor(random() * (call.maxOutputTokens + 1));
          const { [callId]: _gone, ...rest } = holds;
          holds = rest;
          inFlight.delete(callId);
        } else {
          const callId = `call-${step}`;
          const prompt = 1 + Math.floor(random() * 300);
          const max = 1 + Math.floor(random() * 4_000);
          const expectedOutput = 1 + Math.floor(random() * max);
          const ceilingNeed = tokenNeed(callId, prompt, expectedOutput, max);
          const estimate = estimated
            ? Math.floor(random() * (prompt + expectedOutput))
            : prompt + expectedOutput;
          const callNeed = estimated ? { ...ceilingNeed, expected: estimate } : ceilingNeed;
          const fit = fitCall(settled, holds, limit, callNeed, now);
          if (fit.kind === 'refused' && settled + estimate <= limit) refusedWhileFitting++;
          if (fit.kind === 'fits') {
            holds = { ...holds, [callId]: { amount: fit.hold, expiresAt: expires.toISOString() } };
            inFlight.set(callId, { prompt, maxOutputTokens: fit.maxOutputTokens });
            largestCeiling = Math.max(largestCeiling, fit.hold);
          }
        }
        const held = Object.values(holds).reduce((sum, entry) => sum + entry.amount, 0);
        if (!estimated) expect(settled + held).toBeLessThanOrEqual(limit);
        // Holds past the limit belong to one call alone.
        if (held > 0 && settled + held > limit) expect(inFlight.size).toBe(1);
        expect(settled).toBeLessThanOrEqual(limit + largestCeiling);
      }
      expect(refusedWhileFitting).toBe(0);
      if (settled > limit) pastTheLimit++;
    }
    // The schedules do reach the case the rule is about.
    expect(pastTheLimit).toBeGreaterThan(0);
  });
});

describe('token reservations', () => {
  it('reserves up to the daily limit exactly, then makes the next call wait rather than refusing it', () => {
    let state = emptyUserQuota('acme', 'alice', now);
    state = reserved(reserveTokens(state, limits, tokenNeed('call-1', 100, 500, 500), expires, now));
    state = reserved(reserveTokens(state, limits, tokenNeed('call-2', 100, 300, 300), expires, now));
    expect(userRemaining(state, limits, now)).toMatchObject({ tokensToday: 0, reservedTokens: 1_000 });
    expect(reserveTokens(state, limits, tokenNeed('call-3', 1, 1, 1), expires, now)).toEqual({
      state: undefined,
      fit: { kind: 'waits', held: 1_000, holders: 2 },
    });
  });

  it('refuses with quota_exceeded naming the smallest limit that would let the call run', () => {
    const state = { ...emptyUserQuota('acme', 'alice', now), tokens: 800 };
    const error = refusal(() => reserveTokens(state, limits, tokenNeed('call', 100, 150, 900), expires, now));
    expect(error.code).toBe('quota_exceeded');
    expect(error.message).toContain('at least 1050');
    expect(error.retryAfterSeconds).toBe(secondsUntilNextDay(now));
  });

  it('settles to actual usage, and counts usage even when the hold was already reclaimed', () => {
    let state = aliceHolding('call');
    state = settleUser(state, 'call', 250, later) ?? state;
    expect(state.tokens).toBe(250);
    expect(state.reservations).toEqual({});
    expect(settleUser(state, 'call', 0, later)).toBeUndefined();
    state = settleUser(state, 'late', 50, later) ?? state;
    expect(userRemaining(state, limits, later).tokensToday).toBe(700);
  });

  it('releases everything when a failed or cancelled call settles to zero', () => {
    const state = aliceHolding('call');
    const settled = settleUser(state, 'call', 0, later);
    expect(settled && userRemaining(settled, limits, later).tokensToday).toBe(1_000);
  });

  it('treats an expired hold (its process died) as holding nothing, and reclaims it with its recorded usage', () => {
    let state = aliceHolding('dead', later);
    state = reserved(reserveTokens(state, limits, tokenNeed('live', 10, 40, 40), expires, now));
    expect(userRemaining(state, limits, now).tokensToday).toBe(50);
    const after = new Date(later.getTime() + 1);
    expect(userRemaining(state, limits, after).tokensToday).toBe(950);
    expect(deadHolds(state.reservations, 'next', after)).toEqual(['dead']);
    const reclaimed = reclaimUser(state, ['dead'], new Map([['dead', 320]]), after);
    expect(reclaimed.tokens).toBe(320);
    expect(Object.keys(reclaimed.reservations)).toEqual(['live']);
  });

  it('replaces the hold an earlier run of the same call left behind', () => {
    const state = aliceHolding('call');
    expect(deadHolds(state.reservations, 'call', now)).toEqual(['call']);
    const again = reserved(reserveTokens(state, limits, tokenNeed('call', 100, 800, 800), expires, now));
    expect(userRemaining(again, limits, now)).toMatchObject({ reservedTokens: 900, tokensToday: 100 });
  });
});

describe('tenant budget', () => {
  const budgetNeed = (callId: string, microUsd: number): CallNeed => ({
    callId,
    expectedOutputTokens: 1,
    maxOutputTokens: 1,
    ceiling: () => microUsd,
  });

  it('reserves micro-dollars up to the budget, makes the next call wait, and refuses on settled spend only', () => {
    let state = emptyTenantQuota('acme', now);
    state = reserved(reserveBudget(state, limits, budgetNeed('call-1', 999_999), expires, now));
    expect(reserveBudget(state, limits, budgetNeed('call-2', 2), expires, now).fit.kind).toBe('waits');
    state = settleTenant(state, 'call-1', 999_999, { key: 'kind', tokens: 10 }, later) ?? state;
    const error = refusal(() => reserveBudget(state, limits, budgetNeed('call-2', 2), expires, later));
    expect(error.code).toBe('budget_exceeded');
    expect(error.message).toContain('at least $1.000001');
    expect(error.retryAfterSeconds).toBe(secondsUntilNextMonth(later));
    expect(state.outputHistory).toEqual({ kind: [10] });
    expect(state.costHistory).toEqual({ kind: [999_999] });
    state = settleTenant(state, 'late', 1, undefined, later) ?? state;
    expect(state.spentMicroUsd).toBe(1_000_000);
    expect(refusal(() => checkBudget(state, limits, later)).code).toBe('budget_exceeded');
  });

  it('admits new jobs while calls in flight hold the whole budget: only settled spend counts', () => {
    const state = reserved(
      reserveBudget(emptyTenantQuota('acme', now), limits, budgetNeed('c', 1_000_000), expires, now),
    );
    expect(() => checkBudget(state, limits, now)).not.toThrow();
  });

  it('reclaims a dead call’s hold with what it was recorded to cost', () => {
    const state = reserved(
      reserveBudget(emptyTenantQuota('acme', now), limits, budgetNeed('dead', 400_000), later, now),
    );
    const reclaimed = reclaimTenant(
      state,
      ['dead'],
      new Map([['dead', 1_234]]),
      new Date(later.getTime() + 1),
    );
    expect(reclaimed).toMatchObject({ spentMicroUsd: 1_234, reservations: {} });
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
