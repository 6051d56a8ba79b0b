import { CosmosClient } from '@azure/cosmos';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CosmosStore } from '../../shared/adapters/cosmos-store';
import { AlertRepository } from '../../shared/alerts/alert-repository';
import { hourMs, lastFullHour, usageAlertId, type UsageAlertDocument } from '../../shared/alerts/usage-alert';
import { UsageAlerts } from '../../shared/alerts/usage-alerts';
import { AuditTrail } from '../../shared/audit/audit-trail';
import { UsageRepository, usageRecordId, type UsageRecord } from '../../shared/jobs/usage-records';
import { createLogger } from '../../shared/logger';
import { TenantRepository } from '../../shared/tenants/tenant-repository';
import { startIngestionRecorder, type IngestionRecorder } from '../support/ingestion-recorder';
import { startHost, type StartedProcess } from '../support/local-services';
import { allPages, client, startService, type Client, type ServiceUnderTest } from '../support/service';
import { startReceiver } from '../support/webhook-receiver';

/**
 * Usage anomaly alerts end to end, on usage histories seeded straight into Cosmos through the repository:
 * scans of a chosen hour on two hosts and again, webhooks to loopback receivers, the audit trail, the list,
 * and Application Insights custom events sent by the real exporter to a loopback ingestion recorder.
 */
const dayMs = 24 * hourMs;
/** The scanned hour: three days ago, so the hour has ended and the timer of these hosts never looks at it. */
const hour = new Date(lastFullHour(new Date()).getTime() - 3 * dayMs);
const hourIso = hour.toISOString();
/** The stalled tenant's spike, an hour earlier. */
const stalledHour = new Date(hour.getTime() - hourMs);

let recorder: IngestionRecorder;
let service: ServiceUnderTest;
let secondHost: { url: string; process: StartedProcess };
let store: CosmosStore;
let usage: UsageRepository;
let platformToken: string;
let platformAdmin: Client;
const admins: Record<string, Client> = {};
const receivers: Record<string, Awaited<ReturnType<typeof startReceiver>>> = {};
const secrets: Record<string, string> = {};

interface CallSize {
  tokens: number;
  microUsd: number;
}
const small: CallSize = { tokens: 20_000, microUsd: 100_000 };
const large: CallSize = { tokens: 40_000, microUsd: 300_000 };

/** `calls` LLM calls of one tenant spread over the hour starting at `start`, written as the engine writes them. */
async function seedCalls(tenantId: string, start: Date, calls: number, size: CallSize): Promise<void> {
  const records = Array.from({ length: calls }, (_, index): UsageRecord => {
    const at = new Date(start.getTime() + Math.floor((index * hourMs) / calls)).toISOString();
    const jobId = `seed-${start.getTime()}-${Math.floor(index / 5)}`;
    const attempt = (index % 5) + 1;
    return {
      id: usageRecordId(jobId, 'validation', 'iteration', attempt),
      tenantId,
      userId: 'seeded',
      type: 'usage',
      jobId,
      iterationId: 'validation',
      purpose: 'iteration',
      attempt,
      model: 'claude-sonnet-4-5',
      provider: 'anthropic',
      at,
      day: at.slice(0, 10),
      month: at.slice(0, 7),
      inputTokens: (size.tokens * 3) / 4,
      outputTokens: size.tokens / 4,
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
      costMicroUsd: size.microUsd,
    };
  });
  for (let index = 0; index < records.length; index += 20) {
    await Promise.all(records.slice(index, index + 20).map((record) => usage.record(record)));
  }
}

/** The same hour on each of the 14 days before `at`: `perDay[0]` calls the day before, and so on. */
async function seedHistory(tenantId: string, at: Date, perDay: number[], size: CallSize): Promise<void> {
  for (const [index, calls] of perDay.entries()) {
    await seedCalls(tenantId, new Date(at.getTime() - (index + 1) * dayMs), calls, size);
  }
}

