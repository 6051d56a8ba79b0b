import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessagesApiServer } from '../../local/messages-api/server';
import type { PlanLimits } from '../../shared/plans/plan';
import {
  billedSince,
  budgetNeededByNextCall,
  startPricedService,
  tenantOnPlan as onPlan,
  type PricedService,
} from '../support/budget-runs';
import { startHost } from '../support/local-services';
import { client, finished, waitForJob, type Client, type ServiceUnderTest } from '../support/service';

/**
 * Plans, quotas and budgets end to end, through the Anthropic SDK path (the local Messages API server), so
 * every call has a price. Each scenario uses its own tenant on a plan made for it through the admin routes.
 */
let messages: MessagesApiServer;
let service: ServiceUnderTest;
let admin: Client;
const story =
  'As a patient, I want to book an appointment with my doctor online so that I do not have to phone the practice.';
const month = new Date().toISOString().slice(0, 7);

/** Creates a plan with `limits` (over the roomy defaults) and moves `tenantId` onto it. */
const tenantOnPlan = (tenantId: string, limits: Partial<PlanLimits>, planId?: string) =>
  onPlan(admin, tenantId, limits, planId);

async function userClient(sub: string, tenantId: string): Promise<Client> {
  return client(service.url, await service.token({ sub, tenantId }));
}

async function exportedRecords(): Promise<{ tenantId: string; jobId: string; costMicroUsd: number }[]> {
  const response = await admin.get(`/api/v1/admin/usage/export?month=${month}&format=jsonl`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('application/x-ndjson');
  const text = typeof response.json === 'string' ? response.json : JSON.stringify(response.json);
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { tenantId: string; jobId: string; costMicroUsd: number });
}

let priced: PricedService | undefined;

beforeAll(async () => {
  priced = await startPricedService({ baseMs: 100, env: { QUEUE_POLL_SECONDS: '1' } });
  ({ messages, service, admin } = priced);
}, 120_000);

afterAll(async () => {
  await priced?.stop();
});

describe('plan administration', () => {
  it('lists the seeded plans, creates and reads a plan, and refuses what the caller may not do', async () => {
    const listed = await admin.get('/api/v1/admin/plans');
    expect(listed.status).toBe(200);
    expect(listed.json.items.map((plan: { id: string }) => plan.id)).toEqual(
      expect.arrayContaining(['free', 'pro', 'enterprise']),
    );
    await tenantOnPlan('admin-home', { requestsPerDay: 7 });
    const plan = await admin.get('/api/v1/admin/plans/plan-admin-home');
    expect(plan.json.limits.requestsPerDay).toBe(7);
    expect((await admin.get('/api/v1/admin/plans/no-such-plan')).status).toBe(404);
    expect((await admin.post('/api/v1/admin/plans', plan.json)).status).toBe(409);

    const user = await userClient('bob', 'admin-home');
    expect((await user.get('/api/v1/admin/plans')).status).toBe(403);
    const tenantAdmin = client(
      service.url,
      await service.token({ sub: 'carol', tenantId: 'admin-home', roles: ['tenant_admin'] }),
    );
    const own = await tenantAdmin.patch('/api/v1/admin/tenants/admin-home/plan', { planId: 'pro' });
    expect(own.status).toBe(200);
    expect(own.json.planId).toBe('pro');
    const other = await tenantAdmin.patch('/api/v1/admin/tenants/someone-else/plan', { planId: 'pro' });
    expect(other.status).toBe(403);
    expect(other.json.code).toBe('forbidden');
    const unknown = await tenantAdmin.patch('/api/v1/admin/tenants/admin-home/plan', { planId: 'gold-x' });
    expect(unknown.status).toBe(404);
    expect((await tenantAdmin.get('/api/v1/admin/tenants/someone-else/usage')).status).toBe(403);
    expect((await tenantAdmin.get('/api/v1/admin/usage/export')).status).toBe(403);
  });
});

