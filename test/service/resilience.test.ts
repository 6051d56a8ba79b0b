import { CosmosClient } from '@azure/cosmos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineResponder } from '../../local/messages-api/offline-responder';
import { startMessagesApiServer, type MessagesApiServer } from '../../local/messages-api/server';
import {
  client,
  finished,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';

let messages: MessagesApiServer;
let service: ServiceUnderTest;
let api: Client;
const story =
  'As a patient, I want to book an appointment with my doctor online so that I do not have to phone the practice.';

async function usageRecordsOf(jobId: string): Promise<{ id: string; costMicroUsd: number }[]> {
  const cosmos = new CosmosClient({
    endpoint: service.cosmosEndpoint,
    key: 'local-emulator',
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  const { resources } = await cosmos
    .database(service.database)
    .container('usage')
    .items.query<{ id: string; costMicroUsd: number }>({
      query:
        "SELECT c.id, c.costMicroUsd FROM c WHERE c.tenantId = @tenantId AND c.type = 'usage' AND c.jobId = @jobId",
      parameters: [
        { name: '@tenantId', value: 'acme' },
        { name: '@jobId', value: jobId },
      ],
    })
    .fetchAll();
  return resources;
}

beforeAll(async () => {
  messages = await startMessagesApiServer({
    responder: offlineResponder,
    latency: { baseMs: 300, perOutputTokenMs: 0 },
  });
  service = await startService({
    LLM_PROVIDER: 'anthropic',
    ANTHROPIC_BASE_URL: messages.url,
    ANTHROPIC_API_KEY: 'test-key-for-the-local-server',
    // The adapter gives up at once, so the orchestration's own activity retry is what recovers.
    ANTHROPIC_MAX_RETRIES: '0',
  });
  api = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
});

afterAll(async () => {
  await service?.stop();
  await messages?.close();
});

/** Every LLM call a finished job reports: its iterations' and its passes'. */
function callsOf(job: Record<string, any>): unknown[] {
  return [...job.result.iterations, ...job.result.passes].flatMap((step: { calls: unknown[] }) => step.calls);
}

describe('through the Anthropic SDK against the local Messages API server', () => {
  it('completes a job, priced from the provider’s usage with prompt-cache fields', async () => {
    const created = await api.post('/api/v1/jobs', {
      story,
      productType: 'web',
      mode: 'individual',
      iterations: ['user-roles', 'validation', 'security'],
    });
    const job = await waitForJob(api, created.json.id, finished);
    expect(job.status).toBe('completed');
    expect(
      job.result.iterations.every((iteration: { model: string }) => iteration.model.startsWith('claude-')),
    ).toBe(true);
    expect(job.usage.costUsd).toBeGreaterThan(0);
    expect(job.usage.cacheReadInputTokens + job.usage.cacheCreationInputTokens).toBeGreaterThan(0);
    // One record per call: three iterations, the consolidation and each judge and rewrite round.
    const records = await usageRecordsOf(job.id);
    expect(records).toHaveLength(callsOf(job).length);
    expect(records.length).toBeGreaterThanOrEqual(5);
    expect(records.reduce((sum, record) => sum + record.costMicroUsd, 0)).toBe(job.usage.costMicroUsd);
  });

  it('runs the workflow and interactive modes the same way', async () => {
    // A story no earlier call has sent, so no prompt prefix of it is cached yet.
    const freshStory =
      'As an integration partner, I want to register a webhook URL so that my warehouse system hears about shipments.';
    const workflow = await api.post('/api/v1/jobs', { story: freshStory, productType: 'api' });
    const interactive = await api.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['user-roles', 'security'],
    });
    for (const iteration of ['user-roles', 'security']) {
      await waitForJob(
        api,
        interactive.json.id,
        (job) => job.status === 'awaiting_approval' && job.awaitingApproval.iteration === iteration,
      );
      expect(
        (await api.post(`/api/v1/jobs/${interactive.json.id}/approval`, { decision: 'continue' })).status,
      ).toBe(202);
    }
    const [workflowDone, interactiveDone] = await Promise.all([
      waitForJob(api, workflow.json.id, finished),
      waitForJob(api, interactive.json.id, finished),
    ]);
    expect(workflowDone.status).toBe('completed');
    expect(workflowDone.result.iterations).toHaveLength(6);
    // Per model, no iteration after the first (catalog order) writes the shared instructions again: either it
    // waited for the first to write them with the story and reads both, or this host had run a call on the
    // model minutes before, so the instructions were cached already and it wrote only the story.
    const iterations: {
      model: string;
      usage: { cacheReadInputTokens: number; cacheCreationInputTokens: number };
    }[] = workflowDone.result.iterations;
    const followers = iterations.filter(
      (iteration, index) => iterations.findIndex((other) => other.model === iteration.model) !== index,
    );
    expect(followers.length).toBeGreaterThan(0);
    expect(
      followers.every(
        (iteration) => iteration.usage.cacheReadInputTokens > iteration.usage.cacheCreationInputTokens,
      ),
    ).toBe(true);
    expect(interactiveDone.status).toBe('completed');
    expect(
      interactiveDone.result.iterations.map((iteration: { status: string }) => iteration.status),
    ).toEqual(['applied', 'applied']);
    expect(interactiveDone.usage.costUsd).toBeGreaterThan(0);
  });

  it('starts the iterations at once on a host that has the instructions cached: each writes only its story', async () => {
    // A call on the standard model first: this host then knows its instructions are cached.
    const warm = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['user-roles'] });
    expect((await waitForJob(api, warm.json.id, finished)).status).toBe('completed');

    const unseenStory =
      'As a volunteer, I want to sign up for a beach clean-up shift so that the organisers know how many people to expect.';
    const created = await api.post('/api/v1/jobs', {
      story: unseenStory,
      productType: 'web',
      iterations: ['user-roles', 'security', 'validation'],
    });
    const job = await waitForJob(api, created.json.id, finished);
    expect(job.status).toBe('completed');
    const iterations: { usage: { cacheReadInputTokens: number; cacheCreationInputTokens: number } }[] =
      job.result.iterations;
    expect(iterations).toHaveLength(3);
    // Every call read the instructions from the cache. A call that had waited for the first one's response
    // (300 ms) would have found the story cached too and written nothing: here the first and at least one
    // other wrote the story themselves.
    expect(iterations.every((iteration) => iteration.usage.cacheReadInputTokens > 0)).toBe(true);
    expect(
      iterations.filter((iteration) => iteration.usage.cacheCreationInputTokens > 0).length,
    ).toBeGreaterThanOrEqual(2);
  });

  it('retries a transient failure (529) through the orchestration’s retry policy', async () => {
    messages.injectFaults({ kind: 'overloaded' });
    const before = messages.stats.byStatus[529] ?? 0;
    const created = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    const job = await waitForJob(api, created.json.id, finished);
    expect(job.status).toBe('completed');
    expect((messages.stats.byStatus[529] ?? 0) - before).toBe(1);
  });

  it('ends a job failed with its code on a permanent failure (400), without retrying', async () => {
    messages.injectFaults({ kind: 'bad_request' });
    const requestsBefore = messages.stats.requests;
    const created = await api.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    const job = await waitForJob(api, created.json.id, finished);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'llm_request_rejected', retryable: false });
    expect(messages.stats.requests - requestsBefore).toBe(1);
  });

  it('keeps usage records unique when the host is killed mid-job and the job still completes', async () => {
    const created = await api.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['user-roles', 'validation', 'security'],
      options: { verify: true },
    });
    // Iteration calls answer after ~300 ms; kill while the verification calls are in flight.
    await waitForJob(api, created.json.id, (job) => job.status === 'running');
    await new Promise((resolve) => setTimeout(resolve, 450));
    await service.restartHost({ kill: true });
    const job = await waitForJob(api, created.json.id, finished, 60_000);
    expect(job.status).toBe('completed');
    const records = await usageRecordsOf(job.id);
    expect(records).toHaveLength(callsOf(job).length);
    expect(new Set(records.map((record) => record.id)).size).toBe(records.length);
    expect(records.reduce((sum, record) => sum + record.costMicroUsd, 0)).toBe(job.usage.costMicroUsd);
  });

  it('rides out a Cosmos DB outage mid-job: retries carry the job to completion once the database is back', async () => {
    const created = await api.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['user-roles', 'validation'],
    });
    await waitForJob(api, created.json.id, (job) => job.status === 'running');
    await service.restartCosmos(2_000);
    const job = await waitForJob(api, created.json.id, finished, 60_000);
    expect({ status: job.status, error: job.error }).toEqual({ status: 'completed', error: undefined });
    expect(job.result.iterations.map((iteration: { status: string }) => iteration.status)).toEqual([
      'applied',
      'applied',
    ]);
  });
});
