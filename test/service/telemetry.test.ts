import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalKeyVault, type LocalKeyVault } from '../../local/key-vault/server';
import { startLocalManagedIdentity, type LocalManagedIdentity } from '../../local/managed-identity/server';
import { offlineResponder } from '../../local/messages-api/offline-responder';
import { startMessagesApiServer, type MessagesApiServer } from '../../local/messages-api/server';
import { startIngestionRecorder, type Envelope, type IngestionRecorder } from '../support/ingestion-recorder';
import { client, finished, startService, waitForJob, type ServiceUnderTest } from '../support/service';

/**
 * Application Insights end to end: the service runs with a connection string whose IngestionEndpoint is a
 * loopback recorder, so the real Azure Monitor exporter sends its envelopes there. One job runs through the
 * Anthropic SDK (local Messages API, key read from the local Key Vault), one request is refused by a quota
 * and one is not found; then the envelopes are checked for spans, correlation, attributes and metrics, and
 * for the absence of story text and credentials.
 */
let recorder: IngestionRecorder;
let identity: LocalManagedIdentity;
let vault: LocalKeyVault;
let messages: MessagesApiServer;
let service: ServiceUnderTest;

const anthropicKey = 'sk-local-telemetry-test-key-0001';
const storyMarker = 'Quokkaville';
const story = `As a ${storyMarker} librarian, I want to renew a reader's loans online so that they need not visit the desk.`;

const props = (envelope: Envelope) => envelope.data.baseData.properties ?? {};
const named = (name: string) => recorder.envelopes.filter((envelope) => envelope.data.baseData.name === name);
const metric = (name: string) =>
  recorder.envelopes.filter(
    (envelope) =>
      envelope.data.baseType === 'MetricData' &&
      (envelope.data.baseData.metrics as { name: string }[] | undefined)?.[0]?.name === name,
  );
const metricTotal = (name: string, where: Record<string, string>) =>
  metric(name)
    .filter((envelope) => Object.entries(where).every(([key, value]) => props(envelope)[key] === value))
    .reduce(
      (sum, envelope) => sum + ((envelope.data.baseData.metrics as { value: number }[])[0]?.value ?? 0),
      0,
    );

async function eventually(check: () => boolean, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  recorder = await startIngestionRecorder();
  identity = await startLocalManagedIdentity();
  vault = await startLocalKeyVault({ verifyToken: (token, resource) => identity.verify(token, resource) });
  vault.setSecret('anthropic-api-key', anthropicKey);
  messages = await startMessagesApiServer({ responder: offlineResponder, apiKey: anthropicKey });
  service = await startService({
    LLM_PROVIDER: 'anthropic',
    ANTHROPIC_BASE_URL: messages.url,
    ANTHROPIC_API_KEY_SECRET_URI: vault.secretUri('anthropic-api-key'),
    ANTHROPIC_MAX_RETRIES: '0',
    ...identity.env,
    APPLICATIONINSIGHTS_CONNECTION_STRING: recorder.connectionString,
    NODE_EXTRA_CA_CERTS: recorder.caFile,
    // Standard OpenTelemetry settings: export every 200 ms (spans) and 1 s (metrics) instead of 5 s and 60 s.
    OTEL_BSP_SCHEDULE_DELAY: '200',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
  });
}, 180_000);

afterAll(async () => {
  await service?.stop();
  await messages?.close();
  await vault?.close();
  await identity?.close();
  await recorder?.close();
});

