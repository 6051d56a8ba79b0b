import { TableClient } from '@azure/data-tables';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../support/local-services';
import {
  getStatus,
  post,
  startDurableHost,
  startOrchestration,
  waitForStatus,
  type DurableHost,
} from '../support/durable';

let azurite: Azurite;
const hosts: DurableHost[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  for (const host of hosts) await host.process.stop();
  await azurite?.stop();
});

/** How many times each activity key completed, from the rows the test app's activities write. */
async function completions(run: string): Promise<Map<string, number>> {
  const table = TableClient.fromConnectionString(azurite.connectionString, 'durableTestExecutions', {
    allowInsecureConnection: true,
  });
  const counts = new Map<string, number>();
  for await (const row of table.listEntities({ queryOptions: { filter: `PartitionKey eq '${run}'` } })) {
    const key = String(row['Key']);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe('local durable runtime: crash resume', () => {
  it('resumes every instance after SIGKILL: completed activities never rerun, timers and events survive', async () => {
    const run = `crash${Date.now()}`;
    const options = { storage: azurite.connectionString, taskHub: 'CrashTests', leaseMs: 1500, pollMs: 200 };
    const first = await startDurableHost(options);
    hosts.push(first);
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        startOrchestration(first.rpcBaseUrl, 'slowChain', { run, steps: 5, ms: 250 }, `${run}-${i}`),
      ),
    );

    const timer = await startOrchestration(first.rpcBaseUrl, 'timer', 2500, `${run}-timer`);
    const waiting = await startOrchestration(first.rpcBaseUrl, 'waiter', null, `${run}-waiter`);
    const approval = await startOrchestration(
      first.rpcBaseUrl,
      'approvalOrTimeout',
      { timeoutMs: 60_000 },
      `${run}-approval`,
    );
    await waitForStatus(first.rpcBaseUrl, waiting, (s) => s.customStatus !== null);

    // Let a good part of the work happen, then note which activity results the instances had already applied.
    await new Promise((resolve) => setTimeout(resolve, 900));
    // Raised just before the kill: it may not be applied yet, and must not be lost.
    await post(new URL(`instances/${approval}/raiseEvent/approval`, first.rpcBaseUrl), 'before the crash');
    const applied: string[] = [];
    for (const id of ids) {
      const history = (await getStatus(first.rpcBaseUrl, id, true)).historyEvents ?? [];
      const scheduled = new Map(
        history.filter((e) => e['EventType'] === 'TaskScheduled').map((e) => [e['EventId'], e['Input']]),
      );
      for (const done of history.filter((e) => e['EventType'] === 'TaskCompleted')) {
        const input = JSON.parse(String(scheduled.get(done['TaskScheduledId']))) as { key: string };
        applied.push(input.key);
      }
    }
    first.process.child.kill('SIGKILL');
    await new Promise((resolve) => first.process.child.once('exit', resolve));
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.length).toBeLessThan(50);

    const second = await startDurableHost(options);
    hosts.push(second);
    for (const [i, id] of ids.entries()) {
      const status = await waitForStatus(second.rpcBaseUrl, id, undefined, 30_000);
      expect(status.runtimeStatus).toBe('Completed');
      expect(status.output).toEqual(Array.from({ length: 5 }, (_, step) => `${run}-${i}:${step}`));
    }
    const afterTimer = await waitForStatus(second.rpcBaseUrl, timer, undefined, 30_000);
    expect(afterTimer.runtimeStatus).toBe('Completed');
    expect((afterTimer.output as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(2500);
    expect(await waitForStatus(second.rpcBaseUrl, approval, undefined, 30_000)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { outcome: 'approved', by: 'before the crash' },
    });
    // An instance that was waiting for an event before the crash still receives it afterwards.
    await post(new URL(`instances/${waiting}/raiseEvent/go`, second.rpcBaseUrl), 'after the crash');
    expect(await waitForStatus(second.rpcBaseUrl, waiting, undefined, 30_000)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { go: 'after the crash' },
    });

    const counts = await completions(run);
    for (const key of applied) expect(counts.get(key), key).toBe(1);
    // Every activity ran at least once; only those cut off by the kill may have run twice.
    expect(counts.size).toBe(50);
  });
});
