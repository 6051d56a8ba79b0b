import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessagesApiServer } from '../../local/messages-api/server';
import {
  billedSince,
  budgetNeededByNextCall,
  quotaCounters,
  refusalFigures,
  runConcurrentJobs,
  runOneJob,
  startPricedService,
  tenantOnPlan,
  type ConcurrentRun,
  type PricedService,
} from '../support/budget-runs';
import { client, finished, waitForJob, type Client, type ServiceUnderTest } from '../support/service';
import { formatMicroUsd } from '../../shared/usage/usage-service';

/**
 * Budgets and token quotas under concurrency, end to end through the Anthropic adapter and the local Messages
 * API: calls kept out by calls in flight wait instead of failing, refusals happen only when settled usage plus
 * the call's estimate passes the limit, and what the provider bills never passes the limit. Each scenario
 * has its own tenant (so its own estimates history) on a plan made for it.
 */
let messages: MessagesApiServer;
let service: ServiceUnderTest;
let admin: Client;
const job = {
  story:
    'As a patient, I want to book an appointment with my doctor online so that I do not have to phone the practice.',
  mode: 'workflow',
  iterations: ['user-roles', 'validation', 'security'],
};

async function userOf(tenantId: string): Promise<Client> {
  return client(service.url, await service.token({ sub: `user-of-${tenantId}`, tenantId }));
}

let priced: PricedService | undefined;

beforeAll(async () => {
  priced = await startPricedService({ baseMs: 200 });
  ({ messages, service, admin } = priced);
}, 120_000);

afterAll(async () => {
  await priced?.stop();
});

describe('calls held out by calls in flight wait', () => {
  it('completes 20 concurrent jobs whose real cost is below the budget, some of them after waiting', async () => {
    const budget = 500_000;
    await tenantOnPlan(admin, 'roomy-enough', { monthlyBudgetUsd: budget / 1_000_000 });
    const api = await userOf('roomy-enough');
    const from = messages.stats.received.length;
    const run = await runConcurrentJobs(api, 20, job);

    expect(run.jobs.map((each) => each.status)).toEqual(run.jobs.map(() => 'completed'));
    expect(run.waited).toBeGreaterThan(0);
    // Each wait says which limit held the call out, and why, as an `iteration:waiting` event.
    for (const wait of run.waits) {
      expect(job.iterations).toContain(wait.iteration);
      expect(wait.reason).toBe('budget');
      expect(wait.message).toMatch(/^Waiting for \d+ LLM calls in flight to settle: they hold \$\d+\.\d+ of/);
    }
    const billed = billedSince(messages, from);
    // Every call sent was answered: the iterations, consolidation and the judge of each job, none refused.
    expect(billed.answered).toHaveLength(messages.stats.received.length - from);
    expect(billed.answered.length).toBeGreaterThanOrEqual(20 * (job.iterations.length + 2));
    expect(billed.microUsd).toBeLessThan(budget);
    const counters = await quotaCounters(api);
    expect(counters).toMatchObject({ heldMicroUsd: 0, heldTokens: 0 });
    // Exact both ways: the counters, the usage records and the provider's bill agree to the micro-dollar.
    expect(counters.settledMicroUsd).toBe(billed.microUsd);
    expect(counters.recordedMicroUsd).toBe(billed.microUsd);
    expect(run.jobs.reduce((sum, each) => sum + each.usage.costMicroUsd, 0)).toBe(billed.microUsd);
  }, 400_000);
});

/**
 * Every refused job failed with `code`, at a moment when settled usage plus the call's estimate passed
 * `limit`; the provider's bill (`billed`) came within one estimate of the limit and passed it by no more
 * than `beyond`.
 */
