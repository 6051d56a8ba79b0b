import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../support/local-services';
import {
  getStatus,
  startDurableHost,
  startOrchestration,
  waitForStatus,
  type DurableHost,
} from '../support/durable';

let azurite: Azurite;
const hosts: DurableHost[] = [];

beforeAll(async () => {
  azurite = await startAzurite();
  const options = { storage: azurite.connectionString, taskHub: 'SharedHub', leaseMs: 3000, pollMs: 100 };
  hosts.push(...(await Promise.all([startDurableHost(options), startDurableHost(options)])));
});

afterAll(async () => {
  await Promise.all(hosts.map((host) => host.process.stop()));
  await azurite?.stop();
});

describe('local durable runtime: two hosts on one task hub', () => {
  it('completes 20 orchestrations started on both hosts, applying every activity result once', async () => {
    const [a, b] = hosts;
    if (!a || !b) throw new Error('hosts did not start');
    const run = `shared${Date.now()}`;
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        startOrchestration(
          (i % 2 === 0 ? a : b).rpcBaseUrl,
          'slowChain',
          { run, steps: 3, ms: 20 },
          `${run}-${i}`,
        ),
      ),
    );
    for (const [i, id] of ids.entries()) {
      // Ask the other host: both serve the same task hub.
      const status = await waitForStatus((i % 2 === 0 ? b : a).rpcBaseUrl, id, undefined, 30_000);
      expect(status).toMatchObject({
        runtimeStatus: 'Completed',
        output: [0, 1, 2].map((step) => `${run}-${i}:${step}`),
      });
      const history = (await getStatus(a.rpcBaseUrl, id, true)).historyEvents ?? [];
      const completedIds = history
        .filter((e) => e['EventType'] === 'TaskCompleted')
        .map((e) => e['TaskScheduledId']);
      expect(completedIds).toEqual([0, 1, 2]);
      expect(history.filter((e) => e['EventType'] === 'ExecutionStarted')).toHaveLength(1);
      expect(history.filter((e) => e['EventType'] === 'ExecutionCompleted')).toHaveLength(1);
    }
  });
});
