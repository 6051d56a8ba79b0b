import { CosmosClient, type Container } from '@azure/cosmos';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type StartedProcess } from '../support/local-services';
import {
  allPages,
  client,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';

let service: ServiceUnderTest;
let secondHost: { url: string; process: StartedProcess };
let cosmos: CosmosClient;
let admin: Client;
let platformAdmin: Client;
const story = 'As a bank customer, I want to transfer money to another account so that I can pay my rent.';

const auditContainer = (): Container => cosmos.database(service.database).container('audit');

const trail = (api: Client, query = '') => allPages(api, `/api/v1/admin/audit?limit=200${query}`);

beforeAll(async () => {
  service = await startService();
  // A second instance on the same database: writers on two hosts share each tenant's chain.
  secondHost = await startHost({ env: service.env });
  cosmos = new CosmosClient({
    endpoint: service.cosmosEndpoint,
    key: 'local-emulator',
    connectionPolicy: { enableEndpointDiscovery: false },
  });
  admin = client(service.url, await service.token({ sub: 'ada', tenantId: 'acme', roles: ['tenant_admin'] }));
  platformAdmin = client(
    service.url,
    await service.token({ sub: 'root', tenantId: 'operator', roles: ['platform_admin'] }),
  );
});

afterAll(async () => {
  await secondHost?.process.stop();
  await service?.stop();
});

describe('audit trail', () => {
  it('keeps one gapless chain per tenant under concurrent writers on two hosts', async () => {
    const token = await service.token({ sub: 'alice', tenantId: 'acme' });
    const hosts = [client(service.url, token), client(secondHost.url, token)];
    const created = await Promise.all(
      Array.from({ length: 24 }, (_, i) => hosts[i % 2]!.post('/api/v1/api-keys', { name: `ci-${i}` })),
    );
    expect(created.map((response) => [response.status, response.json.detail])).toEqual(
      Array(24).fill([201, undefined]),
    );

    const records = await trail(admin, '&action=api_key.created');
    expect(records).toHaveLength(24);
    expect(new Set(records.map((record) => record.target.id))).toEqual(
      new Set(created.map((response) => response.json.keyId)),
    );
    expect(records[0]!).toMatchObject({
      tenantId: 'acme',
      outcome: 'allowed',
      actor: { type: 'user', id: 'alice', tenantId: 'acme' },
      sourceIp: '127.0.0.1',
    });
    expect(records[0]!.correlationId).toEqual(expect.any(String));
    // No secret reaches the trail.
    const keys = created.map((response) => String(response.json.key));
    expect(keys.some((key) => JSON.stringify(records).includes(key))).toBe(false);

    const seqs = (await trail(admin)).map((record) => record.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    const verified = await admin.get('/api/v1/admin/audit/verify');
    expect(verified.json).toMatchObject({ tenantId: 'acme', valid: true, checked: seqs.length });
    expect(verified.json.headSeq).toBe(seqs.length);
  });

  it('names the first broken seq when a stored record is edited or deleted', async () => {
    const container = auditContainer();
    const original = (await container.item('audit:5', 'acme').read<Record<string, any>>()).resource!;
    expect(original.seq).toBe(5);

    await container.item('audit:5', 'acme').replace({ ...original, details: { name: 'not what happened' } });
    expect((await admin.get('/api/v1/admin/audit/verify')).json).toMatchObject({
      valid: false,
      firstBrokenSeq: 5,
      reason: 'hash_mismatch',
    });
    await container.item('audit:5', 'acme').replace(original);
    expect((await admin.get('/api/v1/admin/audit/verify')).json.valid).toBe(true);

    const third = (await container.item('audit:3', 'acme').read<Record<string, any>>()).resource!;
    await container.item('audit:3', 'acme').delete();
    expect((await admin.get('/api/v1/admin/audit/verify')).json).toMatchObject({
      valid: false,
      firstBrokenSeq: 3,
      reason: 'missing',
    });
    await container.items.create(third);
    expect((await admin.get('/api/v1/admin/audit/verify')).json.valid).toBe(true);
  });

  it('refuses an action whose audit record cannot be written, and changes nothing', async () => {
    const bob = client(service.url, await service.token({ sub: 'bob', tenantId: 'acme' }));
    const container = auditContainer();
    const { resources: saved } = await container.items.readAll<Record<string, any>>().fetchAll();
    await container.delete();
    try {
      const key = await bob.post('/api/v1/api-keys', { name: 'unaudited' });
      expect(key.status).toBe(503);
      expect(key.json.code).toBe('upstream_unavailable');
      const job = await bob.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
      expect(job.status).toBe(503);
    } finally {
      await cosmos
        .database(service.database)
        .containers.create({ id: 'audit', partitionKey: { paths: ['/tenantId'] } });
      for (const document of saved) await auditContainer().items.create(document);
    }
    expect((await bob.get('/api/v1/api-keys')).json.items).toEqual([]);
    expect((await bob.get('/api/v1/jobs')).json.items).toEqual([]);
    expect((await admin.get('/api/v1/admin/audit/verify')).json.valid).toBe(true);
  });

  it('records plans, plan changes, jobs, cross-tenant reads, refused credentials and rate limits', async () => {
    const plan = {
      id: 'one-a-minute',
      name: 'One a minute',
      limits: {
        requestsPerDay: 100,
        tokensPerDay: 1_000_000,
        maxStoryBytes: 10_000,
        maxIterations: 3,
        maxConcurrentJobs: 2,
        maxQueuedJobs: 2,
        requestsPerMinute: 1,
        monthlyBudgetUsd: 10,
      },
    };
    expect((await platformAdmin.post('/api/v1/admin/plans', plan)).status).toBe(201);
    expect(
      (await platformAdmin.patch('/api/v1/admin/tenants/initech/plan', { planId: plan.id })).status,
    ).toBe(200);
    const peter = client(service.url, await service.token({ sub: 'peter', tenantId: 'initech' }));
    const job = await peter.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
    expect(job.status).toBe(202);
    expect((await peter.delete(`/api/v1/jobs/${job.json.id}`)).status).toBeLessThan(500);
    const limited = await peter.post('/api/v1/jobs', {
      story,
      mode: 'individual',
      iterations: ['validation'],
    });
    expect(limited.status).toBe(429);
    expect((await platformAdmin.get('/api/v1/admin/tenants/initech/usage')).status).toBe(200);

    const anonymous = client(service.url, 'not-a-valid-token');
    for (let i = 0; i < 10; i++) expect((await anonymous.get('/api/v1/jobs')).status).toBe(401);

    const initech = await trail(platformAdmin, '&tenantId=initech');
    const actions = initech.map((record) => `${record.action}:${record.outcome}`);
    expect(actions).toEqual(
      expect.arrayContaining([
        'tenant.plan_changed:allowed',
        'job.created:allowed',
        'request.rate_limited:denied',
        'admin.tenant_data_read:allowed',
      ]),
    );
    expect(initech.find((record) => record.action === 'tenant.plan_changed')).toMatchObject({
      actor: { type: 'user', id: 'root', tenantId: 'operator' },
      details: { planId: plan.id },
    });
    expect(initech.find((record) => record.action === 'request.rate_limited')).toMatchObject({
      actor: { id: 'peter' },
      details: { code: 'rate_limited' },
    });

    const platform = await trail(platformAdmin, '&tenantId=_platform');
    expect(platform.find((record) => record.action === 'plan.created')?.target).toEqual({
      type: 'plan',
      id: plan.id,
    });
    expect(platform.find((record) => record.action === 'auth.repeated_failures')).toMatchObject({
      outcome: 'denied',
      actor: { type: 'anonymous' },
      target: { type: 'source', id: '127.0.0.1' },
      details: { failures: 10, lastReason: 'malformed_token' },
    });
    for (const tenantId of ['initech', '_platform']) {
      expect((await platformAdmin.get(`/api/v1/admin/audit/verify?tenantId=${tenantId}`)).json.valid).toBe(
        true,
      );
    }
  });

  it('records key revocations, webhook changes, job approvals and cancellations, and the usage export', async () => {
    const wanda = client(service.url, await service.token({ sub: 'wanda', tenantId: 'globex' }));
    const key = await wanda.post('/api/v1/api-keys', { name: 'pipeline' });
    expect((await wanda.delete(`/api/v1/api-keys/${key.json.keyId}`)).status).toBe(200);
    // Registering an endpoint contacts nothing; it is deleted before any event could go to it.
    const hook = await wanda.post('/api/v1/webhooks', {
      url: 'http://127.0.0.1:9/hook',
      events: ['job.completed'],
    });
    expect(hook.status).toBe(201);
    expect((await wanda.delete(`/api/v1/webhooks/${hook.json.id}`)).status).toBe(204);
    const job = await wanda.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['user-roles', 'validation'],
    });
    const awaiting = (current: Record<string, any>) => current.status === 'awaiting_approval';
    await waitForJob(wanda, job.json.id, awaiting);
    expect((await wanda.post(`/api/v1/jobs/${job.json.id}/approval`, { decision: 'continue' })).status).toBe(
      202,
    );
    await waitForJob(wanda, job.json.id, (current) => awaiting(current) && current.progress.completed === 2);
    expect((await wanda.delete(`/api/v1/jobs/${job.json.id}`)).status).toBe(202);
    const month = new Date().toISOString().slice(0, 7);
    expect((await platformAdmin.get(`/api/v1/admin/usage/export?month=${month}`)).status).toBe(200);

    const globex = await trail(platformAdmin, '&tenantId=globex');
    const byAction = (action: string) => globex.find((record) => record.action === action);
    expect(byAction('api_key.revoked')).toMatchObject({
      outcome: 'allowed',
      actor: { type: 'user', id: 'wanda' },
      target: { type: 'apiKey', id: key.json.keyId },
    });
    expect(byAction('webhook.created')).toMatchObject({
      outcome: 'allowed',
      target: { type: 'webhook', id: hook.json.id },
      details: { host: '127.0.0.1:9', events: 'job.completed', includeStory: false },
    });
    expect(byAction('webhook.deleted')?.target).toEqual({ type: 'webhook', id: hook.json.id });
    expect(byAction('job.approved')).toMatchObject({
      target: { type: 'job', id: job.json.id },
      details: { decision: 'continue', storyEdited: false },
    });
    expect(byAction('job.cancelled')?.target).toEqual({ type: 'job', id: job.json.id });
    expect(JSON.stringify(globex)).not.toContain(String(key.json.key));
    expect(JSON.stringify(globex)).not.toContain(String(hook.json.secret));
    const platform = await trail(platformAdmin, '&tenantId=_platform&action=admin.usage_exported');
    expect(platform[0]).toMatchObject({
      actor: { type: 'user', id: 'root' },
      target: { type: 'usageExport', id: month },
    });
    expect((await platformAdmin.get('/api/v1/admin/audit/verify?tenantId=globex')).json.valid).toBe(true);
  });

  it('pages the trail newest first by cursor, within a time window and for one action', async () => {
    const gavin = client(service.url, await service.token({ sub: 'gavin', tenantId: 'hooli' }));
    for (let i = 0; i < 12; i++) await gavin.post('/api/v1/api-keys', { name: `key-${i}` });
    await gavin.post('/api/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['job.failed'] });
    const hooliAdmin = client(
      service.url,
      await service.token({ sub: 'hank', tenantId: 'hooli', roles: ['tenant_admin'] }),
    );
    const all = await trail(hooliAdmin);
    expect(all.length).toBeGreaterThanOrEqual(13);
    expect(all.map((record) => record.seq)).toEqual(
      [...all].map((record) => record.seq).sort((a: number, b: number) => b - a),
    );
    const paged = await allPages(hooliAdmin, '/api/v1/admin/audit?limit=5');
    expect(paged.map((record) => record.seq)).toEqual(all.map((record) => record.seq));

    // A window around records in the middle of the trail (by their times, which need not follow seq exactly).
    const times = all
      .slice(3, 9)
      .map((record) => String(record.at))
      .sort();
    const from = times[0]!;
    const to = new Date(Date.parse(times.at(-1)!) + 1).toISOString();
    const inWindow = await trail(hooliAdmin, `&from=${from}&to=${to}`);
    expect(inWindow.length).toBeGreaterThanOrEqual(times.length);
    expect(inWindow.length).toBeLessThan(all.length);
    expect(inWindow.every((record) => record.at >= from && record.at < to)).toBe(true);
    expect(all.filter((record) => record.at >= from && record.at < to)).toEqual(inWindow);

    const created = await trail(hooliAdmin, '&action=api_key.created');
    expect(created).toHaveLength(12);
    expect(created).toEqual(all.filter((record) => record.action === 'api_key.created'));
  });

  it('shows a tenant admin only tenants it administers', async () => {
    expect((await admin.get('/api/v1/admin/audit?tenantId=initech')).status).toBe(403);
    expect((await admin.get('/api/v1/admin/audit?tenantId=_platform')).status).toBe(403);
    const user = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
    expect((await user.get('/api/v1/admin/audit')).status).toBe(403);
    expect((await platformAdmin.get('/api/v1/admin/audit')).status).toBe(400);
  });
});