function expectRefusalsOnlyAtTheLimit(
  run: ConcurrentRun,
  code: string,
  limit: number,
  billed: number,
  beyond = 0,
): void {
  const refused = run.jobs.filter((each) => each.status === 'failed');
  expect(refused.length).toBeGreaterThan(0);
  const needed = refused.map((each) => {
    expect(each.error?.code).toBe(code);
    const figures = each.error && refusalFigures(each.error);
    expect(figures?.limit).toBe(limit);
    expect((figures?.settled ?? 0) + (figures?.needed ?? 0)).toBeGreaterThan(limit);
    return figures?.needed ?? 0;
  });
  expect(billed).toBeLessThanOrEqual(limit + beyond);
  expect(billed).toBeGreaterThan(limit - Math.max(...needed));
}

describe('limits below the total', () => {
  it('lets the bill pass the budget by one call at most, and refuses only calls whose estimate no longer fits beside settled spend', async () => {
    // A first job gives the tenant a history, so estimates are realistic; then ten cost some $0.15.
    await tenantOnPlan(admin, 'tight-budget', {});
    const api = await userOf('tight-budget');
    const from = messages.stats.received.length;
    expect((await runConcurrentJobs(api, 1, job)).jobs[0]?.status).toBe('completed');
    const budget = (await quotaCounters(api)).settledMicroUsd + 80_000;
    await tenantOnPlan(
      admin,
      'tight-budget',
      { monthlyBudgetUsd: budget / 1_000_000 },
      'plan-tight-budget-80k',
    );
    const run = await runConcurrentJobs(api, 10, job);
    expect(run.jobs.some((each) => each.status === 'completed')).toBe(true);

    const billed = billedSince(messages, from);
    // The last call may run alone although its ceiling passes what is left: by at most what it cost.
    expectRefusalsOnlyAtTheLimit(run, 'budget_exceeded', budget, billed.microUsd, billed.dearestCallMicroUsd);
    const counters = await quotaCounters(api);
    expect(counters).toMatchObject({ heldMicroUsd: 0, heldTokens: 0 });
    expect(counters.settledMicroUsd).toBe(billed.microUsd);
    expect(counters.recordedMicroUsd).toBe(billed.microUsd);
  }, 400_000);

  it('never lets the tokens billed pass tokens/day, and refuses only calls whose estimate no longer fits', async () => {
    const tokensPerDay = 40_000;
    await tenantOnPlan(admin, 'tight-tokens', { tokensPerDay });
    const api = await userOf('tight-tokens');
    const from = messages.stats.received.length;
    const run = await runConcurrentJobs(api, 10, job);

    const billed = billedSince(messages, from);
    expectRefusalsOnlyAtTheLimit(run, 'quota_exceeded', tokensPerDay, billed.tokens);
    const counters = await quotaCounters(api);
    expect(counters).toMatchObject({ heldMicroUsd: 0, heldTokens: 0 });
    expect(counters.settledTokens).toBe(billed.tokens);
    expect(counters.recordedTokens).toBe(billed.tokens);
  }, 400_000);
});

