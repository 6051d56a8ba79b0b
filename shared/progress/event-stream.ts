import { toAppError } from '../errors';
import type { Logger } from '../logger';
import { followEvents, type FollowOptions } from './event-follower';
import { toSseFrame } from './progress-event';

export interface EventStreamOptions extends Omit<FollowOptions, 'signal'> {
  heartbeatMs: number;
  /**
   * Longest life of one stream; clients resume with `Last-Event-ID`. A client that disconnects cancels the
   * stream (see `shared/http/client-disconnect.ts`); this bounds it where a proxy in between hides the disconnect.
   */
  maxDurationMs: number;
  logger: Logger;
}

const encoder = new TextEncoder();

/**
 * An SSE body: replays the job's events after `afterSeq`, then follows new ones until a terminal event, with
 * comment heartbeats. Every timer and listener is released when the stream ends, whichever way it ends.
 */
export function eventStream(options: EventStreamOptions): ReadableStream<Uint8Array> {
  const { ref } = options;
  const following = new AbortController();
  let closed = false;
  let heartbeat: NodeJS.Timeout | undefined;
  let lifetime: NodeJS.Timeout | undefined;

  const release = () => {
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(lifetime);
    following.abort();
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

      void (async () => {
        try {
          for await (const event of followEvents({ ...options, signal: following.signal })) {
            send(toSseFrame(event));
          }
        } catch (error: unknown) {
          // The client resumes with Last-Event-ID (`retry:` above); the code is enough to diagnose.
          options.logger.warn(
            { jobId: ref.jobId, code: toAppError(error).code },
            'event stream query failed',
          );
        }
        finish();
      })();
    },
    cancel() {
      release();
    },
  });
}
