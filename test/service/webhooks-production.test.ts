import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { offlineResponder } from '../../local/messages-api/offline-responder';
import { startMessagesApiServer, type MessagesApiServer } from '../../local/messages-api/server';
import { installNetworkGuard } from '../apps/network-guard-core';
import { loopbackCertificate } from '../support/loopback-certificate';
import { distRoot, tempDir } from '../support/local-services';
import {
  client,
  finished,
  roomyPlanLimits,
  startService,
  waitForJob,
  type Client,
  type ServiceUnderTest,
} from '../support/service';
import { deliveriesOf, startReceiver } from '../support/webhook-receiver';

/**
 * Webhooks with production's guard on (`WEBHOOK_HTTPS_ONLY=true`): receivers are HTTPS on loopback, with a
 * certificate made here that the host trusts through `NODE_EXTRA_CA_CERTS`, so TLS is verified as it is in
 * production. The host answers DNS from a table (private, metadata, mixed and IPv4-mapped addresses) and may
 * connect to nothing beyond loopback; `receiver.test` is the one name that answers 127.0.0.1, the only range
 * `WEBHOOK_ALLOWED_CIDRS` exempts. LLM calls go through the Anthropic SDK to the local Messages API server, so
 * jobs have a price and budget events happen as they would in production.
 */
let messages: MessagesApiServer;
let service: ServiceUnderTest;
let platformAdmin: Client;
let alice: Client;
const receiverName = 'receiver.test';
const violationsFile = path.join(tempDir('network'), 'violations.txt');
const violations: string[] = [];
let certificate: Awaited<ReturnType<typeof loopbackCertificate>>;
const story =
  'As a patient, I want to book an appointment with my doctor online so that I do not have to phone the practice.';

beforeAll(async () => {
  installNetworkGuard({ answers: {}, onViolation: (target) => violations.push(target) });
  writeFileSync(violationsFile, '');
  certificate = await loopbackCertificate([receiverName]);
  messages = await startMessagesApiServer({
    responder: offlineResponder,
    latency: { baseMs: 100, perOutputTokenMs: 0 },
  });
  service = await startService({
    LLM_PROVIDER: 'anthropic',
    ANTHROPIC_BASE_URL: messages.url,
    ANTHROPIC_API_KEY: 'test-key-for-the-local-server',
    ANTHROPIC_MAX_RETRIES: '0',
    WEBHOOK_HTTPS_ONLY: 'true',
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_RETRY_DELAYS_SECONDS: '1,1',
    WEBHOOK_SECRET_KEY: Buffer.alloc(32, 7).toString('base64'),
    NODE_EXTRA_CA_CERTS: certificate.caFile,
    NODE_OPTIONS: `--require ${path.join(distRoot, 'test', 'apps', 'network-guard.js')}`,
    TEST_DNS_ANSWERS: JSON.stringify({
      [receiverName]: ['127.0.0.1'],
      'hooks.internal.test': ['10.0.0.7'],
      'metadata.test': ['169.254.169.254'],
      'metadata-v6.test': ['fd00:ec2::254'],
      'loopback.test': ['127.0.0.2'],
      'mixed.test': ['93.184.216.34', '192.168.1.1'],
      'mixed-loopback.test': ['127.0.0.1', '169.254.169.254'],
      'mapped.test': ['::ffff:10.0.0.1'],
      'mapped-metadata.test': ['::ffff:169.254.169.254'],
    }),
    TEST_NETWORK_VIOLATIONS: violationsFile,
  });
  alice = client(service.url, await service.token({ sub: 'alice', tenantId: 'acme' }));
  platformAdmin = client(
    service.url,
    await service.token({ sub: 'root', tenantId: 'operator', roles: ['platform_admin'] }),
  );
});

afterAll(async () => {
  await service?.stop();
  await messages?.close();
});

/** The events one receiver got, by type, each as its parsed body. */
function eventsOf(receiver: Awaited<ReturnType<typeof startReceiver>>): Record<string, any>[] {
  return receiver.received.map((request) => JSON.parse(request.body) as Record<string, any>);
}