describe('budgets smaller than one call’s worst case', () => {
  it('refuses a call without history naming the smallest budget that works, and runs one with history at a lower max_tokens, down to its expected cost', async () => {
    // One call a job: the validation iteration, without consolidation and judge.
    const oneCall = { ...job, iterations: ['validation'], options: { review: false } };
    const fresh = await userOf('tiny-fresh');
    await tenantOnPlan(admin, 'tiny-fresh', { monthlyBudgetUsd: 0.03 });
    const sentBefore = messages.stats.received.length;
    const refused = await runOneJob(fresh, oneCall);
    expect(messages.stats.received.length).toBe(sentBefore);
    expect(refused.error.code).toBe('budget_exceeded');
    // Without history the call is expected to use all of its max_tokens: that worst case is what it needs.
    const worstCase = refusalFigures(refused.error)?.needed ?? 0;
    expect(worstCase).toBeGreaterThan(30_000);
    expect(refused.error.message).toContain(`it needs a budget of at least $${formatMicroUsd(worstCase)}.`);
    expect((await quotaCounters(fresh)).settledMicroUsd).toBe(0);

    // Three calls of the same kind make a history; then a budget below one call's worst case still fits one.
    const api = await userOf('tiny-known');
    const from = messages.stats.received.length;
    const warmed = await runConcurrentJobs(api, 3, oneCall);
    expect(warmed.jobs.map((each) => each.status)).toEqual(['completed', 'completed', 'completed']);
    const fullMaxTokens = messages.stats.received[from]?.params.max_tokens ?? 0;
    const spent = (await quotaCounters(api)).settledMicroUsd;
    // $0.01 short of the worst case: max_tokens must come down by about 670 tokens at Sonnet's output price.
    const budget = spent + worstCase - 10_000;
    await tenantOnPlan(
      admin,
      'tiny-known',
      { monthlyBudgetUsd: budget / 1_000_000 },
      'plan-tiny-known-small',
    );
    const before = messages.stats.received.length;
    expect((await runOneJob(api, oneCall)).status).toBe('completed');
    const sent = messages.stats.received.slice(before);
    expect(sent).toHaveLength(1);
    const lowered = sent[0]?.params.max_tokens ?? 0;
    expect(lowered).toBeLessThan(fullMaxTokens);
    expect((await quotaCounters(api)).settledMicroUsd).toBeLessThanOrEqual(budget);

    // A budget that fits only the call's expected cost (learnt from what such calls cost) still runs it, alone
    // and with all of its max_tokens; the refusal of a spent budget names that expected cost.
    const spentNow = (await quotaCounters(api)).settledMicroUsd;
    const expectedCost = await budgetNeededByNextCall(
      admin,
      api,
      'tiny-known',
      oneCall,
      'plan-tiny-known-spent',
    );
    expect(expectedCost).toBeLessThan(worstCase);
    const tightest = spentNow + expectedCost;
    await tenantOnPlan(
      admin,
      'tiny-known',
      { monthlyBudgetUsd: tightest / 1_000_000 },
      'plan-tiny-known-tightest',
    );
    const alone = messages.stats.received.length;
    expect((await runOneJob(api, oneCall)).status).toBe('completed');
    const lastSent = billedSince(messages, alone);
    expect(lastSent.answered).toHaveLength(1);
    expect(lastSent.answered[0]?.params.max_tokens).toBe(fullMaxTokens);
    expect((await quotaCounters(api)).settledMicroUsd).toBeLessThanOrEqual(tightest + lastSent.microUsd);
  }, 200_000);
});