/** What a receiver saw, once it has seen `count` requests (and a little longer, to catch any extra). */
async function receivedBy(name: string, count: number): Promise<Record<string, any>[]> {
  const receiver = receivers[name]!;
  for (const deadline = Date.now() + 45_000; receiver.received.length < count && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return receiver.received.map((request) =>
    new Webhook(secrets[name]!).verify(request.body, {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    }),
  ) as Record<string, any>[];
}

/** The `usage.anomaly` custom events received for alerts of `at`, once `count` have arrived (and a moment more). */
async function anomalyEvents(at: Date, count: number): Promise<Record<string, string>[]> {
  const matching = () =>
    recorder.envelopes
      .filter(
        (envelope) =>
          envelope.data.baseType === 'EventData' &&
          envelope.data.baseData.name === 'usage.anomaly' &&
          envelope.data.baseData.properties?.['alert.hour'] === at.toISOString(),
      )
      .map((envelope) => envelope.data.baseData.properties ?? {});
  for (const deadline = Date.now() + 30_000; matching().length < count && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await new Promise((resolve) => setTimeout(resolve, 1500));
  return matching();
}

const listAll = (api: Client, query = '') => allPages(api, `/api/v1/admin/alerts?limit=2${query}`);

beforeAll(async () => {
  recorder = await startIngestionRecorder();
  service = await startService({
    WEBHOOK_ALLOWED_CIDRS: '127.0.0.1/32',
    WEBHOOK_RETRY_DELAYS_SECONDS: '1,1',
    APPLICATIONINSIGHTS_CONNECTION_STRING: recorder.connectionString,
    NODE_EXTRA_CA_CERTS: recorder.caFile,
    OTEL_BLRP_SCHEDULE_DELAY: '200',
  });
  // A second instance on the same database and task hub: scans on two hosts at once.
  secondHost = await startHost({ env: service.env });
  store = await CosmosStore.initialize(
    new CosmosClient({
      endpoint: service.cosmosEndpoint,
      key: 'local-emulator',
      connectionPolicy: { enableEndpointDiscovery: false },
    }),
    service.database,
  );
  usage = new UsageRepository(store);
  const tenants = new TenantRepository(store, 'enterprise');
  platformToken = await service.token({ sub: 'root', tenantId: 'operator', roles: ['platform_admin'] });
  platformAdmin = client(service.url, platformToken);
  for (const tenantId of ['spiky', 'steady', 'quiet', 'rival', 'stalled']) {
    await tenants.ensure(tenantId);
    admins[tenantId] = client(
      service.url,
      await service.token({ sub: `${tenantId}-admin`, tenantId, roles: ['tenant_admin'] }),
    );
  }
  for (const tenantId of ['spiky', 'steady', 'quiet', 'rival']) {
    receivers[tenantId] = await startReceiver();
    const created = await admins[tenantId]!.post('/api/v1/webhooks', {
      url: receivers[tenantId].url,
      events: ['usage.anomaly'],
    });
    expect(created.status).toBe(201);
    secrets[tenantId] = String(created.json.secret);
  }

  // About five calls in this hour of every day, then sixty.
  await seedHistory('spiky', hour, [4, 5, 6, 5, 4, 5, 6, 5, 5, 4, 6, 5, 5, 5], small);
  await seedCalls('spiky', hour, 60, small);
  // Busy (above the token and cost floors) and steady; a burst starting the next hour is not this hour's.
  await seedHistory('steady', hour, [10, 11, 9, 12, 10, 11, 10, 9, 12, 11, 10, 10, 11, 12], large);
  await seedCalls('steady', hour, 12, large);
  await seedCalls('steady', new Date(hour.getTime() + hourMs), 30, large);
  // No history at all, then one small job.
  await seedCalls('quiet', hour, 6, { tokens: 15_000, microUsd: 50_000 });
  // No history, then well above every floor.
  await seedCalls('rival', hour, 30, small);
  await seedCalls('stalled', stalledHour, 30, small);
}, 600_000);

afterAll(async () => {
  await Promise.all(Object.values(receivers).map((receiver) => receiver.close()));
  await secondHost?.process.stop();
  await service?.stop();
  await recorder?.close();
});

describe('usage anomaly alerts', () => {
  it('flags a spike once, scanned on two hosts at once and again; never a steady or a quiet tenant', async () => {
    const scans = await Promise.all(
      [service.url, secondHost.url].map((url) =>
        client(url, platformToken).post('/api/v1/admin/alerts/scan', { hour: hourIso }),
      ),
    );
    expect(scans.map((scan) => scan.status)).toEqual([200, 200]);
    const flagged = (scan: (typeof scans)[number]) =>
      scan.json.anomalies.map((alert: Record<string, any>) => `${alert.tenantId}:${alert.metric}`).sort();
    const expected = [
      'rival:costMicroUsd',
      'rival:requests',
      'rival:tokens',
      'spiky:costMicroUsd',
      'spiky:requests',
      'spiky:tokens',
    ];
    expect(scans.map(flagged)).toEqual([expected, expected]);
    // Each alert was raised by exactly one of the two hosts.
    expect(scans[0]!.json.raised + scans[1]!.json.raised).toBe(6);
    expect(scans[0]!.json.tenantsScanned).toBeGreaterThanOrEqual(5);

    const again = await platformAdmin.post('/api/v1/admin/alerts/scan', { hour: hourIso });
    expect(again.status).toBe(200);
    expect(flagged(again)).toEqual(expected);
    expect(again.json.raised).toBe(0);

    const spiky = (await listAll(admins.spiky!)).find((alert) => alert.metric === 'requests');
    expect(spiky).toMatchObject({
      id: usageAlertId('spiky', hour, 'requests'),
      tenantId: 'spiky',
      hour: hourIso,
      observed: 60,
      baseline: { median: 5, days: 14 },
      threshold: 20,
      severity: 'critical',
    });
    expect(await listAll(admins.steady!)).toEqual([]);
    expect(await listAll(admins.quiet!)).toEqual([]);
  });

  it('sends each alert once as a signed usage.anomaly event to the tenant’s own endpoints', async () => {
    const events = await receivedBy('spiky', 3);
    expect(events.map((event) => event.type)).toEqual(['usage.anomaly', 'usage.anomaly', 'usage.anomaly']);
    expect(events.map((event) => event.data.metric).sort()).toEqual(['costMicroUsd', 'requests', 'tokens']);
    expect(events.every((event) => event.data.tenantId === 'spiky' && event.data.hour === hourIso)).toBe(
      true,
    );
    const ids = receivers.spiky!.received.map((request) => request.headers['webhook-id']);
    expect(new Set(ids).size).toBe(3);
    expect((await receivedBy('rival', 3)).map((event) => event.data.tenantId)).toEqual([
      'rival',
      'rival',
      'rival',
    ]);
    expect(receivers.steady!.received).toEqual([]);
    expect(receivers.quiet!.received).toEqual([]);
  });

  it('records each alert once in the tenant’s audit trail, which still verifies', async () => {
    const page = await admins.spiky!.get('/api/v1/admin/audit?action=usage.anomaly_detected');
    expect(page.status).toBe(200);
    const records = page.json.items as Record<string, any>[];
    expect(records.map((record) => record.target.id).sort()).toEqual(
      (['costMicroUsd', 'requests', 'tokens'] as const)
        .map((metric) => usageAlertId('spiky', hour, metric))
        .sort(),
    );
    expect(records[0]).toMatchObject({
      tenantId: 'spiky',
      outcome: 'allowed',
      actor: { type: 'system', id: 'alerts-scan' },
      target: { type: 'usageAlert' },
      details: { hour: hourIso },
    });
    expect((await admins.spiky!.get('/api/v1/admin/audit/verify')).json).toMatchObject({ valid: true });
    const requested = await platformAdmin.get(
      '/api/v1/admin/audit?tenantId=_platform&action=alerts.scan_requested',
    );
    expect(requested.json.items).toHaveLength(3);
    expect(requested.json.items[0]).toMatchObject({
      actor: { type: 'user', id: 'root' },
      target: { id: hourIso },
    });
  });

  it('reports each alert once as an Application Insights custom event', async () => {
    const events = await anomalyEvents(hour, 6);
    const listed = await listAll(platformAdmin);
    expect(events.map((event) => event['alert.id']).sort()).toEqual(listed.map((alert) => alert.id).sort());
    expect(
      events.find((event) => event['alert.id'] === usageAlertId('spiky', hour, 'requests')),
    ).toMatchObject({
      'tenant.id': 'spiky',
      'alert.metric': 'requests',
      'alert.severity': 'critical',
      'alert.observed': '60',
      'alert.threshold': '20',
    });
  });

  it('lists a tenant’s alerts to its admins, every tenant’s to platform admins, and never another’s', async () => {
    const spiky = await listAll(admins.spiky!);
    expect(spiky).toHaveLength(3);
    expect(spiky.every((alert) => alert.tenantId === 'spiky')).toBe(true);
    expect((await admins.spiky!.get('/api/v1/admin/alerts?tenantId=rival')).status).toBe(403);
    const user = client(service.url, await service.token({ sub: 'eve', tenantId: 'spiky' }));
    expect((await user.get('/api/v1/admin/alerts')).status).toBe(403);

    const everyTenant = await listAll(platformAdmin);
    expect(everyTenant.map((alert) => alert.tenantId).sort()).toEqual([
      'rival',
      'rival',
      'rival',
      'spiky',
      'spiky',
      'spiky',
    ]);
    expect(await listAll(platformAdmin, '&tenantId=rival')).toHaveLength(3);
    const next = new Date(hour.getTime() + hourMs).toISOString();
    expect(await listAll(admins.spiky!, `&from=${encodeURIComponent(next)}`)).toEqual([]);
    expect(await listAll(admins.spiky!, `&to=${encodeURIComponent(hourIso)}`)).toEqual([]);
    expect(
      await listAll(admins.spiky!, `&from=${encodeURIComponent(hourIso)}&to=${encodeURIComponent(next)}`),
    ).toHaveLength(3);
  });

  it('finishes an alert a stopped scan left half-raised, but not one another scan is raising', async () => {
    // What the scan finds for the stalled tenant: 30 calls against an empty history.
    const findings = {
      requests: { observed: 30, threshold: 20, severity: 'warning' },
      tokens: { observed: 600_000, threshold: 200_000, severity: 'critical' },
    } as const;
    const claimed = (metric: keyof typeof findings, claimedAt: Date): UsageAlertDocument => {
      const alertId = usageAlertId('stalled', stalledHour, metric);
      return {
        id: `alert:${alertId}`,
        tenantId: 'stalled',
        type: 'usageAlert',
        alertId,
        alertTenantId: 'stalled',
        metric,
        hour: stalledHour.toISOString(),
        ...findings[metric],
        median: 0,
        mad: 0,
        baselineDays: 14,
        detectedAt: claimedAt.toISOString(),
        claimedAt: claimedAt.toISOString(),
      };
    };
    const tenMinutesAgo = () => new Date(Date.now() - 10 * 60_000);
    // A scan that stopped ten minutes ago after claiming `requests`; another claiming `tokens` right now.
    await store.create('alerts', claimed('requests', tenMinutesAgo()));
    await store.create('alerts', claimed('tokens', new Date()));

    const body = { hour: stalledHour.toISOString(), tenantId: 'stalled' };
    const scan = await platformAdmin.post('/api/v1/admin/alerts/scan', body);
    expect(scan.status).toBe(200);
    expect(scan.json).toMatchObject({ tenantsScanned: 1, raised: 2 });
    expect(scan.json.anomalies).toHaveLength(3);
    const audited = async () =>
      ((await admins.stalled!.get('/api/v1/admin/audit?action=usage.anomaly_detected')).json.items as any[])
        .map((record) => record.details.metric)
        .sort();
    expect(await audited()).toEqual(['costMicroUsd', 'requests']);

    // The other scan never finished either: once its claim is stale, the next scan takes it over.
    await store.upsert('alerts', claimed('tokens', tenMinutesAgo()));
    expect((await platformAdmin.post('/api/v1/admin/alerts/scan', body)).json.raised).toBe(1);
    expect((await platformAdmin.post('/api/v1/admin/alerts/scan', body)).json.raised).toBe(0);
    expect(await audited()).toEqual(['costMicroUsd', 'requests', 'tokens']);
    expect(await listAll(admins.stalled!)).toHaveLength(3);
    expect((await anomalyEvents(stalledHour, 3)).map((event) => event['alert.metric']).sort()).toEqual([
      'costMicroUsd',
      'requests',
      'tokens',
    ]);
  });

  it('scans the last full hour by the clock it is given (the timer’s scan), one query per tenant and window', async () => {
    const logger = createLogger('alerts-test', 'silent');
    const audit = new AuditTrail({ store, logger });
    const queries = new Map<string, number>();
    const scanner = new UsageAlerts({
      alerts: new AlertRepository(store),
      usage: {
        windowTotals: (tenantId, from, to) => {
          queries.set(tenantId, (queries.get(tenantId) ?? 0) + 1);
          return usage.windowTotals(tenantId, from, to);
        },
      },
      tenants: new TenantRepository(store, 'enterprise'),
      audit,
      webhooks: {
        publish: () => Promise.reject(new Error('every anomaly of this hour was raised before')),
      },
      logger,
      now: () => new Date(hour.getTime() + hourMs + 5 * 60_000),
    });
    const trailLengths = async () =>
      Promise.all(['spiky', 'rival'].map(async (tenantId) => (await audit.verify(tenantId)).checked));
    const before = await trailLengths();
    const started: string[] = [];
    const result = await scanner.scanLastHour({
      start: (instanceId) => {
        started.push(instanceId);
        return Promise.resolve();
      },
    });
    expect(result).toMatchObject({ hour: hourIso, raised: 0 });
    expect(result.anomalies).toHaveLength(6);
    expect(started).toEqual([]);
    expect(await trailLengths()).toEqual(before);
    // The hour, then the same hour on 14 days only for tenants above a floor; one aggregate query each.
    expect(Object.fromEntries(queries)).toEqual({
      operator: 1,
      quiet: 1,
      rival: 15,
      spiky: 15,
      stalled: 1,
      steady: 15,
    });
  });

  it('scans only hours that have ended, on the hour, for platform admins', async () => {
    const future = new Date(lastFullHour(new Date()).getTime() + hourMs).toISOString();
    const refusals = [
      await platformAdmin.post('/api/v1/admin/alerts/scan', { hour: future }),
      await platformAdmin.post('/api/v1/admin/alerts/scan', {
        hour: new Date(hour.getTime() + 60_000).toISOString(),
      }),
      await platformAdmin.post('/api/v1/admin/alerts/scan', { hour: 'yesterday' }),
    ];
    expect(refusals.map((response) => [response.status, response.json.code])).toEqual([
      [400, 'validation_failed'],
      [400, 'validation_failed'],
      [400, 'validation_failed'],
    ]);
    const denied = await admins.spiky!.post('/api/v1/admin/alerts/scan', { hour: hourIso });
    expect([denied.status, denied.json.code]).toEqual([403, 'forbidden']);
  });
});
