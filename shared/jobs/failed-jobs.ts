import { z } from 'zod';
import { administeredTenant } from '../admin/admin-service';
import type { AuditTrail } from '../audit/audit-trail';
import type { Principal } from '../auth/principal';
import { AppError } from '../errors';
import { jobStatusSchema, type JobDocument } from './job';
import type { JobRepository } from './job-repository';
import { createJobBodySchema, type Caller, type JobOrchestrations, type JobService } from './job-service';

export const adminJobsQuerySchema = z.object({
  tenantId: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Whose jobs; required for platform admins, defaults to your own tenant otherwise.'),
  status: jobStatusSchema.optional().describe('e.g. failed: the dead-letter list.'),
  reason: z
    .string()
    .max(100)
    .optional()
    .describe('Only jobs whose error has this code, e.g. upstream_unavailable, budget_exceeded.'),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(4000).optional(),
});
export type AdminJobsQuery = z.infer<typeof adminJobsQuerySchema>;

export interface FailedJobsOptions {
  jobs: JobRepository;
  jobService: JobService;
  audit: AuditTrail;
}

/**
 * Jobs that failed for good: listed across a tenant for its admins (with their last error), and retried by
 * their owner as a new job with the same input, linked both ways (`retryOf` / `retriedBy`).
 */
export class FailedJobs {
  constructor(private readonly options: FailedJobsOptions) {}

  /** A tenant's jobs for its admins, newest first, filtered by status and error code. */
  async list(principal: Principal, query: AdminJobsQuery) {
    const tenantId = administeredTenant(principal, query.tenantId);
    await this.options.audit.adminRead(principal, tenantId, { type: 'jobs', id: tenantId });
    return this.options.jobs.listForTenant(tenantId, {
      ...(query.status ? { status: query.status } : {}),
      ...(query.reason ? { errorCode: query.reason } : {}),
      limit: query.limit,
      ...(query.cursor ? { cursor: query.cursor } : {}),
    });
  }

  /**
   * A new job from the caller's failed one, admitted under the plan in force now. Retrying the same failed
   * job again (a double click, a client retry) answers the same new job: its idempotency key is the old id.
   */
  async retry(caller: Caller, jobId: string, orchestrations: JobOrchestrations): Promise<JobDocument> {
    const failed = await this.options.jobService.get(caller, jobId);
    if (failed.status !== 'failed') {
      throw new AppError('conflict', `Job ${jobId} is ${failed.status}; only a failed job can be retried.`);
    }
    const body = createJobBodySchema.parse({
      story: failed.story,
      productType: failed.productType,
      mode: failed.mode,
      iterations: failed.iterations,
      uploads: failed.uploads,
      options: failed.options,
    });
    const retry = await this.options.jobService.create(caller, body, orchestrations, `retry-of:${jobId}`, {
      retryOf: jobId,
    });
    await this.options.jobs.update(caller.tenantId, jobId, (current) =>
      current.retriedBy === retry.id ? undefined : { ...current, retriedBy: retry.id },
    );
    return retry;
  }
}