describe('cancel while a call waits', () => {
  it('stops the waiting call when its job is cancelled: never sent, nothing held, the wait no longer shown', async () => {
    const oneCall = { ...job, iterations: ['validation'], options: { review: false } };
    const api = await userOf('cancel-waiting');
    // Without history a call holds its worst case; a budget of one and a half of those lets one call in at a time.
    const worstCase = await budgetNeededByNextCall(
      admin,
      api,
      'cancel-waiting',
      oneCall,
      'plan-cancel-waiting-probe',
    );
    await tenantOnPlan(admin, 'cancel-waiting', { monthlyBudgetUsd: (1.5 * worstCase) / 1_000_000 });

    const from = messages.stats.received.length;
    messages.injectFaults({ kind: 'slow', delayMs: 60_000 });
    const inFlight = String((await api.post('/api/v1/jobs', oneCall)).json.id);
    await waitForJob(api, inFlight, (current) => current.status === 'running', 30_000);
    let held = 0;
    for (let attempt = 0; attempt < 100 && held === 0; attempt++) {
      held = (await quotaCounters(api)).heldMicroUsd;
      if (held === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(held).toBe(worstCase);
    const waiter = String((await api.post('/api/v1/jobs', oneCall)).json.id);
    const waiting = await waitForJob(
      api,
      waiter,
      (current) => (current.progress.waiting ?? []).length > 0,
      30_000,
    );
    expect(waiting.progress.waiting).toEqual([
      expect.objectContaining({ iteration: 'validation', reason: 'budget' }),
    ]);

    expect((await api.delete(`/api/v1/jobs/${waiter}`)).status).toBe(202);
    const cancelled = await waitForJob(api, waiter, finished, 30_000);
    expect(cancelled.status).toBe('cancelled');
    // The waiting call holds nothing: only the call in flight still does.
    expect((await quotaCounters(api)).heldMicroUsd).toBe(worstCase);
    const shown = await waitForJob(api, waiter, (current) => current.progress.waiting === undefined, 10_000);
    expect(shown.status).toBe('cancelled');

    expect((await api.delete(`/api/v1/jobs/${inFlight}`)).status).toBe(202);
    expect((await waitForJob(api, inFlight, finished, 30_000)).status).toBe('cancelled');
    let counters = await quotaCounters(api);
    for (let attempt = 0; attempt < 60 && counters.heldMicroUsd !== 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      counters = await quotaCounters(api);
    }
    expect(counters).toMatchObject({ heldMicroUsd: 0, heldTokens: 0, settledMicroUsd: 0 });
    // The provider saw at most the call in flight (its answer cut short by the cancel), never the waiting one.
    const sent = messages.stats.received.slice(from);
    expect(sent.length).toBeLessThanOrEqual(1);
    expect(sent.filter((request) => request.status === 200)).toHaveLength(0);
  }, 200_000);
});

describe('crash while calls wait', () => {
  it('loses no job and no reservation when the host is killed while calls wait', async () => {
    const budget = 200_000;
    await tenantOnPlan(admin, 'crashing', { monthlyBudgetUsd: budget / 1_000_000 });
    const token = await service.token({ sub: 'dan', tenantId: 'crashing' });
    const api = client(service.url, token);
    const from = messages.stats.received.length;
    const created = await Promise.all(Array.from({ length: 10 }, () => api.post('/api/v1/jobs', job)));
    const jobIds = created.map((response) => String(response.json.id));
    let waiting: unknown[] = [];
    for (let attempt = 0; attempt < 600 && waiting.length === 0; attempt++) {
      const views = await Promise.all(jobIds.map(async (id) => (await api.get(`/api/v1/jobs/${id}`)).json));
      waiting = views.flatMap((view) => view.progress?.waiting ?? []);
      if (waiting.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A waiting call shows in its job's progress: which iteration, on which limit, why, and since when.
    expect(waiting.length).toBeGreaterThan(0);
    for (const wait of waiting) {
      expect(wait).toEqual({
        iteration: expect.toBeOneOf(job.iterations),
        reason: 'budget',
        message: expect.stringMatching(/^Waiting for \d+ LLM calls in flight to settle/),
        since: expect.any(String),
      });
    }
    await service.restartHost({ kill: true });

    const after = client(service.url, token);
    const jobs = [];
    for (const jobId of jobIds) jobs.push(await waitForJob(after, jobId, finished, 300_000));
    expect(jobs.map((each) => each.status)).toEqual(jobIds.map(() => 'completed'));
    expect(jobs.every((each) => each.progress.waiting === undefined)).toBe(true);

    const counters = await quotaCounters(after);
    // Holds of calls killed mid-flight were reclaimed when their re-runs asked again.
    expect(counters).toMatchObject({ heldMicroUsd: 0, heldTokens: 0 });
    const billed = billedSince(messages, from);
    expect(billed.microUsd).toBeLessThanOrEqual(budget);
    // A call killed after its answer was recorded counts as well as its re-run (both were billed); the
    // records keep one call per id.
    expect(counters.settledMicroUsd).toBeGreaterThanOrEqual(counters.recordedMicroUsd);
    expect(counters.settledMicroUsd).toBeLessThanOrEqual(billed.microUsd);
    expect(jobs.reduce((sum, each) => sum + each.usage.costMicroUsd, 0)).toBe(counters.recordedMicroUsd);
  }, 400_000);
});