describe('admission under concurrency', () => {
  it('admits exactly 10 of 50 simultaneous creations across two host processes sharing Cosmos', async () => {
    await tenantOnPlan('burst', { requestsPerDay: 10 });
    const second = await startHost({ env: service.env });
    try {
      const token = await service.token({ sub: 'dave', tenantId: 'burst' });
      const first = client(service.url, token);
      const other = client(second.url, token);
      const responses = await Promise.all(
        Array.from({ length: 50 }, (_, index) =>
          (index % 2 === 0 ? first : other).post('/api/v1/jobs', {
            story,
            mode: 'individual',
            iterations: ['validation'],
          }),
        ),
      );
      const accepted = responses.filter((response) => response.status === 202);
      const refused = responses.filter((response) => response.status === 429);
      expect(accepted).toHaveLength(10);
      expect(refused).toHaveLength(40);
      expect(refused.every((response) => response.json.code === 'quota_exceeded')).toBe(true);
      const midnight = Date.UTC(
        new Date().getUTCFullYear(),
        new Date().getUTCMonth(),
        new Date().getUTCDate() + 1,
      );
      const retryAfter = Number(refused[0]?.headers.get('retry-after'));
      expect(Math.abs(retryAfter - (midnight - Date.now()) / 1000)).toBeLessThan(30);
      const usage = await first.get('/api/v1/usage');
      expect(usage.json.remaining.requestsToday).toBe(0);
      for (const response of accepted) await waitForJob(first, response.json.id, finished, 60_000);
    } finally {
      await second.process.stop();
    }
  }, 120_000);

  it('queues the 2nd and 3rd job behind a concurrent limit of 1, runs them in turn, refuses the 4th', async () => {
    await tenantOnPlan('queue', { maxConcurrentJobs: 1, maxQueuedJobs: 2 });
    const api = await userClient('erin', 'queue');
    messages.injectFaults(
      { kind: 'slow', delayMs: 1_500 },
      { kind: 'slow', delayMs: 1_500 },
      { kind: 'slow', delayMs: 1_500 },
    );
    const body = { story, mode: 'individual', iterations: ['validation'] };
    const created = [];
    for (let index = 0; index < 4; index++) created.push(await api.post('/api/v1/jobs', body));
    expect(created.slice(0, 3).map((response) => response.status)).toEqual([202, 202, 202]);
    expect(created[3]?.status).toBe(429);
    expect(created[3]?.json.code).toBe('concurrency_limit');
    expect(Number(created[3]?.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(created[0]?.headers.get('x-ratelimit-remaining-requests')).toBeTruthy();

    const second = await api.get(`/api/v1/jobs/${created[1]?.json.id}`);
    expect(second.json.status).toBe('queued');
    const jobs = [];
    for (const response of created.slice(0, 3)) {
      jobs.push(await waitForJob(api, response.json.id, finished, 60_000));
    }
    expect(jobs.map((job) => job.status)).toEqual(['completed', 'completed', 'completed']);
    for (let index = 1; index < jobs.length; index++) {
      expect(Date.parse(jobs[index]?.startedAt)).toBeGreaterThanOrEqual(
        Date.parse(jobs[index - 1]?.completedAt),
      );
    }
    const usage = await api.get('/api/v1/usage');
    expect(usage.json.remaining).toMatchObject({ runningJobs: 0, queuedJobs: 0 });
  }, 120_000);
});

describe('rate and queue edges', () => {
  it('refuses past requests/minute with rate_limited and a Retry-After within the minute', async () => {
    await tenantOnPlan('hasty', { requestsPerMinute: 2 });
    const api = await userClient('judy', 'hasty');
    const body = { story, mode: 'individual', iterations: ['validation'] };
    const statuses = [];
    const accepted = [];
    let refused;
    for (let index = 0; index < 3; index++) {
      const response = await api.post('/api/v1/jobs', body);
      statuses.push(response.status);
      if (response.status === 429) refused = response;
      else accepted.push(response.json.id);
    }
    for (const jobId of accepted) await waitForJob(api, jobId, finished, 30_000);
    // Two minutes can start between requests only if the clock ticks over; then all three pass.
    if (refused) {
      expect(statuses).toEqual([202, 202, 429]);
      expect(refused.json.code).toBe('rate_limited');
      const retryAfter = Number(refused.headers.get('retry-after'));
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(60);
    } else {
      expect(statuses).toEqual([202, 202, 202]);
    }
  }, 60_000);

  it('frees the queue place of a job cancelled while queued', async () => {
    await tenantOnPlan('patient', { maxConcurrentJobs: 1, maxQueuedJobs: 1 });
    const api = await userClient('kim', 'patient');
    messages.injectFaults({ kind: 'slow', delayMs: 4_000 });
    const body = { story, mode: 'individual', iterations: ['validation'] };
    const running = await api.post('/api/v1/jobs', body);
    const queued = await api.post('/api/v1/jobs', body);
    expect((await api.post('/api/v1/jobs', body)).json.code).toBe('concurrency_limit');
    expect((await api.delete(`/api/v1/jobs/${queued.json.id}`)).status).toBe(202);
    const cancelled = await waitForJob(api, queued.json.id, finished, 20_000);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.startedAt).toBeUndefined();
    const replacement = await api.post('/api/v1/jobs', body);
    expect(replacement.status).toBe(202);
    expect((await api.get(`/api/v1/jobs/${running.json.id}`)).json.status).toBe('running');
    await waitForJob(api, replacement.json.id, finished, 30_000);
  }, 60_000);
});

describe('tokens and budget during a run', () => {
  it('stops a job with budget_exceeded when the tenant budget runs out mid-run, reconciled exactly', async () => {
    const api = await userClient('frank', 'thrifty');
    // A first job gives the tenant a history of outputs, so estimates are realistic.
    const first = await api.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['user-roles', 'validation', 'security'],
      options: { review: false },
    });
    const firstJob = await waitForJob(api, first.json.id, finished, 60_000);
    expect(firstJob.status).toBe('completed');
    const before = (await api.get('/api/v1/usage')).json.tenantMonth.costMicroUsd;
    const perCall = Math.ceil(firstJob.usage.costMicroUsd / 3);
    const fiveIterations = {
      story,
      mode: 'individual',
      iterations: ['user-roles', 'interactive-elements', 'validation', 'accessibility', 'security'],
      options: { review: false },
    };
    // With nothing left, the first call is refused, naming its estimate; a budget of that estimate plus about
    // one call's real cost then runs the first iteration and refuses a later one (one call a job iteration:
    // no consolidation or judge).
    const firstCallNeeds = await budgetNeededByNextCall(
      admin,
      api,
      'thrifty',
      fiveIterations,
      'plan-thrifty-spent',
    );
    const budgetUsd = (before + firstCallNeeds + perCall) / 1_000_000;
    await tenantOnPlan('thrifty', { monthlyBudgetUsd: budgetUsd });
    const from = messages.stats.received.length;
    const created = await api.post('/api/v1/jobs', fiveIterations);
    expect(created.status).toBe(202);
    const job = await waitForJob(api, created.json.id, finished, 60_000);
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('budget_exceeded');
    const kept = job.result.iterations.filter(
      (iteration: { status: string }) => iteration.status === 'applied',
    );
    expect(kept.length).toBeGreaterThan(0);

    const usage = await api.get('/api/v1/usage');
    const spent = usage.json.tenantMonth.costMicroUsd;
    expect(spent - before).toBe(job.usage.costMicroUsd);
    expect(job.usage.costMicroUsd).toBeGreaterThan(0);
    // Past the budget by at most the one call that ran alone as the last (see the README's guarantee).
    const budget = Math.round(budgetUsd * 1_000_000);
    expect(spent).toBeLessThanOrEqual(budget + billedSince(messages, from).dearestCallMicroUsd);
    expect(usage.json.remaining.reservedBudgetMicroUsd).toBe(0);
    expect(usage.json.remaining.spentBudgetMicroUsd).toBe(spent);
    expect(usage.json.remaining.budgetMicroUsd).toBe(Math.max(0, budget - spent));
    expect(usage.json.remaining.reservedTokens).toBe(0);
  }, 120_000);

  it('releases the token reservation of a call cancelled in flight', async () => {
    await tenantOnPlan('cancelling', { tokensPerDay: 200_000 });
    const api = await userClient('grace', 'cancelling');
    messages.injectFaults({ kind: 'slow', delayMs: 20_000 });
    const created = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    let reserved = 0;
    for (let attempt = 0; attempt < 100 && reserved === 0; attempt++) {
      reserved = (await api.get('/api/v1/usage')).json.remaining.reservedTokens;
      if (reserved === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(reserved).toBeGreaterThan(0);
    expect((await api.delete(`/api/v1/jobs/${created.json.id}`)).status).toBe(202);
    const job = await waitForJob(api, created.json.id, finished, 30_000);
    expect(job.status).toBe('cancelled');
    // The job is marked cancelled as soon as the orchestration hears of it; the call in flight sees the cancel
    // flag a moment later, aborts and releases. Waiting less than the 20 s the slow call would take proves the
    // release comes from the abort, not from the call ending by itself.
    let usage = (await api.get('/api/v1/usage')).json;
    for (let attempt = 0; attempt < 60 && usage.remaining.reservedTokens !== 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      usage = (await api.get('/api/v1/usage')).json;
    }
    expect(usage.remaining.reservedTokens).toBe(0);
    const used =
      usage.today.inputTokens +
      usage.today.outputTokens +
      usage.today.cacheCreationInputTokens +
      usage.today.cacheReadInputTokens;
    expect(usage.remaining.tokensToday).toBe(200_000 - used);
  }, 60_000);

  it('releases the token reservation of a failed call and stops a user out of tokens with quota_exceeded', async () => {
    // One call reserves its prompt (the shared instructions are some 30 KB) plus max_tokens: about 15,000 tokens.
    await tenantOnPlan('failing', { tokensPerDay: 40_000 });
    const api = await userClient('heidi', 'failing');
    messages.injectFaults({ kind: 'bad_request' });
    const failed = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    const failedJob = await waitForJob(api, failed.json.id, finished, 30_000);
    expect(failedJob.error.code).toBe('llm_request_rejected');
    const afterFailure = (await api.get('/api/v1/usage')).json;
    expect(afterFailure.remaining).toMatchObject({ reservedTokens: 0, tokensToday: 40_000 });

    // With no history yet each call is expected to use its prompt and all of max_tokens, so 40,000 tokens run
    // out mid-job.
    const created = await api.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['user-roles', 'interactive-elements', 'validation', 'accessibility', 'security'],
    });
    const job = await waitForJob(api, created.json.id, finished, 60_000);
    expect(job.status).toBe('failed');
    expect(job.error.code).toBe('quota_exceeded');
    const usage = (await api.get('/api/v1/usage')).json;
    expect(usage.remaining.reservedTokens).toBe(0);
    expect(usage.today.inputTokens + usage.today.outputTokens).toBeGreaterThan(0);
  }, 60_000);
});

