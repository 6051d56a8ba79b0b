import { execFile } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  client,
  finished,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';
import { sampleStory } from '../../shared/engine/fixtures/sample-stories';
import { repoRoot } from '../support/local-services';

let service: ServiceUnderTest;
let api: Client;
const story = sampleStory('login-web.md');

beforeAll(async () => {
  service = await startService({ OFFLINE_LATENCY_MS: '20', APPROVAL_TIMEOUT_SECONDS: '2' });
  api = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
});

afterAll(async () => {
  await service?.stop();
});

describe('job lifecycle with the offline engine', () => {
  it('workflow mode: runs every applicable iteration and merges them into the enhanced story', async () => {
    const created = await api.post('/api/v1/jobs', { story, productType: 'web' });
    expect(created.status).toBe(202);
    expect(created.headers.get('location')).toBe(`/api/v1/jobs/${created.json.id}`);
    expect(created.json).toMatchObject({
      status: 'queued',
      mode: 'workflow',
      tenantId: 'acme',
      userId: 'alice',
    });
    expect(created.json.iterations).toHaveLength(11);

    // Eleven iterations and the passes after them: give a loaded machine time.
    const job = await waitForJob(api, created.json.id, finished, 120_000);
    expect(job.status).toBe('completed');
    expect(job.result.iterations.map((iteration: { id: string }) => iteration.id)).toEqual(
      created.json.iterations,
    );
    // An iteration with nothing specific to add for this story is skipped; none fails.
    const statuses = job.result.iterations.map((iteration: { status: string }) => iteration.status);
    expect(statuses.every((status: string) => status === 'applied' || status === 'skipped')).toBe(true);
    expect(statuses.filter((status: string) => status === 'applied').length).toBeGreaterThan(5);
    expect(job.result.story).toContain('returning customer');
    expect(job.progress).toMatchObject({ completed: 11, total: 11, current: null });
    expect(job.usage.inputTokens).toBeGreaterThan(0);
    expect(job.usage.costUsd).toBe(0);
    expect(job.startedAt).toBeDefined();
    expect(job.completedAt).toBeDefined();
    // Consolidation and the whole-story judge ran after the merge, and the job shows what they found.
    expect(job.result.passes[0]).toMatchObject({ id: 'consolidation', round: 1 });
    expect(job.result.review.rounds).toBe(
      job.result.passes.filter((pass: { id: string }) => pass.id === 'review').length,
    );
    expect(job.result.story).toContain(`**Verdict: ${job.result.review.verdict}**`);
    expect(Array.isArray(job.result.findings)).toBe(true);
  });

  it('gives the same specification as the command line for the same story and iterations', async () => {
    const iterations = ['user-roles', 'validation', 'security'];
    const created = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations });
    const job = await waitForJob(api, created.json.id, finished);
    const cli = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        process.execPath,
        [
          path.join(repoRoot, 'dist/cli/user-story-agent.js'),
          'enhance',
          '-',
          '--iterations',
          iterations.join(','),
        ],
        { env: { ...process.env, ANTHROPIC_API_KEY: '', LLM_PROVIDER: 'offline' } },
        (error, stdout, stderr) => (error ? reject(new Error(`CLI failed: ${stderr}`)) : resolve(stdout)),
      );
      child.stdin?.end(story);
    });
    expect(job.status).toBe('completed');
    expect(cli).toBe(job.result.story);
  });

  it('individual mode: runs exactly the chosen iterations', async () => {
    const created = await api.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['security', 'validation'],
    });
    expect(created.status).toBe(202);
    expect(created.json.iterations).toEqual(['validation', 'security']);
    const job = await waitForJob(api, created.json.id, finished);
    expect(job.status).toBe('completed');
    expect(job.result.iterations.map((iteration: { id: string }) => iteration.id)).toEqual([
      'validation',
      'security',
    ]);
  });

  it('interactive mode: waits for each approval, applies continue, discards skip, ends on stop', async () => {
    const created = await api.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['user-roles', 'validation', 'security'],
    });
    const id = created.json.id;
    const first = await waitForJob(api, id, (job) => job.status === 'awaiting_approval');
    expect(first.awaitingApproval.iteration).toBe('user-roles');
    expect((await api.post(`/api/v1/jobs/${id}/approval`, { decision: 'continue' })).status).toBe(202);

    const second = await waitForJob(
      api,
      id,
      (job) => job.status === 'awaiting_approval' && job.awaitingApproval.iteration === 'validation',
    );
    expect(second.awaitingApproval.iteration).toBe('validation');
    expect((await api.post(`/api/v1/jobs/${id}/approval`, { decision: 'skip' })).status).toBe(202);

    await waitForJob(
      api,
      id,
      (job) => job.status === 'awaiting_approval' && job.awaitingApproval.iteration === 'security',
    );
    expect((await api.post(`/api/v1/jobs/${id}/approval`, { decision: 'stop' })).status).toBe(202);

    const done = await waitForJob(api, id, finished);
    expect(done.status).toBe('completed');
    const statuses = Object.fromEntries(
      done.result.iterations.map((iteration: { id: string; status: string }) => [
        iteration.id,
        iteration.status,
      ]),
    );
    expect(statuses).toEqual({ 'user-roles': 'applied', validation: 'skipped', security: 'skipped' });
  });

  it('interactive mode: an approval that never comes fails the job with approval_timeout', async () => {
    const created = await api.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['validation'],
    });
    const done = await waitForJob(api, created.json.id, finished);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ code: 'approval_timeout', retryable: false });
  });

  it('refuses an approval for a job that is not waiting for one', async () => {
    const created = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    await waitForJob(api, created.json.id, finished);
    const response = await api.post(`/api/v1/jobs/${created.json.id}/approval`, { decision: 'continue' });
    expect(response.status).toBe(409);
    expect(response.json.code).toBe('conflict');
  });

  it('lists the caller’s jobs newest first with a working cursor', async () => {
    const first = await api.get('/api/v1/jobs?limit=2');
    expect(first.status).toBe(200);
    expect(first.json.items).toHaveLength(2);
    expect(first.json.nextCursor).toBeDefined();
    const second = await api.get(`/api/v1/jobs?limit=2&cursor=${encodeURIComponent(first.json.nextCursor)}`);
    expect(second.status).toBe(200);
    const ids = [...first.json.items, ...second.json.items].map((job: { id: string }) => job.id);
    expect(new Set(ids).size).toBe(ids.length);
    const created = [...first.json.items, ...second.json.items].map(
      (job: { createdAt: string }) => job.createdAt,
    );
    expect([...created].sort().reverse()).toEqual(created);
  });

  it('runs and waits: 200 with the finished job, or 202 with the job while it still runs', async () => {
    const finishedRun = await api.post('/api/v1/iterations/run', {
      story,
      iterations: ['validation'],
      waitSeconds: 30,
    });
    expect(finishedRun.status).toBe(200);
    expect(finishedRun.json.status).toBe('completed');
    expect(finishedRun.json.result.story).toContain('returning customer');

    const stillRunning = await api.post('/api/v1/workflow/run', {
      story,
      productType: 'api',
      waitSeconds: 0,
    });
    expect(stillRunning.status).toBe(202);
    expect(stillRunning.headers.get('location')).toBe(`/api/v1/jobs/${stillRunning.json.id}`);
    expect(stillRunning.json.mode).toBe('workflow');
    expect(stillRunning.json.iterations).toEqual([
      'user-roles',
      'validation',
      'performance',
      'security',
      'locale-formatting',
      'analytics',
    ]);
    await waitForJob(api, stillRunning.json.id, finished);
  });

  it('reports the caller’s usage today and this month as sums of the recorded calls', async () => {
    const usage = await api.get('/api/v1/usage');
    expect(usage.status).toBe(200);
    expect(usage.json.today.day).toBe(new Date().toISOString().slice(0, 10));
    expect(usage.json.today.calls).toBeGreaterThan(10);
    expect(usage.json.month.calls).toBeGreaterThanOrEqual(usage.json.today.calls);
    const jobs = await api.get('/api/v1/jobs?limit=100');
    const tokens = jobs.json.items.reduce(
      (sum: number, job: { usage: { inputTokens: number } }) => sum + job.usage.inputTokens,
      0,
    );
    expect(usage.json.today.inputTokens).toBeGreaterThanOrEqual(tokens);
    const other = client(service.url, await service.token({ sub: 'zoe', tenantId: 'acme' }));
    expect((await other.get('/api/v1/usage')).json.today.calls).toBe(0);
  });
});
