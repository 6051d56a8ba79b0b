/**
 * Admission benchmark: `node dist/bench/admission.js`. Starts the local Cosmos emulator and measures, in
 * process, (1) the latency of job creation (`JobService.create`, orchestration start stubbed out) with
 * quotas off and on, p50/p95, and (2) the largest rate of admission attempts the quota path sustains with
 * zero over-admission: two `QuotaService`s with their own Cosmos clients (two instances) race for one
 * user's daily limit at rising concurrency, and every run is checked for admitting exactly the limit.
 */
import { performance } from 'node:perf_hooks';
import { CosmosClient } from '@azure/cosmos';
import { CosmosStore } from '../shared/adapters/cosmos-store';
import { AppError } from '../shared/errors';
import { JobRepository } from '../shared/jobs/job-repository';
import { createJobBodySchema, JobService, type JobOrchestrations } from '../shared/jobs/job-service';
import { defaultPlans, type PlanLimits } from '../shared/plans/plan';
import { PlanRepository } from '../shared/plans/plan-repository';
import { QuotaService } from '../shared/quotas/quota-service';
import { TenantRepository } from '../shared/tenants/tenant-repository';
import path from 'node:path';
import { startNodeProcess } from '../local/processes';
import { freePort } from '../test/support/local-services';

/** Compiled to `dist/bench/`, so the repository root is two levels up. */
const repoRoot = path.resolve(__dirname, '..', '..');

async function startCosmos(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const cosmos = startNodeProcess({
    name: 'cosmos',
    script: path.join(repoRoot, 'dist', 'local', 'emulators', 'cosmos-main.js'),
    args: ['--port', String(await freePort())],
    readyEvent: 'cosmos-ready',
    output: () => undefined,
  });
  const ready = await cosmos.readyLine;
  return { endpoint: String(ready.endpoint), stop: () => cosmos.stop() };
}

const database = 'admission-bench';
const samples = 400;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

function cosmosClient(endpoint: string): CosmosClient {
  return new CosmosClient({ endpoint, key: 'bench', connectionPolicy: { enableEndpointDiscovery: false } });
}

const noOrchestrations: JobOrchestrations = {
  start: () => Promise.resolve(),
  raise: () => Promise.resolve(),
};

function quotas(store: CosmosStore): QuotaService {
  return new QuotaService({
    store,
    concurrencyRetryAfterSeconds: 30,
    reservationTtlMs: 600_000,
    recordedCall: () => Promise.resolve(undefined),
  });
}

/** Latency of `samples` sequential job creations, each by a fresh user so no limit is ever hit. */
async function createLatency(store: CosmosStore, withQuotas: boolean, tenantId: string): Promise<number[]> {
  const jobs = new JobService({
    jobs: new JobRepository(store),
    tenants: new TenantRepository(store, 'enterprise'),
    plans: new PlanRepository(store),
    approvalTimeoutSeconds: 60,
    queuePollSeconds: 2,
    ...(withQuotas ? { quotas: quotas(store) } : {}),
  });
  const body = createJobBodySchema.parse({
    story: 'As a user I want to reset my password.',
    mode: 'individual',
    iterations: ['validation'],
  });
  const times: number[] = [];
  for (let index = 0; index < samples + 20; index++) {
    const started = performance.now();
    await jobs.create({ tenantId, userId: `user-${index}` }, body, noOrchestrations);
    if (index >= 20) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

/** One race: `attempts` admissions for one user with `concurrency` in flight, split over two instances. */
async function race(
  services: QuotaService[],
  limits: PlanLimits,
  user: string,
  attempts: number,
  concurrency: number,
): Promise<{ admitted: number; refused: number; perSecond: number }> {
  let next = 0;
  let admitted = 0;
  let refused = 0;
  const started = performance.now();
  const worker = async (lane: number) => {
    for (let index = next++; index < attempts; index = next++) {
      const service = services[(lane + index) % services.length];
      if (!service) throw new Error('no quota service');
      try {
        await service.admit({ tenantId: 'bench-race', userId: user }, limits, `job-${index}`);
        admitted++;
      } catch (error: unknown) {
        if (!(error instanceof AppError) || error.code !== 'quota_exceeded') throw error;
        refused++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, lane) => worker(lane)));
  return { admitted, refused, perSecond: attempts / ((performance.now() - started) / 1000) };
}

async function main(): Promise<void> {
  const cosmos = await startCosmos();
  try {
    const store = await CosmosStore.initialize(cosmosClient(cosmos.endpoint), database);
    await new PlanRepository(store).seedDefaults();
    const off = await createLatency(store, false, 'bench-off');
    const on = await createLatency(store, true, 'bench-on');
    const line = (name: string, times: number[]) =>
      `${name.padEnd(12)} p50 ${percentile(times, 50).toFixed(2)} ms  p95 ${percentile(times, 95).toFixed(2)} ms`;
    console.log(`Job creation latency (${samples} sequential requests, local Cosmos emulator)`);
    console.log(line('quotas off', off));
    console.log(line('quotas on', on));
    console.log(
      `overhead     p50 ${(percentile(on, 50) - percentile(off, 50)).toFixed(2)} ms  p95 ${(percentile(on, 95) - percentile(off, 95)).toFixed(2)} ms`,
    );

    const instances = [
      quotas(new CosmosStore(cosmosClient(cosmos.endpoint), database)),
      quotas(new CosmosStore(cosmosClient(cosmos.endpoint), database)),
    ];
    const enterprise = defaultPlans.find((plan) => plan.id === 'enterprise');
    if (!enterprise) throw new Error('no enterprise plan');
    const limit = 100;
    const limits: PlanLimits = {
      ...enterprise.limits,
      requestsPerDay: limit,
      requestsPerMinute: 1_000_000,
      maxConcurrentJobs: 1_000,
      maxQueuedJobs: 1_000,
    };
    console.log(`\nAdmission races: 300 attempts for one user with limit ${limit}, two instances`);
    let best = 0;
    for (const concurrency of [1, 4, 16, 32, 64, 128]) {
      const result = await race(instances, limits, `racer-${concurrency}`, 300, concurrency);
      const exact = result.admitted === limit && result.refused === 300 - limit;
      if (exact) best = Math.max(best, result.perSecond);
      console.log(
        `concurrency ${String(concurrency).padStart(3)}: admitted ${result.admitted}, refused ${result.refused}, ${result.perSecond.toFixed(0)} attempts/s${exact ? '' : '  OVER/UNDER-ADMISSION'}`,
      );
    }
    console.log(`largest rate for one user with zero over-admission: ${best.toFixed(0)} attempts/s`);

    // Many users at once: each user's counter is its own document, so they do not contend with each other.
    const users = 32;
    const perUser = 30;
    const perUserLimit = 10;
    const userLimits = { ...limits, requestsPerDay: perUserLimit };
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: users }, (_, user) => race(instances, userLimits, `crowd-${user}`, perUser, 4)),
    );
    const seconds = (performance.now() - started) / 1000;
    const exact = results.every((result) => result.admitted === perUserLimit);
    console.log(
      `${users} users x ${perUser} attempts (limit ${perUserLimit} each, 4 in flight per user): ${((users * perUser) / seconds).toFixed(0)} attempts/s, ${exact ? 'every user admitted exactly its limit' : 'OVER/UNDER-ADMISSION'}`,
    );
  } finally {
    await cosmos.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
