import type { JobRef } from '../jobs/orchestration-contract';
import type { EventLog } from './event-log';
import { terminalEvents, type SequencedEvent } from './progress-event';

export interface FollowOptions {
  events: EventLog;
  ref: JobRef;
  /** Start after this sequence number, 0 for the whole log. */
  afterSeq: number;
  /**
   * Look for events written by other instances this often while they keep coming; this instance's own appends
   * wake the follower at once. Quiet jobs (awaiting approval, or long gone) back off to `idlePollMs`.
   */
  pollMs: number;
  idlePollMs?: number;
  /** False: end once caught up instead of waiting for new events. */
  follow: boolean;
  /** Ends the following (the generator returns) as soon as it aborts. */
  signal: AbortSignal;
}

/**
 * The job's events after `afterSeq`, in order, each once, until a terminal event (included), the signal, or
 * (without `follow`) the end of what is logged. A failed query is thrown to the consumer. Every timer and
 * listener is released when the generator ends, however it ends.
 */
export async function* followEvents(options: FollowOptions): AsyncGenerator<SequencedEvent> {
  const { events, ref, signal } = options;
  let wake: (() => void) | undefined;
  // An append that lands while a query is in flight must not be slept through.
  let pending: boolean;
  const unsubscribe = events.onAppend(ref.jobId, () => {
    pending = true;
    wake?.();
  });
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    let last = options.afterSeq;
    let emptyPolls = 0;
    while (!signal.aborted) {
      pending = false;
      const batch = await events.after(ref, last);
      for (const event of batch) {
        if (signal.aborted) return;
        yield event;
        last = event.seq;
        if (terminalEvents.has(event.event)) return;
      }
      if (batch.length > 0 || pending) {
        emptyPolls = 0;
        continue;
      }
      emptyPolls += 1;
      if (!options.follow) return;
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
        if (signal.aborted) done();
      });
    }
  } finally {
    unsubscribe();
    signal.removeEventListener('abort', onAbort);
    wake?.();
  }
}
