import { z } from 'zod';
import type { WebPubSubPort } from '../adapters/web-pubsub';
import { AppError } from '../errors';
import { finishedStatuses, type JobDocument } from '../jobs/job';
import type { JobRepository } from '../jobs/job-repository';
import type { Caller } from '../jobs/job-service';
import type { Logger } from '../logger';
import type { EventLog } from './event-log';
import { eventStream } from './event-stream';
import { jobGroup } from './progress-event';

/** `Last-Event-ID`: the sequence number (decimal digits) of the last event the client saw. */
export const lastEventIdSchema = z
  .string()
  .regex(/^\d{1,15}$/, 'an event id: decimal digits')
  .transform(Number)
  .describe('Resume after this event id.');

export const negotiateResultSchema = z.object({
  url: z
    .string()
    .describe('WebSocket URL with an access token; connect with subprotocol json.webpubsub.azure.v1.'),
  group: z.string().describe('The job’s group: the token joins it on connect and may join no other.'),
});
export type NegotiateResult = z.infer<typeof negotiateResultSchema>;

export interface ProgressServiceOptions {
  jobs: JobRepository;
  events: EventLog;
  pubsub: WebPubSubPort | undefined;
  logger: Logger;
  pollMs: number;
  heartbeatMs: number;
  maxStreamMs?: number;
  tokenTtlMinutes?: number;
}

/** What clients use to watch a job: its SSE stream and Web PubSub negotiation, both only for the job's owner. */
export class ProgressService {
  constructor(private readonly options: ProgressServiceOptions) {}

  /** The caller's own job; anyone else's, in any tenant, is `not_found` (as for `getJob`). */
  private async ownJob(caller: Caller, jobId: string): Promise<JobDocument> {
    const job = await this.options.jobs.find(caller.tenantId, jobId);
    if (!job || job.userId !== caller.userId) throw new AppError('not_found', `Job ${jobId} was not found.`);
    return job;
  }

  /** The job's events after `afterSeq` as SSE; with `follow`, stays open for new ones until a terminal event. */
  async stream(
    caller: Caller,
    jobId: string,
    afterSeq: number,
    follow: boolean,
  ): Promise<ReadableStream<Uint8Array>> {
    const job = await this.ownJob(caller, jobId);
    return eventStream({
      events: this.options.events,
      ref: { tenantId: job.tenantId, jobId: job.id },
      afterSeq,
      pollMs: this.options.pollMs,
      heartbeatMs: this.options.heartbeatMs,
      maxDurationMs: this.options.maxStreamMs ?? 10 * 60_000,
      // A finished job has logged all it will (its terminal event is written after its final state, or was
      // lost to a failed write): replay and end, rather than follow a log that will not grow.
      follow: follow && !finishedStatuses.has(job.status),
      logger: this.options.logger,
    });
  }

  /** A Web PubSub client URL that can join this job's group only. */
  async negotiate(caller: Caller, jobId: string): Promise<NegotiateResult> {
    const job = await this.ownJob(caller, jobId);
    if (!this.options.pubsub) {
      throw new AppError('upstream_unavailable', 'Web PubSub is not configured here; use the SSE stream.');
    }
    const group = jobGroup(job.id);
    const url = await this.options.pubsub.clientUrl(group, caller.userId, this.options.tokenTtlMinutes ?? 60);
    return { url, group };
  }
}
