import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { DocumentExistsError } from '../adapters/cosmos-store';
import type { AuditTrail } from '../audit/audit-trail';
import { iterationIdSchema, productTypeSchema, type IterationId } from '../engine/catalog';
import { emptyUsage } from '../engine/iteration-result';
import { planIterations } from '../engine/runner';
import { splitStories } from '../engine/story-split';
import { backlogStoryId } from '../engine/system-analysis';
import { AppError } from '../errors';
import type { Plan, PlanLimits } from '../plans/plan';
import type { PlanRepository } from '../plans/plan-repository';
import type { QuotaService } from '../quotas/quota-service';
import type { TenantRepository } from '../tenants/tenant-repository';
import type { UploadService } from '../uploads/upload-service';
import {
  finishedStatuses,
  instanceIdFor,
  jobModeSchema,
  jobOptionsSchema,
  jobStatusSchema,
  type BacklogStory,
  type JobDocument,
} from './job';
import type { JobRepository } from './job-repository';
import {
  approvalEventName,
  cancelEventName,
  type ApprovalEvent,
  type JobOrchestrationInput,
} from './orchestration-contract';

/** The request body of `POST /api/v1/jobs` (and the run endpoints). Unknown fields are ignored (OpenWebUI). */
export const createJobBodySchema = z.object({
  story: z
    .string()
    .min(1, 'story must not be empty')
    .describe(
      'The rough user story. In system mode it may hold several stories, split at separator lines (---), headings or each "As a ..." line; the split is shown in the job (stories). Required unless stories is given.',
    )
    .optional(),
  stories: z
    .array(z.string().min(1, 'a story must not be empty'))
    .min(1)
    .max(100)
    .describe("System mode: the backlog, one story per entry (2 to the plan's maxStoriesPerJob).")
    .optional(),
  productType: productTypeSchema.default('web'),
  mode: jobModeSchema
    .default('workflow')
    .describe(
      'workflow (default): every iteration, judge and rewrite; individual: the iterations you list; interactive: one iteration at a time, each approved; system: a backlog of several stories, each refined, then linked and checked for consistency.',
    ),
  iterations: z.array(iterationIdSchema).min(1).max(12).optional(),
  uploads: z.array(z.string().min(1).max(100)).max(20).default([]),
  options: jobOptionsSchema.prefault({}),
});
export type CreateJobBody = z.infer<typeof createJobBodySchema>;

export const listJobsQuerySchema = z.object({
  status: jobStatusSchema.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().max(4000).optional(),
});
export type ListJobsQuery = z.infer<typeof listJobsQuerySchema>;

export const approvalBodySchema = z.object({
  decision: z.enum(['continue', 'skip', 'stop']),
  story: z.string().min(1).optional(),
});

/** Who is asking: every job belongs to one user of one tenant. */
export interface Caller {
  tenantId: string;
  userId: string;
  /** Kept on the job when the credential states them. */
  email?: string;
  name?: string;
}

/** How the service drives orchestrations; the durable client implements it in function files. */
export interface JobOrchestrations {
  start(instanceId: string, input: JobOrchestrationInput): Promise<void>;
  raise(instanceId: string, eventName: string, data: unknown): Promise<void>;
}