describe('reporting', () => {
  it('agrees to the micro-dollar across export, job totals, /usage and the tenant report after retries and a host restart', async () => {
    const api = await userClient('ivan', 'ledger');
    const overloadedBefore = messages.stats.byStatus[529] ?? 0;
    messages.injectFaults({ kind: 'overloaded' });
    const retried = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    const restarted = await api.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['user-roles', 'validation', 'security'],
      options: { verify: true },
    });
    await waitForJob(api, restarted.json.id, (job) => job.status === 'running');
    await new Promise((resolve) => setTimeout(resolve, 150));
    await service.restartHost({ kill: true });
    const api2 = await userClient('ivan', 'ledger');
    const jobs = [
      await waitForJob(api2, retried.json.id, finished, 60_000),
      await waitForJob(api2, restarted.json.id, finished, 60_000),
    ];
    expect(jobs.map((job) => job.status)).toEqual(['completed', 'completed']);
    expect((messages.stats.byStatus[529] ?? 0) - overloadedBefore).toBe(1);
    const jobTotal = jobs.reduce((sum, job) => sum + job.usage.costMicroUsd, 0);
    expect(jobTotal).toBeGreaterThan(0);

    const exported = (await exportedRecords()).filter((record) => record.tenantId === 'ledger');
    expect(exported.reduce((sum, record) => sum + record.costMicroUsd, 0)).toBe(jobTotal);
    const usage = (await api2.get('/api/v1/usage')).json;
    expect(usage.month.costMicroUsd).toBe(jobTotal);
    expect(usage.tenantMonth.costMicroUsd).toBe(jobTotal);
    const report = (await admin.get(`/api/v1/admin/tenants/ledger/usage?month=${month}`)).json;
    expect(report.total.costMicroUsd).toBe(jobTotal);
    expect(report.byUser).toEqual([expect.objectContaining({ userId: 'ivan', costMicroUsd: jobTotal })]);
    expect(
      report.byDay.reduce((sum: number, day: { costMicroUsd: number }) => sum + day.costMicroUsd, 0),
    ).toBe(jobTotal);

    const viewed = await api2.get(`/api/v1/jobs/${restarted.json.id}`);
    expect(viewed.headers.get('x-usage-cost-usd')).toBe((jobs[1]?.usage.costMicroUsd / 1_000_000).toFixed(6));
    expect(Number(viewed.headers.get('x-ratelimit-remaining-tokens'))).toBeGreaterThan(0);
    const csv = await admin.get(`/api/v1/admin/usage/export?month=${month}&format=csv`);
    expect((typeof csv.json === 'string' ? csv.json : '').split('\r\n')[0]).toMatch(/^id,tenantId,userId,/);
  }, 120_000);
});
