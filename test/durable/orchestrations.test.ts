import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, type Azurite } from '../support/local-services';
import {
  getStatus,
  post,
  startDurableHost,
  startOrchestration,
  statusSchema,
  waitForStatus,
  type DurableHost,
} from '../support/durable';

let azurite: Azurite;
let host: DurableHost;
let rpc: string;

beforeAll(async () => {
  azurite = await startAzurite();
  host = await startDurableHost({
    storage: azurite.connectionString,
    taskHub: 'OrchTests',
    maxConcurrentActivities: 4,
  });
  rpc = host.rpcBaseUrl;
});

afterAll(async () => {
  await host?.process.stop();
  await azurite?.stop();
});

describe('local durable runtime: orchestrations replayed by durable-functions', () => {
  it('runs an activity chain and reports its output', async () => {
    const id = await startOrchestration(rpc, 'chain', 3);
    const status = await waitForStatus(rpc, id);
    expect(status).toMatchObject({
      runtimeStatus: 'Completed',
      output: [6, 12, 24],
      input: 3,
      name: 'chain',
    });
  });

  it('fans out 12 activities and fans in their results', async () => {
    const id = await startOrchestration(rpc, 'fanOut', 12);
    const status = await waitForStatus(rpc, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe((2 * (11 * 12)) / 2);
  });

  it('fans out more activities than one storage transaction holds', async () => {
    const id = await startOrchestration(rpc, 'fanOut', 150);
    const status = await waitForStatus(rpc, id, undefined, 30_000);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 149 * 150 });
  });

  it('stores payloads larger than one table property, and fails cleanly beyond what an entity holds', async () => {
    const big = await startOrchestration(rpc, 'bigPayload', { size: 200_000 });
    const status = await waitForStatus(rpc, big, undefined, 30_000);
    expect(status.runtimeStatus).toBe('Completed');
    expect(status.output).toBe('x'.repeat(200_000));
    expect(status.customStatus).toEqual({ length: 200_000 });

    const huge = await startOrchestration(rpc, 'bigPayload', { size: 2_000_000 });
    const failed = await waitForStatus(rpc, huge, undefined, 30_000);
    expect(failed.runtimeStatus).toBe('Failed');
    expect(String(failed.output)).toContain('pass large payloads by reference');
  });

  it('runs no more activities at once than the concurrency limit', async () => {
    const started = Date.now();
    const id = await startOrchestration(rpc, 'slowFanOut', { run: `limit-${started}`, count: 12, ms: 150 });
    const status = await waitForStatus(rpc, id, undefined, 20_000);
    expect(status.runtimeStatus).toBe('Completed');
    // 12 activities of 150 ms, 4 at a time: at least three rounds.
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('waits on a durable timer', async () => {
    const started = Date.now();
    const id = await startOrchestration(rpc, 'timer', 700);
    const status = await waitForStatus(rpc, id);
    expect(status.runtimeStatus).toBe('Completed');
    expect(Date.now() - started).toBeGreaterThanOrEqual(700);
    expect((status.output as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(700);
  });

  it('lets an external event win a race against a timer', async () => {
    const id = await startOrchestration(rpc, 'approvalOrTimeout', { timeoutMs: 10_000 });
    await waitForStatus(rpc, id, (s) => s.runtimeStatus === 'Running');
    expect((await post(new URL(`instances/${id}/raiseEvent/approval`, rpc), { user: 'ana' })).status).toBe(
      202,
    );
    const status = await waitForStatus(rpc, id, undefined, 5_000);
    expect(status).toMatchObject({
      runtimeStatus: 'Completed',
      output: { outcome: 'approved', by: { user: 'ana' } },
    });
  });

  it('lets the timer win when no event comes', async () => {
    const id = await startOrchestration(rpc, 'approvalOrTimeout', { timeoutMs: 500 });
    const status = await waitForStatus(rpc, id);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { outcome: 'timedOut' } });
  });

  it('retries a failing activity with exponential backoff until it succeeds', async () => {
    const run = `retry-${Date.now()}`;
    const id = await startOrchestration(rpc, 'retrying', { run, failures: 2 });
    const status = await waitForStatus(rpc, id, undefined, 15_000);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: 3 });
    const history = (await getStatus(rpc, id, true)).historyEvents ?? [];
    const types = history.map((e) => e['EventType']);
    expect(types.filter((t) => t === 'TaskFailed')).toHaveLength(2);
    expect(types.filter((t) => t === 'TaskCompleted')).toHaveLength(1);
    // Retry timers wait 200 ms, then 400 ms (coefficient 2).
    const timers = history.filter((e) => e['EventType'] === 'TimerCreated');
    const failed = history.filter((e) => e['EventType'] === 'TaskFailed');
    const delays = timers.map(
      (t, i) => Date.parse(String(t['FireAt'])) - Date.parse(String(failed[i]?.['Timestamp'])),
    );
    expect(delays).toEqual([200, 400]);
  });

  it('keeps task ids in step when a retried activity runs alongside others', async () => {
    const id = await startOrchestration(rpc, 'retryInFanOut', { run: `fanretry-${Date.now()}`, failures: 2 });
    const status = await waitForStatus(rpc, id, undefined, 15_000);
    expect(status).toMatchObject({ runtimeStatus: 'Completed', output: { results: [3, 10, 12], after: 14 } });
  });

  it('fails the orchestration with the last error once the retry attempts are used up', async () => {
    const id = await startOrchestration(rpc, 'retryInFanOut', {
      run: `exhausted-${Date.now()}`,
      failures: 5,
    });
    const status = await waitForStatus(rpc, id, undefined, 15_000);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toContain("Activity function 'flaky' failed: flaky failure 3");
  });

  it('fails the orchestration with the activity error in the status', async () => {
    const id = await startOrchestration(rpc, 'failing', 'disk on fire');
    const status = await waitForStatus(rpc, id);
    expect(status.runtimeStatus).toBe('Failed');
    expect(String(status.output)).toMatch(
      /^Orchestrator function 'failing' failed: Activity function 'fail' failed: boom: disk on fire/,
    );
  });

  it('shows custom status to the client and terminates a running instance', async () => {
    const id = await startOrchestration(rpc, 'waiter', null);
    const waiting = await waitForStatus(rpc, id, (s) => s.customStatus !== null);
    expect(waiting).toMatchObject({ runtimeStatus: 'Running', customStatus: { stage: 'waiting' } });
    expect((await post(new URL(`instances/${id}/terminate?reason=enough`, rpc))).status).toBe(202);
    const status = await waitForStatus(rpc, id);
    expect(status).toMatchObject({ runtimeStatus: 'Terminated', output: 'enough' });
    expect((await post(new URL(`instances/${id}/raiseEvent/go`, rpc), 1)).status).toBe(410);
  });

  it('suspends and resumes an instance; events wait while it is suspended', async () => {
    const id = await startOrchestration(rpc, 'waiter', null);
    await waitForStatus(rpc, id, (s) => s.runtimeStatus === 'Running' && s.customStatus !== null);
    expect((await post(new URL(`instances/${id}/suspend?reason=pause`, rpc))).status).toBe(202);
    await waitForStatus(rpc, id, (s) => s.runtimeStatus === 'Suspended');
    await post(new URL(`instances/${id}/raiseEvent/go`, rpc), 'now');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await getStatus(rpc, id)).runtimeStatus).toBe('Suspended');
    expect((await post(new URL(`instances/${id}/resume?reason=go`, rpc))).status).toBe(202);
    expect(await waitForStatus(rpc, id)).toMatchObject({ runtimeStatus: 'Completed', output: { go: 'now' } });
  });

  it('runs sub-orchestrations and continue-as-new', async () => {
    const parent = await startOrchestration(rpc, 'parent', 1);
    const counter = await startOrchestration(rpc, 'countUp', 0);
    expect(await waitForStatus(rpc, parent)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { fromChild: [2, 4, 8] },
    });
    expect(await waitForStatus(rpc, counter)).toMatchObject({
      runtimeStatus: 'Completed',
      output: 3,
      input: 3,
    });
  });

  it('lists instances with filters and purges finished ones', async () => {
    const id = await startOrchestration(rpc, 'chain', 1, `purge-me-${Date.now()}`);
    await waitForStatus(rpc, id);
    const listed = statusSchema
      .array()
      .parse(await (await fetch(new URL('instances/?runtimeStatus=Completed', rpc))).json());
    expect(listed.map((s) => s.instanceId)).toContain(id);
    expect(listed.every((s) => s.runtimeStatus === 'Completed')).toBe(true);
    const purge = await fetch(new URL(`instances/${id}`, rpc), { method: 'DELETE' });
    expect(await purge.json()).toEqual({ instancesDeleted: 1 });
    expect((await fetch(new URL(`instances/${id}`, rpc))).status).toBe(404);
  });

  it('serves df.getClient in HTTP functions: start, status, raise event, terminate', async () => {
    const started = await post(`${host.url}/orchestrations/waiter`, 'x');
    expect(started.status).toBe(202);
    const { id } = (await started.json()) as { id: string };
    const other = ((await (await post(`${host.url}/orchestrations/waiter`, 'y')).json()) as { id: string })
      .id;
    await waitForStatus(rpc, id, (s) => s.customStatus !== null);
    const viaClient = statusSchema.parse(await (await fetch(`${host.url}/orchestrations/${id}`)).json());
    expect(viaClient).toMatchObject({ instanceId: id, name: 'waiter', runtimeStatus: 'Running', input: 'x' });
    expect((await post(`${host.url}/orchestrations/${id}/events/go`, { ok: true })).status).toBe(202);
    expect((await post(`${host.url}/orchestrations/${other}/terminate`)).status).toBe(202);
    expect(await waitForStatus(rpc, id)).toMatchObject({
      runtimeStatus: 'Completed',
      output: { go: { ok: true } },
    });
    expect(await waitForStatus(rpc, other)).toMatchObject({
      runtimeStatus: 'Terminated',
      output: 'stopped by test',
    });
  });
});