export interface JobServiceOptions {
  jobs: JobRepository;
  tenants: TenantRepository;
  plans: PlanRepository;
  approvalTimeoutSeconds: number;
  /** Enforces the plan's per-user and per-tenant quotas; absent when quotas are off. */
  quotas?: QuotaService;
  queuePollSeconds: number;
  /** System mode: how many stories of one backlog are refined at once. */
  systemStoryConcurrency?: number;
  /** Checks the mockups a job refers to; absent where uploads are not configured (then none are accepted). */
  uploads?: Pick<UploadService, 'readyForJob'>;
  /** Job creation, cancellation and approval are audited; absent only in tests of other behaviour. */
  audit?: AuditTrail;
  now?: () => Date;
  newId?: () => string;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * The job id of a backlog's story, derived from the backlog job's id so that a retried request or a replayed
 * orchestration finds the same story job (a UUID, like every job id).
 */
export function storyJobId(jobId: string, index: number): string {
  const hex = sha256(`${jobId}:story:${index}`);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Text joining the stories of a backlog sent as a list, as the job's `story`. */
const storySeparator = '\n\n---\n\n';

/** Canonical JSON (sorted keys) so that the same body always hashes the same, whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, entry]) => entry !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, entry]) => `${JSON.stringify(key)}:${canonical(entry)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export class JobService {
  private readonly now: () => Date;
  private readonly newId: () => string;

  constructor(private readonly options: JobServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? (() => randomUUID());
  }

  /**
   * Validates the body against the caller's plan, honours `Idempotency-Key` (same key and body: the same job;
   * same key, other body: 422), writes the job and starts its orchestration.
   */
  async create(
    caller: Caller,
    body: CreateJobBody,
    orchestrations: JobOrchestrations,
    idempotencyKey?: string,
    links: { retryOf?: string } = {},
  ): Promise<JobDocument> {
    const plan = await this.planFor(caller);
    const { story, texts } = this.storiesOf(body, plan.limits, plan.name);
    const iterations = this.chooseIterations(body, plan.limits.maxIterations, plan.name);
    if (body.uploads.length > 0) {
      if (texts) throw new AppError('validation_failed', 'uploads: not accepted in system mode.');
      if (!this.options.uploads) throw new AppError('validation_failed', 'uploads: not accepted here.');
      await this.options.uploads.readyForJob(caller.tenantId, body.uploads);
    }

    let jobId = this.newId();
    if (idempotencyKey !== undefined) {
      const claimed = await this.claimIdempotencyKey(caller, idempotencyKey, body, jobId);
      if (claimed.existing) return claimed.existing;
      jobId = claimed.jobId;
    }

    const stories = texts?.map((text, index): BacklogStory => ({
      storyId: backlogStoryId(index),
      jobId: storyJobId(jobId, index),
      text,
    }));
    const job: JobDocument = {
      id: jobId,
      tenantId: caller.tenantId,
      userId: caller.userId,
      ...(caller.email === undefined && caller.name === undefined
        ? {}
        : { requestedBy: { email: caller.email, name: caller.name } }),
      type: 'job',
      status: 'queued',
      mode: body.mode,
      productType: body.productType,
      iterations,
      story,
      ...(stories ? { stories } : {}),
      options: body.options,
      uploads: [...new Set(body.uploads)],
      progress: { completed: 0, total: stories?.length ?? iterations.length, current: null },
      createdAt: this.now().toISOString(),
      usage: emptyUsage(),
      cancelRequested: false,
      instanceId: instanceIdFor(jobId),
      ...(this.options.quotas ? { limits: plan.limits } : {}),
      ...links,
    };
    return this.submit(caller, job, plan.limits, orchestrations, links);
  }

  /** The plan whose limits govern the caller's next job (the tenant is created on first sight). */
  async planFor(caller: Caller): Promise<Plan> {
    const tenant = await this.options.tenants.ensure(caller.tenantId);
    return this.options.plans.get(tenant.planId);
  }

  /**
   * Admits a job built for the caller (audit record, then the plan's quotas), writes it and starts its
   * orchestration: a created job, a retry and a conversation turn all pass here, so all are counted alike.
   */
  async submit(
    caller: Caller,
    built: JobDocument,
    limits: PlanLimits,
    orchestrations: JobOrchestrations,
    auditDetails: Record<string, string | number | boolean> = {},
  ): Promise<JobDocument> {
    // The limits read at admission govern the whole run (see `JobDocument.limits`).
    const job: JobDocument = this.options.quotas ? { ...built, limits } : built;
    const jobId = job.id;
    try {
      // Admission after the idempotency claim, so a retried request that already made its job is not counted
      // twice; and after the audit record, so a job refused for want of one takes no quota.
      await this.audited(
        caller.tenantId,
        'job.created',
        jobId,
        {
          mode: job.mode,
          iterations: job.iterations.length,
          ...(job.stories ? { stories: job.stories.length } : {}),
          ...auditDetails,
        },
        async () => {
          // Each story of a backlog counts as one request.
          await this.options.quotas?.admit(caller, limits, jobId, job.stories?.length ?? 1);
          await this.options.jobs.create(job);
        },
      );
    } catch (error: unknown) {
      // A retry of an idempotent request whose first attempt stopped after writing the job: continue with it.
      if (!(error instanceof DocumentExistsError)) throw error;
      const existing = await this.options.jobs.find(caller.tenantId, jobId);
      if (existing && existing.status !== 'queued') return existing;
    }
    if (job.stories) await this.createStoryJobs(job, job.stories);
    await orchestrations.start(job.instanceId, {
      jobId,
      tenantId: caller.tenantId,
      mode: job.mode,
      iterations: job.iterations,
      ...(job.conversation ? { refinement: true } : {}),
      ...(job.options.review ? { review: { rewriteRounds: job.options.rewriteRounds } } : {}),
      approvalTimeoutSeconds: this.options.approvalTimeoutSeconds,
      queuePollSeconds: this.options.queuePollSeconds,
      uploads: job.uploads,
      ...(job.stories
        ? {
            system: {
              storyJobIds: job.stories.map((entry) => entry.jobId),
              concurrency: this.options.systemStoryConcurrency ?? 3,
            },
          }
        : {}),
    });
    return job;
  }

  /**
   * The story text(s) of a request, checked against the plan: one story (every mode but system), or the
   * backlog of a system-mode job (a list, or one text split into its stories), 2 to `maxStoriesPerJob` stories
   * each within the story size limit.
   */
  private storiesOf(
    body: CreateJobBody,
    limits: PlanLimits,
    planName: string,
  ): { story: string; texts?: string[] } {
    const checkSize = (text: string, what: string) => {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > limits.maxStoryBytes) {
        throw new AppError(
          'payload_too_large',
          `${what} is ${bytes} bytes; the ${planName} plan allows at most ${limits.maxStoryBytes}.`,
        );
      }
    };
    if (body.mode !== 'system') {
      if (body.stories) throw new AppError('validation_failed', 'stories: only accepted in system mode.');
      if (body.story === undefined) throw new AppError('validation_failed', 'story: required.');
      checkSize(body.story, 'The story');
      return { story: body.story };
    }
    if (body.stories && body.story !== undefined) {
      throw new AppError('validation_failed', 'story, stories: send one of them, not both.');
    }
    if (!body.stories && body.story === undefined) {
      throw new AppError(
        'validation_failed',
        'stories: required in system mode (or one story text holding several).',
      );
    }
    const texts = body.stories ?? splitStories(body.story ?? '');
    if (texts.length < 2) {
      throw new AppError(
        'validation_failed',
        'stories: system mode needs at least 2 stories (separate them with a line of ---, a heading, or start each with "As a ...").',
      );
    }
    if (texts.length > limits.maxStoriesPerJob) {
      throw new AppError(
        'payload_too_large',
        `The backlog holds ${texts.length} stories; the ${planName} plan allows at most ${limits.maxStoriesPerJob} per job.`,
      );
    }
    texts.forEach((text, index) => checkSize(text, `Story ${backlogStoryId(index)}`));
    return { story: body.story ?? texts.join(storySeparator), texts };
  }

