import { createRequire } from 'node:module';
import { HttpRequest, InvocationContext } from '@azure/functions';
import type * as RoutesModule from '../shared/api/routes';
import type * as RouteModule from '../shared/http/route';
import type * as JobModule from '../shared/jobs/job';
import type * as ServicesModule from '../shared/services';
import { startService } from '../test/support/service';

/**
 * Job creation on the local stack (offline engine): (1) end-to-end latency of `POST /api/v1/jobs` over HTTP,
 * sequentially and with 8 clients at once, and throughput; (2) the service's own overhead per request
 * (authentication + validation + tenant/plan reads + the job write) measured in-process, without HTTP or the
 * orchestration start. Prints medians and p95s.
 */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

async function main(): Promise<void> {
  const requests = Number(process.env.BENCH_REQUESTS ?? 200);
  // Quotas would refuse most of these jobs (the admission benchmark measures them); this one measures creation.
  const service = await startService({ LOG_LEVEL: 'error', QUOTAS_ENABLED: 'false' });
  const token = await service.token({ sub: 'bench', tenantId: 'bench-tenant' });
  const body = JSON.stringify({
    story: 'As a shopper, I want to pay with a saved card so that checkout is quick.',
    mode: 'individual',
    iterations: ['validation'],
  });
  const create = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${service.url}/api/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    await response.arrayBuffer();
    if (response.status !== 202) throw new Error(`unexpected ${response.status}`);
    return performance.now() - started;
  };

  const createAndFinish = async (): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${service.url}/api/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });
    const elapsed = performance.now() - started;
    const { id } = (await response.json()) as { id: string };
    for (;;) {
      const job = (await (
        await fetch(`${service.url}/api/v1/jobs/${id}`, { headers: { authorization: `Bearer ${token}` } })
      ).json()) as { status: string };
      if (['completed', 'failed', 'cancelled'].includes(job.status)) return elapsed;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  for (let warm = 0; warm < 10; warm++) await createAndFinish();
  // Idle: each job finishes before the next is created, so creation does not compete with running jobs.
  const idle: number[] = [];
  for (let index = 0; index < Math.min(50, requests); index++) idle.push(await createAndFinish());
  const sequential: number[] = [];
  for (let index = 0; index < requests; index++) sequential.push(await create());

  const concurrency = 8;
  const concurrent: number[] = [];
  const started = performance.now();
  let issued = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (issued < requests) {
        issued++;
        concurrent.push(await create());
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;

  // In-process: the HTTP wrapper and the job service, against the same emulators, orchestration start stubbed.
  // Let the jobs created above finish, so the in-process figures measure the service, not a busy machine.
  for (;;) {
    const pending = await Promise.all(
      ['queued', 'running'].map(async (status) => {
        const page = (await (
          await fetch(`${service.url}/api/v1/jobs?status=${status}&limit=1`, {
            headers: { authorization: `Bearer ${token}` },
          })
        ).json()) as { items: unknown[] };
        return page.items.length;
      }),
    );
    if (pending.every((count) => count === 0)) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  // The app reads its configuration once, when first loaded: point it at this stack before loading it.
  Object.assign(process.env, service.env, { LOG_LEVEL: 'error' });
  const load = createRequire(__filename);
  const { routes } = load('../shared/api/routes') as typeof RoutesModule;
  const { wrapRoute } = load('../shared/http/route') as typeof RouteModule;
  const { toJobView } = load('../shared/jobs/job') as typeof JobModule;
  const { uses } = load('../shared/services') as typeof ServicesModule;
  const handler = wrapRoute(
    routes.createJob,
    uses('jobs'),
    ({ jobs }) =>
      async ({ body: parsed, principal }) => {
        const job = await jobs.create(principal, parsed, {
          start: () => Promise.resolve(),
          raise: () => Promise.resolve(),
        });
        return { status: 202, body: toJobView(job) };
      },
  );
  const invoke = async (): Promise<number> => {
    const request = new HttpRequest({
      method: 'POST',
      url: 'http://localhost/api/v1/jobs',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: { string: body },
    });
    const begun = performance.now();
    const response = await handler(request, new InvocationContext({ functionName: 'jobs-create' }));
    if (response.status !== 202) throw new Error(`unexpected ${response.status}`);
    return performance.now() - begun;
  };
  for (let warm = 0; warm < 20; warm++) await invoke();
  const inProcess: number[] = [];
  for (let index = 0; index < requests; index++) inProcess.push(await invoke());

  await service.stop();
  process.stdout.write(
    [
      `job creation over HTTP, idle service (${idle.length}): p50 ${fmt(percentile(idle, 50))}, p95 ${fmt(percentile(idle, 95))}`,
      `job creation over HTTP, back to back while earlier jobs run (${requests}): p50 ${fmt(percentile(sequential, 50))}, p95 ${fmt(percentile(sequential, 95))}`,
      `job creation over HTTP, ${concurrency} clients (${requests}): p50 ${fmt(percentile(concurrent, 50))}, p95 ${fmt(percentile(concurrent, 95))}, throughput ${(requests / seconds).toFixed(1)} jobs/s`,
      `service overhead in-process (auth + validation + reads + write, ${requests}): p50 ${fmt(percentile(inProcess, 50))}, p95 ${fmt(percentile(inProcess, 95))}`,
    ].join('\n') + '\n',
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
