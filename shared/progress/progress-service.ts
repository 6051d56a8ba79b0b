import { z } from 'zod';
import type { WebPubSubPort } from '../adapters/web-pubsub';
import { AppError, toAppError } from '../errors';
import { finishedStatuses, type JobDocument } from '../jobs/job';
import type { JobRepository } from '../jobs/job-repository';
import type { Caller } from '../jobs/job-service';
import type { Logger } from '../logger';
import type { PlanRepository } from '../plans/plan-repository';
import type { StreamLeases } from '../quotas/stream-leases';
import type { TenantRepository } from '../tenants/tenant-repository';
import type { EventLog } from './event-log';
import { eventStream, JobEventFeeds } from './event-stream';
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
  /** Caps the streams and tokens one user holds (the plan's `maxConcurrentStreams`); absent when quotas are off. */
  leases?: { leases: StreamLeases; tenants: TenantRepository; plans: PlanRepository };
}

/** What clients use to watch a job: its SSE stream and Web PubSub negotiation, both only for the job's owner. */
export class ProgressService {
  /** This instance's poll loops, one per watched job, shared by all its streams. */
  readonly feeds: JobEventFeeds;

  constructor(private readonly options: ProgressServiceOptions) {
    this.feeds = new JobEventFeeds({
      events: options.events,
      pollMs: options.pollMs,
      logger: options.logger,
    });
  }

  /** Takes one of the caller's connection leases for `ttlMs`; the returned function gives it back. */
  private async lease(caller: Caller, ttlMs: number): Promise<() => void> {
    const capped = this.options.leases;
    if (!capped) return () => undefined;
    const tenant = await capped.tenants.ensure(caller.tenantId);
    const { limits } = await capped.plans.get(tenant.planId);
    const lease = await capped.leases.acquire(caller, limits.maxConcurrentStreams, ttlMs);
    return () => {
      capped.leases.release(caller, lease).catch((error: unknown) => {
        // It lapses on its own at its expiry.
        this.options.logger.warn({ code: toAppError(error).code }, 'stream lease not released');
      });
    };
  }

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
    const maxDurationMs = this.options.maxStreamMs ?? 10 * 60_000;
    const release = await this.lease(caller, maxDurationMs + 60_000);
    return eventStream({
      feeds: this.feeds,
      ref: { tenantId: job.tenantId, jobId: job.id },
      afterSeq,
      heartbeatMs: this.options.heartbeatMs,
      maxDurationMs,
      // A finished job has logged all it will (its terminal event is written after its final state, or was
      // lost to a failed write): replay and end, rather than follow a log that will not grow.
      follow: follow && !finishedStatuses.has(job.status),
      onClose: release,
    });
  }

  /** A Web PubSub client URL that can join this job's group only. */
  async negotiate(caller: Caller, jobId: string): Promise<NegotiateResult> {
    const job = await this.ownJob(caller, jobId);
    if (!this.options.pubsub) {
      throw new AppError('upstream_unavailable', 'Web PubSub is not configured here; use the SSE stream.');
    }
    const group = jobGroup(job.id);
    const ttlMinutes = this.options.tokenTtlMinutes ?? 60;
    // A token opens connections for as long as it lives, so it holds a lease for that long.
    await this.lease(caller, ttlMinutes * 60_000);
    const url = await this.options.pubsub.clientUrl(group, caller.userId, ttlMinutes);
    return { url, group };
  }
}