describe('telemetry to Application Insights', () => {
  it('sends correlated request, activity and LLM spans and job, token, cost and quota metrics, and no story text or secrets', async () => {
    const token = await service.token({ sub: 'alice', tenantId: 'acme' });
    const api = client(service.url, token);
    const created = await api.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['validation', 'security'],
    });
    expect(created.status).toBe(202);
    const jobId = String(created.json.id);
    const job = await waitForJob(api, jobId, finished);
    expect(job.status).toBe('completed');
    expect((await api.get('/api/v1/jobs/job_doesnotexist000000000000')).status).toBe(404);

    const admin = client(
      service.url,
      await service.token({ sub: 'root', tenantId: 'platform', roles: ['platform_admin'] }),
    );
    const plan = await admin.post('/api/v1/admin/plans', {
      id: 'plan-one-a-day',
      name: 'One job a day',
      limits: {
        requestsPerDay: 1,
        tokensPerDay: 10_000_000,
        maxStoryBytes: 10_000,
        maxIterations: 12,
        maxConcurrentJobs: 5,
        maxQueuedJobs: 5,
        requestsPerMinute: 100,
        monthlyBudgetUsd: 100,
      },
    });
    expect(plan.status).toBe(201);
    expect((await admin.patch('/api/v1/admin/tenants/tight/plan', { planId: 'plan-one-a-day' })).status).toBe(
      200,
    );
    const tight = client(service.url, await service.token({ sub: 'tom', tenantId: 'tight' }));
    const body = { story, mode: 'individual', iterations: ['validation'] };
    expect((await tight.post('/api/v1/jobs', body)).status).toBe(202);
    const refused = await tight.post('/api/v1/jobs', body);
    expect(refused.status).toBe(429);
    expect(refused.json.code).toBe('quota_exceeded');

    const jobTrace = createHash('sha256').update(`job:${jobId}`).digest('hex').slice(0, 32);
    const llmSpans = () =>
      recorder.envelopes.filter(
        (envelope) =>
          envelope.tags?.['ai.operation.id'] === jobTrace && props(envelope)['llm.model'] !== undefined,
      );
    await eventually(() => llmSpans().length >= 2, 'the LLM spans of the job');
    await eventually(() => metricTotal('jobs.completed', { 'tenant.id': 'acme' }) >= 1, 'jobs.completed');
    await eventually(() => metric('quota.refusals').length > 0, 'quota.refusals');
    await eventually(() => named('activity jobFinish').length > 0, 'the jobFinish activity span');

    // The request that created the job: caller, job id, status.
    const createRequest = named('POST /api/v1/jobs').find((envelope) => props(envelope)['job.id'] === jobId);
    expect(createRequest?.data.baseType).toBe('RequestData');
    expect(props(createRequest!)).toMatchObject({ 'tenant.id': 'acme', 'user.id': 'alice' });
    expect(createRequest?.data.baseData.responseCode).toBe('202');

    // Every step of the job in the job's trace, with its ids.
    const steps = recorder.envelopes.filter(
      (envelope) =>
        envelope.tags?.['ai.operation.id'] === jobTrace &&
        String(envelope.data.baseData.name).startsWith('activity '),
    );
    expect(steps.map((envelope) => envelope.data.baseData.name)).toEqual(
      expect.arrayContaining(['activity jobStart', 'activity iterationRun', 'activity jobFinish']),
    );
    for (const step of steps) expect(props(step)).toMatchObject({ 'job.id': jobId, 'tenant.id': 'acme' });
    const iterationSteps = steps.filter(
      (envelope) => envelope.data.baseData.name === 'activity iterationRun',
    );
    expect(iterationSteps.map((envelope) => props(envelope)['iteration.id']).sort()).toEqual([
      'security',
      'validation',
    ]);
    const jobCreated = named('job.created').find((envelope) => props(envelope)['job.id'] === jobId);
    expect(jobCreated?.tags?.['ai.operation.id']).toBe(jobTrace);

    // Each LLM call is a child of the activity span of its step (an iteration, or a pass after them: the
    // consolidation and the judge), with model, tokens and cost.
    const passSteps = steps.filter((envelope) => envelope.data.baseData.name === 'activity workflowStepRun');
    expect(passSteps.map((envelope) => props(envelope)['workflow.step'])).toEqual(
      expect.arrayContaining(['merge', 'consolidation', 'review']),
    );
    for (const call of llmSpans()) {
      const parent = steps.find((step) => step.data.baseData.id === call.tags?.['ai.operation.parentId']);
      expect(parent, 'LLM span parented on its step’s activity span').toBeDefined();
      const attributes = props(call);
      expect(attributes).toMatchObject({ 'tenant.id': 'acme', 'job.id': jobId, 'llm.provider': 'anthropic' });
      expect(attributes['llm.model']).toMatch(/^claude-/);
      if (attributes['llm.purpose'] === 'iteration') {
        expect(parent!.data.baseData.name).toBe('activity iterationRun');
        expect(attributes['iteration.id']).toBe(props(parent!)['iteration.id']);
      } else {
        expect(parent!.data.baseData.name).toBe('activity workflowStepRun');
        // The first judge round starts in the consolidation step, once consolidation's edits are known.
        const step = attributes['iteration.id'] === 'review-1' ? 'consolidation' : attributes['llm.purpose'];
        expect(props(parent!)['workflow.step']).toBe(step);
      }
      expect(Number(attributes['llm.tokens.input'])).toBeGreaterThan(0);
      expect(Number(attributes['llm.tokens.output'])).toBeGreaterThan(0);
      expect(attributes['llm.tokens.cache_read']).toBeDefined();
      expect(Number(attributes['cost.micro_usd'])).toBeGreaterThan(0);
    }

    // Failures carry their error code.
    const notFound = named('GET /api/v1/jobs/{jobId}').find(
      (envelope) => props(envelope)['error.code'] === 'not_found',
    );
    expect(notFound?.data.baseData.responseCode).toBe('404');

    // Metrics by tenant and model.
    expect(metricTotal('jobs.started', { 'tenant.id': 'acme' })).toBeGreaterThanOrEqual(1);
    const model = String(props(llmSpans()[0]!)['llm.model']);
    expect(
      metricTotal('llm.calls', { 'tenant.id': 'acme', 'llm.model': model, outcome: 'success' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      metricTotal('llm.tokens', { 'tenant.id': 'acme', 'llm.model': model, 'token.type': 'output' }),
    ).toBeGreaterThan(0);
    expect(metricTotal('llm.cost', { 'tenant.id': 'acme', 'llm.model': model })).toBeGreaterThan(0);
    expect(metricTotal('quota.refusals', { 'tenant.id': 'tight', 'error.code': 'quota_exceeded' })).toBe(1);

    // Nothing sent contains the story, the caller's token or the Anthropic key.
    const sent = recorder.rawBodies.join('\n');
    expect(sent).not.toContain(storyMarker);
    expect(sent).not.toContain(token);
    expect(sent).not.toContain(anthropicKey);
    expect(sent.toLowerCase()).not.toContain('bearer');
  }, 240_000);
});