  /** One job per story of a backlog, run as the backlog job's sub-orchestrations; existing ones are kept. */
  private async createStoryJobs(parent: JobDocument, stories: readonly BacklogStory[]): Promise<void> {
    for (const [index, entry] of stories.entries()) {
      const { stories: _stories, retryOf: _retryOf, ...shared } = parent;
      const child: JobDocument = {
        ...shared,
        id: entry.jobId,
        mode: 'workflow',
        story: entry.text,
        progress: { completed: 0, total: parent.iterations.length, current: null },
        instanceId: instanceIdFor(entry.jobId),
        parentJobId: parent.id,
        storyIndex: index,
      };
      try {
        await this.options.jobs.create(child);
      } catch (error: unknown) {
        if (!(error instanceof DocumentExistsError)) throw error;
      }
    }
  }

  private chooseIterations(body: CreateJobBody, maxIterations: number, planName: string): IterationId[] {
    if (body.mode === 'individual' && !body.iterations) {
      throw new AppError('validation_failed', 'iterations: required in individual mode.');
    }
    const applicable = planIterations(body.productType);
    if (!body.iterations) return applicable.slice(0, maxIterations);
    const chosen = planIterations(body.productType, body.iterations);
    const notApplicable = chosen.filter((id) => !applicable.includes(id));
    if (notApplicable.length > 0) {
      throw new AppError(
        'validation_failed',
        `iterations: ${notApplicable.join(', ')} do not apply to ${body.productType} products.`,
      );
    }
    if (chosen.length > maxIterations) {
      throw new AppError(
        'payload_too_large',
        `The job asks for ${chosen.length} iterations; the ${planName} plan allows at most ${maxIterations} per job.`,
      );
    }
    return chosen;
  }

  private async claimIdempotencyKey(
    caller: Caller,
    key: string,
    body: CreateJobBody,
    jobId: string,
  ): Promise<{ jobId: string; existing?: JobDocument }> {
    const id = `idempotency:${sha256(`${caller.userId}\n${key}`)}`;
    const bodyHash = sha256(canonical(body));
    try {
      await this.options.jobs.createIdempotency({
        id,
        tenantId: caller.tenantId,
        type: 'idempotency',
        userId: caller.userId,
        jobId,
        bodyHash,
        createdAt: this.now().toISOString(),
      });
      return { jobId };
    } catch (error: unknown) {
      if (!(error instanceof DocumentExistsError)) throw error;
    }
    const record = await this.options.jobs.findIdempotency(caller.tenantId, id);
    if (!record) throw new AppError('conflict', 'The idempotency key is being claimed concurrently; retry.');
    if (record.bodyHash !== bodyHash) {
      throw new AppError(
        'idempotency_key_reused',
        'This Idempotency-Key was used with a different request body.',
      );
    }
    const existing = await this.waitForJob(caller.tenantId, record.jobId);
    return existing ? { jobId: record.jobId, existing } : { jobId: record.jobId };
  }

