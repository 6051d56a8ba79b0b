import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAzurite, startHost, type Azurite } from '../support/local-services';

let azurite: Azurite;
let observations: ContainerClient;
let incoming: ContainerClient;

async function observed(kind: string): Promise<Record<string, unknown>[]> {
  await observations.createIfNotExists();
  const found: Record<string, unknown>[] = [];
  for await (const blob of observations.listBlobsFlat({ prefix: `${kind}/` })) {
    const content = await observations.getBlobClient(blob.name).downloadToBuffer();
    found.push(JSON.parse(content.toString('utf8')) as Record<string, unknown>);
  }
  return found;
}

async function until<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  azurite = await startAzurite();
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  observations = service.getContainerClient('observations');
  incoming = service.getContainerClient('incoming');
  await incoming.createIfNotExists();
});

afterAll(async () => {
  await azurite?.stop();
});

describe('local Functions host: timer and blob triggers', () => {
  it('runs a timer function on its schedule', async () => {
    const host = await startHost({
      main: 'dist/test/apps/basic-app/*.js',
      env: {
        AzureWebJobsStorage: azurite.connectionString,
        TEST_TIMER_SCHEDULE: '*/1 * * * * *',
        LOCAL_BLOB_POLL_MS: '200',
      },
    });
    try {
      const ticks = await until(
        () => observed('tick'),
        (found) => found.length >= 3,
      );
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      const times = ticks.map((tick) => Date.parse(String(tick.at))).sort((a, b) => a - b);
      // Every second, on the second: consecutive runs about a second apart, not a burst.
      for (let index = 1; index < times.length; index++) {
        expect((times[index] ?? 0) - (times[index - 1] ?? 0)).toBeGreaterThan(500);
      }
    } finally {
      await host.process.stop();
    }
  });

  it('fires a blob trigger exactly once per new blob, also across a host restart', async () => {
    const env = {
      AzureWebJobsStorage: azurite.connectionString,
      TEST_TIMER_SCHEDULE: '0 0 0 1 1 *',
      LOCAL_BLOB_POLL_MS: '200',
    };
    const first = await startHost({ main: 'dist/test/apps/basic-app/*.js', env });
    await incoming.getBlockBlobClient('first.txt').upload('first content', 13);
    const afterFirst = await until(
      () => observed('blob'),
      (found) => found.length >= 1,
    );
    expect(afterFirst).toHaveLength(1);
    expect(afterFirst[0]).toMatchObject({ name: 'first.txt', content: 'first content' });
    await sleep(1000); // several more polls: still once
    expect(await observed('blob')).toHaveLength(1);
    await first.process.stop();

    const second = await startHost({ main: 'dist/test/apps/basic-app/*.js', env });
    try {
      await incoming.getBlockBlobClient('second.txt').upload('second content', 14);
      const afterRestart = await until(
        () => observed('blob'),
        (found) => found.length >= 2,
      );
      await sleep(1000);
      const all = await observed('blob');
      expect(all).toHaveLength(2);
      expect(all.map((entry) => entry.name).sort()).toEqual(['first.txt', 'second.txt']);
      expect(afterRestart.filter((entry) => entry.name === 'first.txt')).toHaveLength(1);
    } finally {
      await second.process.stop();
    }
  });
});
