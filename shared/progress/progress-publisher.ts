import type { WebPubSubPort } from '../adapters/web-pubsub';
import type { IterationId } from '../engine/catalog';
import { toAppError } from '../errors';
import type { JobRef } from '../jobs/orchestration-contract';
import type { Logger } from '../logger';
import type { EventLog } from './event-log';
import { jobGroup, type ProgressEvent, type SequencedEvent } from './progress-event';

export interface ProgressPublisherOptions {
  log: EventLog;
  /** Absent when no Web PubSub is configured: events are then only logged (SSE still serves them). */
  pubsub?: WebPubSubPort;
  logger: Logger;
  /** How long streamed LLM text is coalesced before one `iteration:progress` event is written. */
  chunkFlushMs?: number;
}

/** Collects streamed text of one iteration and writes it as a few `iteration:progress` events, not one per token. */
export interface ChunkSink {
  push(chunk: string): void;
  /** Writes what is buffered; call before the iteration's `iteration:complete`. */
  flush(): Promise<void>;
}

/**
 * Writes progress events to the durable log and pushes them to the job's Web PubSub group. It never throws:
 * progress is a view of the job, so a failure here is logged and the job goes on; the log stays the source of
 * truth that SSE clients and reconnecting browsers catch up from.
 */
export class ProgressPublisher {
  private readonly sends = new Map<string, Promise<void>>();
  private readonly chunkFlushMs: number;

  constructor(private readonly options: ProgressPublisherOptions) {
    this.chunkFlushMs = options.chunkFlushMs ?? 250;
  }

  /** Logs and pushes one event; with `key`, an event already logged under that key is not written again. */
  async emit(ref: JobRef, event: ProgressEvent, key?: string): Promise<void> {
    let sequenced: SequencedEvent;
    try {
      sequenced = await this.options.log.append(ref, event, key);
    } catch (error: unknown) {
      this.options.logger.warn(
        { jobId: ref.jobId, event: event.event, code: toAppError(error).code },
        'progress event not written',
      );
      return;
    }
    this.push(ref, sequenced);
  }

  /** Sends in order per job without holding up the activity: a slow push must not slow the job. */
  private push(ref: JobRef, event: SequencedEvent): void {
    const pubsub = this.options.pubsub;
    if (!pubsub) return;
    const previous = this.sends.get(ref.jobId) ?? Promise.resolve();
    const next = previous.then(() =>
      pubsub
        .sendToGroup(jobGroup(ref.jobId), {
          seq: event.seq,
          event: event.event,
          data: event.data,
          at: event.at,
        })
        .catch((error: unknown) => {
          this.options.logger.warn(
            { jobId: ref.jobId, seq: event.seq, code: toAppError(error).code },
            'progress event not pushed to Web PubSub',
          );
        }),
    );
    this.sends.set(ref.jobId, next);
    void next.then(() => {
      if (this.sends.get(ref.jobId) === next) this.sends.delete(ref.jobId);
    });
  }

  /** A sink for one iteration's streamed text, flushed at most every `chunkFlushMs`. */
  chunks(ref: JobRef, iteration: IterationId): ChunkSink {
    let buffer = '';
    let timer: NodeJS.Timeout | undefined;
    let writing: Promise<void> = Promise.resolve();
    const flush = (): Promise<void> => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      const chunk = buffer;
      buffer = '';
      if (chunk !== '') {
        writing = writing.then(() =>
          this.emit(ref, { event: 'iteration:progress', data: { jobId: ref.jobId, iteration, chunk } }),
        );
      }
      return writing;
    };
    return {
      push: (chunk) => {
        buffer += chunk;
        timer ??= setTimeout(() => void flush(), this.chunkFlushMs);
      },
      flush,
    };
  }
}