describe('webhooks in production mode (https only)', () => {
  it('refuses plain http URLs at registration with 400 problem+json, storing nothing', async () => {
    const receiver = await startReceiver();
    for (const url of [`http://${receiverName}:${receiver.port}/hook`, receiver.url]) {
      const refused = await alice.post('/api/v1/webhooks', { url, events: ['job.failed'] });
      expect(refused.status).toBe(400);
      expect(refused.headers.get('content-type')).toBe('application/problem+json');
      expect(refused.json).toMatchObject({ status: 400, code: 'validation_failed' });
      expect(refused.json.detail).toContain('https');
    }
    expect((await alice.get('/api/v1/webhooks')).json.items).toEqual([]);
    expect(receiver.received).toEqual([]);
    await receiver.close();
  });

  it('delivers a signed event over verified TLS to a receiver the host trusts', async () => {
    const receiver = await startReceiver([], { tls: certificate, hostname: receiverName });
    const created = await alice.post('/api/v1/webhooks', { url: receiver.url, events: ['job.failed'] });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      id: expect.any(String),
      url: receiver.url,
      events: ['job.failed'],
      secret: expect.stringMatching(/^whsec_/),
    });
    await alice.post(`/api/v1/webhooks/${created.json.id}/test`);
    const [delivery] = await deliveriesOf(alice, created.json.id, (items) => items[0]?.status !== 'pending');
    expect(delivery).toMatchObject({ status: 'delivered', attempts: [{ statusCode: 204 }] });
    const [request] = receiver.received;
    expect(request?.headers.host).toBe(`${receiverName}:${receiver.port}`);
    const payload = new Webhook(String(created.json.secret)).verify(request!.body, {
      'webhook-id': String(request!.headers['webhook-id']),
      'webhook-timestamp': String(request!.headers['webhook-timestamp']),
      'webhook-signature': String(request!.headers['webhook-signature']),
    });
    expect(payload).toMatchObject({ type: 'webhook.test' });
    await alice.delete(`/api/v1/webhooks/${created.json.id}`);
    await receiver.close();
  });

  it('refuses private, metadata, loopback, mixed and mapped resolutions and a redirect, end to end', async () => {
    const redirecting = await startReceiver([302, 302, 302], { tls: certificate, hostname: receiverName });
    const port = redirecting.port;
    const targets: [url: string, error: string, detail?: string][] = [
      [`https://hooks.internal.test:${port}/`, 'address_refused', 'private address'],
      [`https://metadata.test:${port}/`, 'address_refused', 'linkLocal address'],
      [`https://metadata-v6.test:${port}/`, 'address_refused', 'uniqueLocal address'],
      [`https://loopback.test:${port}/`, 'address_refused', 'loopback address'],
      [`https://mixed.test:${port}/`, 'address_refused', 'private address'],
      [`https://mixed-loopback.test:${port}/`, 'address_refused', 'linkLocal address'],
      [`https://mapped.test:${port}/`, 'address_refused', 'private address'],
      [`https://mapped-metadata.test:${port}/`, 'address_refused', 'linkLocal address'],
      [`https://[::ffff:10.0.0.1]:${port}/`, 'address_refused', 'private address'],
      [`https://169.254.169.254:${port}/`, 'address_refused', 'linkLocal address'],
      [redirecting.url, 'redirect_not_followed'],
    ];
    const ids: string[] = [];
    for (const [url] of targets) {
      const created = await alice.post('/api/v1/webhooks', { url, events: ['job.failed'] });
      expect(created.status).toBe(201);
      ids.push(created.json.id);
      expect((await alice.post(`/api/v1/webhooks/${created.json.id}/test`)).status).toBe(202);
    }
    const outcomes = [];
    for (const id of ids) {
      const [delivery] = await deliveriesOf(alice, id, (items) => items[0]?.status === 'dead');
      const attempts = (delivery?.attempts ?? []) as { error?: string; detail?: string }[];
      outcomes.push({
        status: delivery?.status,
        attempts: attempts.length,
        errors: [...new Set(attempts.map((attempt) => [attempt.error, attempt.detail].join(' ').trim()))],
      });
    }
    expect(outcomes).toEqual(
      targets.map(([, error, detail]) => ({
        status: 'dead',
        attempts: 3,
        errors: [[error, detail].join(' ').trim()],
      })),
    );
    // Only the redirect reached a receiver (over verified TLS), once per attempt; it was never followed, and
    // nothing beyond loopback was ever dialled, by the host or by this test.
    expect(redirecting.received.map((request) => request.answered)).toEqual([302, 302, 302]);
    expect(readFileSync(violationsFile, 'utf8')).toBe('');
    expect(violations).toEqual([]);
    await redirecting.close();
  });

  it('sends job.completed, job.failed and each budget threshold once, as a tenant spends its budget', async () => {
    const owner = client(
      service.url,
      await service.token({ sub: 'fiona', tenantId: 'frugal', roles: ['tenant_admin'] }),
    );
    const receiver = await startReceiver([], { tls: certificate, hostname: receiverName });
    const created = await owner.post('/api/v1/webhooks', {
      url: receiver.url,
      events: ['job.completed', 'job.failed', 'budget.threshold'],
    });
    expect(created.status).toBe(201);
    const runJob = async () => {
      const job = await owner.post('/api/v1/jobs', { story, mode: 'individual', iterations: ['validation'] });
      expect(job.status).toBe(202);
      return waitForJob(owner, job.json.id, finished, 60_000);
    };

    // The first job completes on the default plan; then the tenant moves to a budget it has spent 90% of, so
    // the next jobs are admitted but fail at their first call, whose reservation the rest cannot cover.
    const completed = await runJob();
    expect(completed.status).toBe('completed');
    const spentMicroUsd = Number((await owner.get('/api/v1/usage')).json.tenantMonth.costMicroUsd);
    expect(spentMicroUsd).toBeGreaterThan(0);
    const budgetUsd = Math.round(spentMicroUsd / 0.9) / 1_000_000;
    const plan = await platformAdmin.post('/api/v1/admin/plans', {
      id: 'nine-tenths-spent',
      name: 'Nine tenths spent',
      limits: { ...roomyPlanLimits, monthlyBudgetUsd: budgetUsd },
    });
    expect(plan.status).toBe(201);
    const moved = await platformAdmin.patch('/api/v1/admin/tenants/frugal/plan', { planId: plan.json.id });
    expect(moved.status).toBe(200);
    const failed = [await runJob(), await runJob()];
    expect(failed.map((job) => [job.status, job.error?.code])).toEqual([
      ['failed', 'budget_exceeded'],
      ['failed', 'budget_exceeded'],
    ]);

    const items = await deliveriesOf(
      owner,
      created.json.id,
      (found) => found.length === 5 && found.every((item) => item.status === 'delivered'),
    );
    expect(items.map((item) => item.status)).toEqual(Array(5).fill('delivered'));
    const events = eventsOf(receiver);
    const summary = events.map((event) =>
      event.type === 'budget.threshold'
        ? `budget.threshold:${event.data.threshold}`
        : `${event.type}:${event.data.jobId}`,
    );
    expect(summary.sort()).toEqual(
      [
        `job.completed:${completed.id}`,
        `job.failed:${failed[0]!.id}`,
        `job.failed:${failed[1]!.id}`,
        'budget.threshold:50',
        'budget.threshold:80',
      ].sort(),
    );
    expect(events.find((event) => event.type === 'job.failed')?.data.error).toMatchObject({
      code: 'budget_exceeded',
    });
    expect(events.find((event) => event.type === 'budget.threshold')?.data).toMatchObject({
      tenantId: 'frugal',
      budgetUsd,
    });
    expect(JSON.stringify(events)).not.toContain('patient');
    await receiver.close();
  }, 120_000);

  it('sends job.cancelled to the owner’s endpoint when a job is cancelled', async () => {
    const receiver = await startReceiver([], { tls: certificate, hostname: receiverName });
    const created = await alice.post('/api/v1/webhooks', { url: receiver.url, events: ['job.cancelled'] });
    const job = await alice.post('/api/v1/jobs', {
      story,
      mode: 'interactive',
      iterations: ['user-roles', 'validation'],
    });
    await waitForJob(alice, job.json.id, (current) => current.status === 'awaiting_approval');
    expect((await alice.delete(`/api/v1/jobs/${job.json.id}`)).status).toBe(202);
    await waitForJob(alice, job.json.id, (current) => current.status === 'cancelled');
    const [delivery] = await deliveriesOf(
      alice,
      created.json.id,
      (items) => items[0]?.status === 'delivered',
    );
    expect(delivery).toMatchObject({ event: 'job.cancelled', status: 'delivered' });
    expect(eventsOf(receiver)).toEqual([
      expect.objectContaining({
        type: 'job.cancelled',
        data: expect.objectContaining({ jobId: job.json.id, status: 'cancelled' }),
      }),
    ]);
    await receiver.close();
  });
});
