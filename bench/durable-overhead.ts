/**
 * Orchestration overhead of the local durable runtime: `node dist/bench/durable-overhead.js`.
 * Starts Azurite and the local Functions host (in this process) with the durable test app, then measures
 * (1) per-activity overhead: time from one activity's end to the next one's start in a sequential chain, and
 * (2) throughput: 12-activity fan-out instances completed per second.
 */
import path from 'node:path';
import { z } from 'zod';
import { createDurableExtension } from '../local/durable';
import { startFunctionsHost } from '../local/functions-host/host';
import { createLogger } from '../shared/logger';
import { freePort, repoRoot, startAzurite } from '../test/support/local-services';
import { startOrchestration, waitForStatus } from '../test/support/durable';

const stampsSchema = z.array(z.object({ startedAt: z.number(), endedAt: z.number() }));

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function main(): Promise<void> {
  const azurite = await startAzurite();
  const logger = createLogger('durable-bench', 'warn');
  const durable = createDurableExtension({
    storageConnectionString: azurite.connectionString,
    taskHubName: 'BenchHub',
    rpcPort: await freePort(),
    leaseMs: 30_000,
    pollIntervalMs: 500,
    logger,
  });
  process.env.AzureWebJobsStorage = azurite.connectionString;
  const host = await startFunctionsHost({
    scriptRoot: repoRoot,
    main: path.join('dist', 'test', 'apps', 'durable-app', '*.js'),
    port: await freePort(),
    logger,
    extensions: () => [durable],
  });
  try {
    const rpc = durable.rpcBaseUrl;
    // Warm up code paths and the table before measuring.
    await waitForStatus(rpc, await startOrchestration(rpc, 'stampChain', 5));

    const gaps: number[] = [];
    for (let run = 0; run < 5; run++) {
      const status = await waitForStatus(
        rpc,
        await startOrchestration(rpc, 'stampChain', 20),
        undefined,
        60_000,
      );
      const stamps = stampsSchema.parse(status.output);
      for (let i = 1; i < stamps.length; i++) {
        const previous = stamps[i - 1];
        const current = stamps[i];
        if (previous && current) gaps.push(current.startedAt - previous.endedAt);
      }
    }
    gaps.sort((a, b) => a - b);

    const instances = 20;
    const started = performance.now();
    const ids = await Promise.all(
      Array.from({ length: instances }, () => startOrchestration(rpc, 'stampFanOut', 12)),
    );
    for (const id of ids) await waitForStatus(rpc, id, undefined, 120_000);
    const seconds = (performance.now() - started) / 1000;

    const report = {
      activityOverheadMs: {
        samples: gaps.length,
        median: Number(percentile(gaps, 50).toFixed(1)),
        p95: Number(percentile(gaps, 95).toFixed(1)),
      },
      fanOut12: {
        instances,
        seconds: Number(seconds.toFixed(2)),
        instancesPerSecond: Number((instances / seconds).toFixed(1)),
      },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await host.close();
    await azurite.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
