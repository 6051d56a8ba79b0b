import { describe, expect, it, vi } from 'vitest';
import { DocumentExistsError, type CosmosStore } from '../adapters/cosmos-store';
import { AppError } from '../errors';
import { createLogger } from '../logger';
import { EventLog } from './event-log';
import { eventStream, JobEventFeeds } from './event-stream';
import { ProgressPublisher } from './progress-publisher';

/** The two calls the event log makes, over an in-memory container, with Cosmos' 409 on a taken id. */
function memoryStore() {
  const documents = new Map<string, Record<string, any>>();
  let queries = 0;
  const store = {
    create: async (_container: string, document: { id: string }) => {
      await Promise.resolve();
      if (documents.has(document.id)) throw new DocumentExistsError('The document');
      documents.set(document.id, document);
      return { document, etag: '1' };
    },
    query: async (
      _container: string,
      sql: string,
      parameters: Record<string, any>,
      schema: { parse: (v: unknown) => unknown },
      page: { maxItems?: number } = {},
    ) => {
      queries += 1;
      await Promise.resolve();
      let rows = [...documents.values()].filter(
        (doc) => doc.tenantId === parameters.tenantId && doc.jobId === parameters.jobId,
      );
      if (sql.includes('c.key = @key')) rows = rows.filter((doc) => doc.key === parameters.key);
      if (sql.includes('c.seq > @after')) rows = rows.filter((doc) => doc.seq > parameters.after);
      rows.sort((a, b) => (sql.includes('DESC') ? b.seq - a.seq : a.seq - b.seq));
      const items = rows
        .slice(0, page.maxItems ?? 100)
        .map((row) => schema.parse(sql.includes('SELECT c.seq') ? { seq: row.seq } : row));
      return { items, continuationToken: undefined };
    },
  };
  return { store: store as unknown as CosmosStore, documents, queries: () => queries };
}

const ref = { tenantId: 'acme', jobId: 'job-1' };
const logger = createLogger('test', 'silent');
const progressEvent = (chunk: string) =>
  ({ event: 'iteration:progress', data: { jobId: 'job-1', iteration: 'user-roles', chunk } }) as const;