  /** The concurrent first request may still be writing the job: give it a moment before taking over. */
  private async waitForJob(tenantId: string, jobId: string): Promise<JobDocument | undefined> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const job = await this.options.jobs.find(tenantId, jobId);
      if (job) return job;
      await new Promise((resolve) => setTimeout(resolve, 50 * (attempt + 1)));
    }
    return undefined;
  }

  /** The caller's job; another user's or tenant's job is indistinguishable from a missing one. */
  async get(caller: Caller, jobId: string): Promise<JobDocument> {
    const job = await this.options.jobs.find(caller.tenantId, jobId);
    if (!job || job.userId !== caller.userId) throw new AppError('not_found', `Job ${jobId} was not found.`);
    return job;
  }

  async list(caller: Caller, query: ListJobsQuery) {
    return this.options.jobs.listForUser(caller.tenantId, caller.userId, query);
  }

  /** Requests cancellation; repeated cancels are harmless, a finished job answers `job_finished`. */
  async cancel(caller: Caller, jobId: string, orchestrations: JobOrchestrations): Promise<JobDocument> {
    const job = await this.get(caller, jobId);
    if (job.status === 'cancelled') return job;
    if (finishedStatuses.has(job.status)) {
      throw new AppError('job_finished', `Job ${jobId} already ${job.status}; there is nothing to cancel.`);
    }
    const updated = await this.audited(caller.tenantId, 'job.cancelled', jobId, {}, () =>
      this.options.jobs.update(caller.tenantId, jobId, (current) =>
        current.cancelRequested || finishedStatuses.has(current.status)
          ? undefined
          : { ...current, cancelRequested: true },
      ),
    );
    // A backlog's unfinished stories stop too (their steps watch the flag); finished stories are kept.
    for (const story of job.stories ?? []) {
      await this.options.jobs.update(caller.tenantId, story.jobId, (current) =>
        current.cancelRequested || finishedStatuses.has(current.status)
          ? undefined
          : { ...current, cancelRequested: true },
      );
    }
    await orchestrations.raise(job.instanceId, cancelEventName, {});
    return updated ?? job;
  }

  /** Interactive mode: passes the caller's decision on the iteration awaiting approval to the orchestration. */
  async approve(
    caller: Caller,
    jobId: string,
    approval: ApprovalEvent,
    orchestrations: JobOrchestrations,
  ): Promise<JobDocument> {
    const job = await this.get(caller, jobId);
    if (job.mode !== 'interactive') throw new AppError('conflict', `Job ${jobId} is not interactive.`);
    if (job.status !== 'awaiting_approval') {
      throw new AppError('conflict', `Job ${jobId} is ${job.status}, not awaiting approval.`);
    }
    await this.audited(
      caller.tenantId,
      'job.approved',
      jobId,
      { decision: approval.decision, storyEdited: approval.story !== undefined },
      () => orchestrations.raise(job.instanceId, approvalEventName, approval),
    );
    return job;
  }

  /** Writes the audit record before the effect (see `AuditTrail.recorded`); unaudited only without a trail. */
  private audited<T>(
    tenantId: string,
    action: string,
    jobId: string,
    details: Record<string, string | number | boolean>,
    effect: () => Promise<T>,
  ): Promise<T> {
    const audit = this.options.audit;
    if (!audit) return effect();
    return audit.recorded({ tenantId, action, target: { type: 'job', id: jobId }, details }, effect);
  }

  /**
   * Polls until the job finishes, `waitSeconds` pass or `stopWaiting` aborts (sync run endpoints; OpenWebUI
   * cannot stream tools).
   */
  async waitForFinish(
    caller: Caller,
    jobId: string,
    waitSeconds: number,
    stopWaiting?: AbortSignal,
  ): Promise<JobDocument> {
    const deadline = Date.now() + waitSeconds * 1000;
    for (let delay = 100; ; delay = Math.min(delay * 1.5, 1000)) {
      const job = await this.get(caller, jobId);
      if (finishedStatuses.has(job.status) || Date.now() + delay > deadline || stopWaiting?.aborted)
        return job;
      // Rejects only when `stopWaiting` aborts, which the next check answers.
      await sleep(delay, undefined, { signal: stopWaiting }).catch(() => undefined);
    }
  }
}
