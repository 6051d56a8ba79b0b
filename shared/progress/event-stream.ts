import { toAppError } from '../errors';
import type { JobRef } from '../jobs/orchestration-contract';
import type { Logger } from '../logger';
import type { EventLog } from './event-log';
import { terminalEvents, toSseFrame } from './progress-event';

export interface EventStreamOptions {
  events: EventLog;
  ref: JobRef;
  /** Replay starts after this sequence number (`Last-Event-ID`), 0 for the whole log. */
  afterSeq: number;
  /**
   * Look for events written by other instances this often while they keep coming; this instance's own appends
   * wake the stream at once. Quiet streams (a job awaiting approval, a client long gone) back off to
   * `idlePollMs`.
   */
  pollMs: number;
  idlePollMs?: number;
  heartbeatMs: number;
  /**
   * Longest life of one stream; clients resume with `Last-Event-ID`. A client that disconnects cancels the
   * stream (see `shared/http/client-disconnect.ts`); this bounds it where a proxy in between hides the disconnect.
   */
  maxDurationMs: number;
  /** False: end once the replay has caught up instead of waiting for new events. */
  follow: boolean;
  logger: Logger;
}

const encoder = new TextEncoder();

/**
 * An SSE body: replays the job's events after `afterSeq`, then follows new ones until a terminal event, with
 * comment heartbeats. Every timer and listener is released when the stream ends, whichever way it ends.
 */
export function eventStream(options: EventStreamOptions): ReadableStream<Uint8Array> {
  const { events, ref } = options;
  let closed = false;
  let wake: (() => void) | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let lifetime: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  // An append that lands while a query is in flight must not be slept through.
  let pending = false;

  const release = () => {
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(lifetime);
    unsubscribe?.();
    wake?.();
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
      unsubscribe = events.onAppend(ref.jobId, () => {
        pending = true;
        wake?.();
      });
      heartbeat = setInterval(() => send(': heartbeat\n\n'), options.heartbeatMs);
      lifetime = setTimeout(finish, options.maxDurationMs);
      // Tells EventSource-style clients how soon to reconnect after the stream ends without a terminal event.
      send('retry: 1000\n\n');

      void (async () => {
        let last = options.afterSeq;
        let emptyPolls = 0;
        while (!closed) {
          pending = false;
          let batch;
          try {
            batch = await events.after(ref, last);
          } catch (error: unknown) {
            // The client resumes with Last-Event-ID (`retry:` above); the code is enough to diagnose.
            options.logger.warn(
              { jobId: ref.jobId, code: toAppError(error).code },
              'event stream query failed',
            );
            finish();
            return;
          }
          for (const event of batch) {
            send(toSseFrame(event));
            last = event.seq;
            if (terminalEvents.has(event.event)) {
              finish();
              return;
            }
          }
          if (batch.length > 0 || pending || closed) {
            emptyPolls = 0;
            continue;
          }
          emptyPolls += 1;
          if (!options.follow) {
            finish();
            return;
          }
          await new Promise<void>((resolve) => {
            const delay = Math.min(
              options.pollMs * Math.max(1, emptyPolls - 3),
              Math.max(options.pollMs, options.idlePollMs ?? 2_000),
            );
            const timer = setTimeout(done, delay);
            function done(): void {
              clearTimeout(timer);
              wake = undefined;
              resolve();
            }
            wake = done;
          });
        }
      })();
    },
    cancel() {
      release();
    },
  });
}