describe('event log', () => {
  it('numbers events 1..n without gaps or repeats, even when two instances append to one job at once', async () => {
    const { store } = memoryStore();
    const first = new EventLog(store);
    const second = new EventLog(store);
    const writes = Array.from({ length: 20 }, (_, index) =>
      (index % 2 ? first : second).append(ref, progressEvent(String(index))),
    );
    const seqs = (await Promise.all(writes)).map((event) => event.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
    expect((await first.after(ref, 15)).map((event) => event.seq)).toEqual([16, 17, 18, 19, 20]);
  });

  it('writes a keyed event once: a re-run activity gets the logged one back', async () => {
    const { store, documents } = memoryStore();
    const log = new EventLog(store);
    const cancelled = { event: 'cancelled', data: { jobId: 'job-1' } } as const;
    const once = await log.append(ref, cancelled, 'terminal');
    const again = await new EventLog(store).append(ref, cancelled, 'terminal');
    expect(again).toEqual(once);
    expect(documents.size).toBe(1);
  });

  it('finds the keyed events of a log it wrote alone without a query, and asks Cosmos once another writer appends', async () => {
    const { store, documents, queries } = memoryStore();
    const log = new EventLog(store);
    await log.append(ref, progressEvent('a'));
    const keyed = await log.append(ref, progressEvent('b'), 'checkpoint-1');
    expect(await log.append(ref, progressEvent('b'), 'checkpoint-1')).toEqual(keyed);
    // One query in all: the log's last number, when the job was first seen (empty, so no key was in it).
    expect(queries()).toBe(1);

    const other = await new EventLog(store).append(ref, progressEvent('c'), 'checkpoint-2');
    expect(other.seq).toBe(3);
    // This log's next number is taken: it learns of the other writer and finds the key logged there.
    expect(await log.append(ref, progressEvent('c'), 'checkpoint-2')).toEqual(other);
    expect(await log.append(ref, progressEvent('d'), 'checkpoint-3')).toMatchObject({ seq: 4 });
    expect(documents.size).toBe(4);
  });

  it('refuses a payload that does not match the contract', async () => {
    const { store } = memoryStore();
    const bad = { event: 'start', data: { jobId: 'job-1' } } as unknown as Parameters<EventLog['append']>[1];
    await expect(new EventLog(store).append(ref, bad)).rejects.toThrow();
  });
});

describe('progress publisher', () => {
  it('coalesces streamed text into a few progress events instead of one per token', async () => {
    const { store, documents } = memoryStore();
    const publisher = new ProgressPublisher({ log: new EventLog(store), logger, chunkFlushMs: 50 });
    const sink = publisher.chunks(ref, 'user-roles');
    for (let token = 0; token < 200; token++) sink.push('x');
    await sink.flush();
    const events = [...documents.values()];
    expect(events).toHaveLength(1);
    expect(events[0]?.data.chunk).toBe('x'.repeat(200));
  });

  it('never fails the caller: a broken log or Web PubSub is logged and the job goes on', async () => {
    const { store } = memoryStore();
    const failingPubSub = {
      sendToGroup: vi.fn(() => Promise.reject(new AppError('upstream_unavailable', 'down'))),
      clientUrl: vi.fn(),
    };
    const withBrokenPush = new ProgressPublisher({ log: new EventLog(store), pubsub: failingPubSub, logger });
    await expect(withBrokenPush.emit(ref, progressEvent('a'))).resolves.toBeUndefined();
    await vi.waitFor(() => expect(failingPubSub.sendToGroup).toHaveBeenCalledTimes(1));
    expect(failingPubSub.sendToGroup.mock.calls[0]).toEqual([
      'job-job-1',
      expect.objectContaining({ seq: 1, event: 'iteration:progress' }),
    ]);

    const brokenLog = { append: () => Promise.reject(new AppError('upstream_unavailable', 'db down')) };
    const withBrokenLog = new ProgressPublisher({ log: brokenLog as unknown as EventLog, logger });
    await expect(withBrokenLog.emit(ref, progressEvent('b'))).resolves.toBeUndefined();
  });
});

describe('event stream', () => {
  const decoder = new TextDecoder();

  it('replays, follows new events and ends after the terminal one', async () => {
    const { store } = memoryStore();
    const log = new EventLog(store);
    await log.append(ref, progressEvent('a'));
    const stream = eventStream({
      feeds: new JobEventFeeds({ events: log, pollMs: 1000, logger }),
      ref,
      afterSeq: 0,
      heartbeatMs: 60_000,
      maxDurationMs: 60_000,
      follow: true,
    });
    const reader = stream.getReader();
    let text = '';
    const reading = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += decoder.decode(value);
      }
    })();
    await log.append(ref, progressEvent('b'));
    await log.append(ref, { event: 'cancelled', data: { jobId: 'job-1' } }, 'terminal');
    // Woken by this instance's own appends: far sooner than the 1 s poll.
    await Promise.race([
      reading,
      new Promise((_, reject) => setTimeout(() => reject(new Error('slow')), 500)),
    ]);
    expect([...text.matchAll(/^id: (\d+)$/gm)].map((match) => match[1])).toEqual(['1', '2', '3']);
    expect(text).toContain('event: cancelled\ndata: {"jobId":"job-1"}\n\n');
  });

  it('stops querying and clears its timers when the client goes away', async () => {
    const { store, queries } = memoryStore();
    const log = new EventLog(store);
    const stream = eventStream({
      feeds: new JobEventFeeds({ events: log, pollMs: 10, logger }),
      ref,
      afterSeq: 0,
      heartbeatMs: 10,
      maxDurationMs: 60_000,
      follow: true,
    });
    const reader = stream.getReader();
    await reader.read();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await reader.cancel();
    const afterCancel = queries();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(queries()).toBeLessThanOrEqual(afterCancel + 1);
  });

  it('backs off polling while a stream stays quiet', async () => {
    const { store, queries } = memoryStore();
    const stream = eventStream({
      feeds: new JobEventFeeds({ events: new EventLog(store), pollMs: 10, idlePollMs: 80, logger }),
      ref,
      afterSeq: 0,
      heartbeatMs: 60_000,
      maxDurationMs: 60_000,
      follow: true,
    });
    const reader = stream.getReader();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await reader.cancel();
    // At a steady 10 ms it would have been ~50 queries.
    expect(queries()).toBeLessThan(20);
  });

  it('ends a replay without follow once it has caught up', async () => {
    const { store } = memoryStore();
    const log = new EventLog(store);
    await log.append(ref, progressEvent('a'));
    const stream = eventStream({
      feeds: new JobEventFeeds({ events: log, pollMs: 10_000, logger }),
      ref,
      afterSeq: 0,
      heartbeatMs: 60_000,
      maxDurationMs: 60_000,
      follow: false,
    });
    const text = decoder.decode(new Uint8Array(await new Response(stream).arrayBuffer()));
    expect(text).toContain('id: 1\nevent: iteration:progress\n');
  });

  it('serves 100 streams of one job from one poll loop, each stream getting every event once', async () => {
    const { store, queries } = memoryStore();
    const log = new EventLog(store);
    await log.append(ref, progressEvent('a'));
    const feeds = new JobEventFeeds({ events: log, pollMs: 20, idlePollMs: 20, logger });
    const texts = Array.from({ length: 100 }, () => '');
    const readers = texts.map((_, index) => {
      const reader = eventStream({
        feeds,
        ref,
        // Half resume from the first event: the same loop catches them up from where they are.
        afterSeq: index % 2,
        heartbeatMs: 60_000,
        maxDurationMs: 60_000,
        follow: true,
      }).getReader();
      return (async () => {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          texts[index] += decoder.decode(value);
        }
      })();
    });
    expect(feeds.activeLoops).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = queries();
    await new Promise((resolve) => setTimeout(resolve, 400));
    // One loop at 20 ms is about 20 queries in 400 ms; a loop per stream would be about 2,000.
    expect(queries() - before).toBeLessThan(40);
    await log.append(ref, progressEvent('b'));
    await log.append(ref, { event: 'cancelled', data: { jobId: 'job-1' } }, 'terminal');
    await Promise.all(readers);
    expect(feeds.activeLoops).toBe(0);
    texts.forEach((text, index) => {
      const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((match) => match[1]);
      expect(ids).toEqual(index % 2 ? ['2', '3'] : ['1', '2', '3']);
    });
  });
});
