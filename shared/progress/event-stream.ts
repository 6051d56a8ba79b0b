import { toAppError } from '../errors';
import type { JobRef } from '../jobs/orchestration-contract';
import type { Logger } from '../logger';
import type { EventLog } from './event-log';
import { terminalEvents, toSseFrame, type SequencedEvent } from './progress-event';

/** One reader of a job's events: a stream, told what is new for it. */
export interface Subscriber {
  /** The last sequence number it has; events after it are new to it. */
  last: number;
  /** False: end once it has caught up instead of waiting for new events. */
  follow: boolean;
  deliver(events: SequencedEvent[]): void;
  /** Called once, when its events are done (terminal event, caught up without follow, or a failed query). */
  end(): void;
}

export interface JobEventFeedsOptions {
  events: EventLog;
  /**
   * Look for events written by other instances this often while they keep coming; this instance's own appends
   * wake the feed at once. Quiet feeds (a job awaiting approval) back off to `idlePollMs`.
   */
  pollMs: number;
  idlePollMs?: number;
  /** Events read per query. */
  batchSize?: number;
  logger: Logger;
}

/**
 * Every stream of one job on this instance reads from ONE poll loop, so the query rate grows with the jobs
 * watched, not with the connections: each poll asks for the events after the furthest-behind reader's
 * position and hands every reader what is new to it (a reader that joins late, or resumes from an older
 * `Last-Event-ID`, is caught up by the same loop). The loop stops when its last reader leaves.
 */
export class JobEventFeeds {
  private readonly feeds = new Map<string, Set<Subscriber>>();
  private readonly wakers = new Map<string, () => void>();

  constructor(private readonly options: JobEventFeedsOptions) {}

  /** Poll loops running now (one per job with readers). */
  get activeLoops(): number {
    return this.feeds.size;
  }

  /** Adds a reader to the job's feed, starting its loop if it has none; returns the function that removes it. */
  subscribe(ref: JobRef, subscriber: Subscriber): () => void {
    let subscribers = this.feeds.get(ref.jobId);
    if (subscribers) {
      subscribers.add(subscriber);
      this.wakers.get(ref.jobId)?.();
    } else {
      subscribers = new Set([subscriber]);
      this.feeds.set(ref.jobId, subscribers);
      void this.run(ref, subscribers);
    }
    return () => {
      subscribers.delete(subscriber);
      this.wakers.get(ref.jobId)?.();
    };
  }

  private async run(ref: JobRef, subscribers: Set<Subscriber>): Promise<void> {
    const { events, logger, pollMs } = this.options;
    const batchSize = this.options.batchSize ?? 200;
    const idlePollMs = Math.max(pollMs, this.options.idlePollMs ?? 2_000);
    let highest = 0;
    let emptyPolls = 0;
    // A reader that joins, or an append that lands, while a query is in flight must not be slept through.
    let pending: boolean;
    const wakeUp = () => {
      pending = true;
      sleeping?.();
    };
    let sleeping: (() => void) | undefined;
    this.wakers.set(ref.jobId, wakeUp);
    const unsubscribe = events.onAppend(ref.jobId, wakeUp);
    const end = (subscriber: Subscriber) => {
      subscribers.delete(subscriber);
      subscriber.end();
    };
    try {
      while (subscribers.size > 0) {
        pending = false;
        const readers = [...subscribers];
        let batch: SequencedEvent[];
        try {
          batch = await events.after(ref, Math.min(...readers.map((reader) => reader.last)), batchSize);
        } catch (error: unknown) {
          // Clients resume with Last-Event-ID (`retry:`); the code is enough to diagnose.
          logger.warn({ jobId: ref.jobId, code: toAppError(error).code }, 'event stream query failed');
          for (const reader of subscribers) end(reader);
          return;
        }
        const caughtUp = batch.length < batchSize;
        for (const reader of readers) {
          if (!subscribers.has(reader)) continue;
          const fresh = batch.filter((event) => event.seq > reader.last);
          if (fresh.length > 0) reader.deliver(fresh);
          if (fresh.some((event) => terminalEvents.has(event.event)) || (caughtUp && !reader.follow))
            end(reader);
        }
        const newest = batch.at(-1)?.seq ?? 0;
        emptyPolls = newest > highest ? 0 : emptyPolls + 1;
        highest = Math.max(highest, newest);
        if (!caughtUp || pending || emptyPolls === 0 || subscribers.size === 0) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(pollMs * Math.max(1, emptyPolls - 3), idlePollMs));
          function done(): void {
            clearTimeout(timer);
            sleeping = undefined;
            resolve();
          }
          sleeping = done;
        });
      }
    } finally {
      unsubscribe();
      this.wakers.delete(ref.jobId);
      if (this.feeds.get(ref.jobId) === subscribers) this.feeds.delete(ref.jobId);
    }
  }
}

export interface EventStreamOptions {
  feeds: JobEventFeeds;
  ref: JobRef;
  /** Replay starts after this sequence number (`Last-Event-ID`), 0 for the whole log. */
  afterSeq: number;
  heartbeatMs: number;
  /**
   * Longest life of one stream; clients resume with `Last-Event-ID`. A client that disconnects cancels the
   * stream (see `shared/http/client-disconnect.ts`); this bounds it where a proxy in between hides the disconnect.
   */
  maxDurationMs: number;
  /** False: end once the replay has caught up instead of waiting for new events. */
  follow: boolean;
  /** Called once when the stream ends, whichever way it ends (e.g. to release its connection lease). */
  onClose?: () => void;
}

const encoder = new TextEncoder();

/**
 * An SSE body: replays the job's events after `afterSeq`, then follows new ones until a terminal event, with
 * comment heartbeats. Every timer and subscription is released when the stream ends, whichever way it ends.
 */
export function eventStream(options: EventStreamOptions): ReadableStream<Uint8Array> {
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let lifetime: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  const release = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(lifetime);
    unsubscribe?.();
    options.onClose?.();
  };

  return new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const finish = () => {
        if (closed) return;
        release();
        controller.close();
      };
      heartbeat = setInterval(() => send(': heartbeat\n\n'), options.heartbeatMs);
      lifetime = setTimeout(finish, options.maxDurationMs);
      // Tells EventSource-style clients how soon to reconnect after the stream ends without a terminal event.
      send('retry: 1000\n\n');
      const subscriber: Subscriber = {
        last: options.afterSeq,
        follow: options.follow,
        deliver: (events) => {
          for (const event of events) send(toSseFrame(event));
          subscriber.last = events.at(-1)?.seq ?? subscriber.last;
        },
        end: finish,
      };
      unsubscribe = options.feeds.subscribe(options.ref, subscriber);
    },
    cancel() {
      release();
    },
  });
}
