import { CosmosClient } from '@azure/cosmos';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGherkin } from '../support/export-shapes';
import {
  client,
  finished,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';
import { readSse } from '../support/sse';

/**
 * System mode through the real local stack (Functions host, durable runtime, Cosmos, Azurite), offline engine:
 * the README's 5-story backlog refined story by story as sub-orchestrations, then linked and checked.
 */
let service: ServiceUnderTest;

const backlogDir = path.join(__dirname, '..', '..', 'examples', 'backlog');
/** Three iterations per story keep the run short; the judge and a rewrite round still run on each. */
const iterations = ['user-roles', 'validation', 'security'];
const backlog = readdirSync(backlogDir)
  .filter((name) => name.endsWith('.md'))
  .sort()
  .map((name) => readFileSync(path.join(backlogDir, name), 'utf8').trim());

beforeAll(async () => {
  // Slow enough that a cancel or a host kill lands while stories are still running.
  service = await startService({ OFFLINE_LATENCY_MS: '100', SYSTEM_STORY_CONCURRENCY: '2' });
});

afterAll(async () => {
  await service?.stop();
});

async function api(user: string): Promise<Client> {
  return client(service.url, await service.token({ sub: user, tenantId: 'acme' }));
}

/** A specification without the sections that quote the user: the story's findings, the review, the original. */
function withoutQuotes(markdown: string): string {
  return markdown
    .split(/^## /m)
    .filter((section) => !/^(Story quality|Review|Original story)\b/.test(section))
    .join('');
}

/** The stack's Cosmos database, read directly. */
function database() {
  return new CosmosClient({
    endpoint: service.cosmosEndpoint,
    key: 'local-emulator',
    connectionPolicy: { enableEndpointDiscovery: false },
  }).database(service.database);
}

/** The usage records of one job, straight from Cosmos: one per LLM call. */
async function usageRecordIds(jobId: string): Promise<string[]> {
  const { resources } = await database()
    .container('usage')
    .items.query<{ id: string }>({
      query: "SELECT c.id FROM c WHERE c.tenantId = @tenantId AND c.type = 'usage' AND c.jobId = @jobId",
      parameters: [
        { name: '@tenantId', value: 'acme' },
        { name: '@jobId', value: jobId },
      ],
    })
    .fetchAll();
  return resources.map((record) => record.id).sort();
}

/** A job document straight from Cosmos, with what the API does not show. */
async function storedJob(jobId: string): Promise<{ backlogContext?: unknown }> {
  const { resource } = await database().container('jobs').item(jobId, 'acme').read();
  return resource;
}

async function events(jobId: string, credential: string): Promise<{ event: string; data: any }[]> {
  const response = await fetch(`${service.url}/api/v1/jobs/${jobId}/stream`, {
    headers: { authorization: `Bearer ${credential}`, 'last-event-id': '0' },
  });
  const seen: { event: string; data: any }[] = [];
  for await (const event of readSse(response)) {
    seen.push({ event: event.event, data: JSON.parse(event.data) });
    if (['complete', 'cancelled', 'error'].includes(event.event)) break;
  }
  return seen;
}

describe('system mode: a backlog end to end', () => {
  it('discovers the context, judges every story, links the stories and reports consistency findings', async () => {
    const credential = await service.token({ sub: 'backlog-owner', tenantId: 'acme' });
    const owner = client(service.url, credential);
    const created = await owner.post('/api/v1/jobs', {
      mode: 'system',
      stories: backlog,
      productType: 'web',
    });
    expect(created.status).toBe(202);
    expect(created.json.stories.map((story: { storyId: string }) => story.storyId)).toEqual([
      'S1',
      'S2',
      'S3',
      'S4',
      'S5',
    ]);
    // Each story counts as one request.
    const usage = await owner.get('/api/v1/usage');
    expect(usage.json.plan.limits.requestsPerDay - usage.json.remaining.requestsToday).toBe(5);

    const job = await waitForJob(owner, created.json.id, finished, 180_000);
    expect({ status: job.status, error: job.error }).toEqual({ status: 'completed', error: undefined });
    const system = job.result.system;

    // Pass 0: the shared context, with canonical names.
    expect(system.context.actors.map((actor: { name: string }) => actor.name)).toEqual(
      expect.arrayContaining(['shopper', 'store manager']),
    );
    expect(system.context.entities.map((entity: { name: string }) => entity.name)).toEqual(
      expect.arrayContaining(['order', 'product', 'password']),
    );
    expect(system.context.vocabulary).toEqual(
      expect.arrayContaining([{ canonical: 'shopping basket', variants: ['shopping cart'] }]),
    );

    // Pass 1: every story refined by its own job, judged.
    expect(system.stories.map((story: { status: string }) => story.status)).toEqual(
      Array(5).fill('completed'),
    );
    for (const story of system.stories) {
      expect(typeof story.overall).toBe('number');
      const storyJob = await owner.get(`/api/v1/jobs/${story.jobId}`);
      expect(storyJob.json.parentJobId).toBe(job.id);
      expect(storyJob.json.result.review.verdict).toMatch(/approve|rewrite|reject/);
      expect(storyJob.json.result.story).toBe(story.story);
    }

    // Pass 2: the orders dashboard (S5) needs the orders the checkout (S3) submits.
    expect(system.relationships).toEqual(
      expect.arrayContaining([expect.objectContaining({ from: 'S5', to: 'S3', kind: 'depends-on' })]),
    );
    // Shared entities are named the same everywhere: the checkout (S3) wrote "shopping cart" where the backlog
    // says "shopping basket"; its specification uses the canonical name, its original text stays verbatim.
    const checkout = system.stories[2];
    const specification = withoutQuotes(checkout.story);
    expect(specification).toContain('shopping basket');
    expect(specification).not.toMatch(/shopping cart/i);
    expect(checkout.story).toContain(
      '> As a shopper, I want to submit an order for the products in my shopping cart',
    );
    expect(checkout.renames).toEqual([
      { from: 'shopping cart', to: 'shopping basket', items: expect.any(Number) },
    ]);
    expect(job.result.story).toMatch(
      /Use "shopping basket", not "shopping cart"; applied in S3 \(\d+ items?\)/,
    );
    // Each story was refined with the context discovery found (every engine call of its job carries it).
    for (const [index, story] of system.stories.entries()) {
      const stored = await storedJob(story.jobId);
      expect(stored.backlogContext).toEqual({ storyId: `S${index + 1}`, context: system.context });
    }
    // A message refines one story, keeping the backlog's names; the backlog itself takes none.
    const onBacklog = await owner.post(`/api/v1/jobs/${job.id}/messages`, { message: 'Add PayPal' });
    expect({ status: onBacklog.status, code: onBacklog.json.code }).toEqual({
      status: 409,
      code: 'conflict',
    });
    const sent = await owner.post(`/api/v1/jobs/${checkout.jobId}/messages`, {
      message: 'Add sharing the shopping cart',
    });
    expect(sent.status).toBe(202);
    const refined = await waitForJob(owner, sent.json.id, finished, 60_000);
    expect(refined.status).toBe('completed');
    expect(withoutQuotes(refined.result.story)).toContain('sharing the shopping basket');
    expect(withoutQuotes(refined.result.story)).not.toMatch(/shopping cart/i);
    // Pass 3: the password lengths of S1 (8) and S4 (12) contradict each other.
    const contradiction = system.findings.find(
      (finding: { kind: string }) => finding.kind === 'contradiction',
    );
    expect(contradiction).toMatchObject({ storyIds: ['S1', 'S4'] });
    expect(contradiction.items.length).toBe(2);
    expect(system.passes.map((pass: { id: string; status: string }) => [pass.id, pass.status])).toEqual([
      ['discovery', 'applied'],
      ['interconnection', 'applied'],
      ['consistency', 'applied'],
    ]);

    // Usage: the backlog's own pass calls (one record each) plus every story's job.
    expect(await usageRecordIds(job.id)).toHaveLength(3);
    const storyJobs = await Promise.all(
      system.stories.map((story: { jobId: string }) => owner.get(`/api/v1/jobs/${story.jobId}`)),
    );
    const storyTokens = storyJobs.reduce((sum, response) => sum + response.json.usage.inputTokens, 0);
    const passTokens = system.passes.reduce(
      (sum: number, pass: { usage: { inputTokens: number } }) => sum + pass.usage.inputTokens,
      0,
    );
    expect(passTokens).toBeGreaterThan(0);
    expect(job.usage.inputTokens).toBe(storyTokens + passTokens);

    // Progress: per pass and per story.
    const seen = await events(job.id, credential);
    const names = seen.map((event) => event.event);
    expect(names.filter((name) => name === 'story:complete')).toHaveLength(5);
    expect(names.filter((name) => name === 'system:pass:complete')).toHaveLength(3);
    expect(names.indexOf('system:pass:start')).toBeLessThan(names.indexOf('story:start'));
    expect(names.at(-1)).toBe('complete');

    // Exports: every story, with its links.
    const gherkin = await owner.get(`/api/v1/jobs/${job.id}/export?format=gherkin`);
    expect(gherkin.status).toBe(200);
    expect(gherkin.json.files).toHaveLength(5);
    for (const file of gherkin.json.files) expect(parseGherkin(file.content).feature).toBeDefined();
    const markdown = await owner.get(`/api/v1/jobs/${job.id}/export?format=markdown`);
    expect(markdown.json.files.map((file: { name: string }) => file.name)[0]).toMatch(/^1-/);
  }, 300_000);

  it('splits one text holding several stories and shows the split; refuses a backlog of one story or too many', async () => {
    const user = await api('splitter');
    const text = `${backlog[0]}\n\n---\n\n${backlog[4]}`;
    const created = await user.post('/api/v1/jobs', { mode: 'system', story: text, iterations });
    expect(created.status).toBe(202);
    expect(created.json.stories.map((story: { text: string }) => story.text)).toEqual([
      backlog[0],
      backlog[4],
    ]);
    expect((await user.delete(`/api/v1/jobs/${created.json.id}`)).status).toBeLessThan(300);

    const single = await user.post('/api/v1/jobs', { mode: 'system', story: backlog[0] });
    expect({ status: single.status, code: single.json.code }).toEqual({
      status: 400,
      code: 'validation_failed',
    });
    const tooMany = await user.post('/api/v1/jobs', { mode: 'system', stories: Array(26).fill(backlog[0]) });
    expect({ status: tooMany.status, code: tooMany.json.code }).toEqual({
      status: 413,
      code: 'payload_too_large',
    });
    const notSystem = await user.post('/api/v1/jobs', { stories: backlog.slice(0, 2) });
    expect({ status: notSystem.status, code: notSystem.json.code }).toEqual({
      status: 400,
      code: 'validation_failed',
    });
    await waitForJob(user, created.json.id, finished, 60_000);
  }, 120_000);

  it('keeps the finished stories when the backlog is cancelled mid-way', async () => {
    const user = await api('canceller');
    const created = await user.post('/api/v1/jobs', { mode: 'system', stories: backlog, iterations });
    await waitForJob(user, created.json.id, (job) => job.progress.completed >= 1, 120_000);
    expect((await user.delete(`/api/v1/jobs/${created.json.id}`)).status).toBe(202);
    const job = await waitForJob(user, created.json.id, finished, 120_000);
    expect(job.status).toBe('cancelled');
    const statuses = job.result.system.stories.map((story: { status: string }) => story.status);
    expect(statuses).toContain('completed');
    expect(statuses.some((status: string) => status !== 'completed')).toBe(true);
    for (const story of job.result.system.stories) {
      if (story.status === 'completed') expect(story.story).toContain('#');
    }
  }, 300_000);

  it('resumes after a host SIGKILL mid-backlog without re-running the stories that had finished', async () => {
    const user = await api('survivor');
    const created = await user.post('/api/v1/jobs', { mode: 'system', stories: backlog, iterations });
    const running = await waitForJob(user, created.json.id, (job) => job.progress.completed >= 1, 120_000);
    const storyJobIds: string[] = running.stories.map((story: { jobId: string }) => story.jobId);
    const before = await Promise.all(storyJobIds.map((id) => user.get(`/api/v1/jobs/${id}`)));
    const finishedBefore = before
      .filter((response) => response.json.status === 'completed')
      .map((r) => r.json);
    expect(finishedBefore.length).toBeGreaterThanOrEqual(1);
    expect(finishedBefore.length).toBeLessThan(5);
    const recordsBefore = await Promise.all(finishedBefore.map((story) => usageRecordIds(story.id)));

    await service.restartHost({ kill: true });

    const job = await waitForJob(user, created.json.id, finished, 180_000);
    expect({ status: job.status, error: job.error }).toEqual({ status: 'completed', error: undefined });
    expect(job.result.system.stories.map((story: { status: string }) => story.status)).toEqual(
      Array(5).fill('completed'),
    );
    for (const [index, story] of finishedBefore.entries()) {
      const after = await user.get(`/api/v1/jobs/${story.id}`);
      expect(after.json.completedAt).toBe(story.completedAt);
      expect(await usageRecordIds(story.id)).toEqual(recordsBefore[index]);
    }
  }, 300_000);
});
