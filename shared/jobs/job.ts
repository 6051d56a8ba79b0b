import { z } from 'zod';
import { iterationIdSchema, productTypeSchema } from '../engine/catalog';
import { iterationResultSchema, usageSchema } from '../engine/iteration-result';
import { planLimitsSchema } from '../plans/plan';

export const jobStatuses = [
  'queued',
  'running',
  'awaiting_approval',
  'completed',
  'failed',
  'cancelled',
] as const;
export const jobStatusSchema = z.enum(jobStatuses);
export type JobStatus = z.infer<typeof jobStatusSchema>;
export const finishedStatuses: ReadonlySet<JobStatus> = new Set(['completed', 'failed', 'cancelled']);

export const jobModes = ['individual', 'workflow', 'interactive'] as const;
export const jobModeSchema = z.enum(jobModes);
export type JobMode = z.infer<typeof jobModeSchema>;

export const jobErrorSchema = z.object({ code: z.string(), message: z.string(), retryable: z.boolean() });
export type JobError = z.infer<typeof jobErrorSchema>;

/** The limit an LLM call waits on while calls in flight hold what it needs. */
export const quotaWaitReasonSchema = z.enum(['budget', 'tokens']);

/** An iteration whose LLM call waits for calls in flight to give back their holds (see `quotaLlm`). */
export const iterationWaitSchema = z.object({
  iteration: iterationIdSchema,
  reason: quotaWaitReasonSchema,
  message: z.string(),
  since: z.string(),
});

export const jobOptionsSchema = z.object({
  verify: z.boolean().default(false),
  model: z.string().min(1).max(100).optional(),
});

/** The job as stored in Cosmos (`jobs` container, partition = tenant). */
export const jobDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  userId: z.string(),
  type: z.literal('job'),
  status: jobStatusSchema,
  mode: jobModeSchema,
  productType: productTypeSchema,
  iterations: z.array(iterationIdSchema),
  /** The user's text exactly as submitted. */
  story: z.string(),
  options: jobOptionsSchema,
  uploads: z.array(z.string()),
  progress: z.object({
    completed: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
    current: iterationIdSchema.nullable(),
    /** Iterations waiting for quota right now; absent when none is. */
    waiting: z.array(iterationWaitSchema).optional(),
  }),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  completedAt: z.string().optional(),
  usage: usageSchema,
  result: z
    .object({
      story: z.string(),
      iterations: z.array(iterationResultSchema),
    })
    .optional(),
  /** Interactive mode: the structured story as approved so far, the base of the next iteration. */
  workingStory: z.unknown().optional(),
  /** Models whose prompt-cache prefix for this job has been written (parallel runs wait for it). */
  cacheWarm: z.array(z.string()).optional(),
  awaitingApproval: z.object({ iteration: iterationIdSchema, since: z.string() }).optional(),
  error: jobErrorSchema.optional(),
  /** The plan's limits read when the job was admitted; they govern the whole run (absent: quotas were off). */
  limits: planLimitsSchema.optional(),
  /** The failed job this one retries, and the job that retried this one: linked both ways. */
  retryOf: z.string().optional(),
  retriedBy: z.string().optional(),
  cancelRequested: z.boolean(),
  /** Durable orchestration instance running the job. */
  instanceId: z.string(),
});
export type JobDocument = z.infer<typeof jobDocumentSchema>;

/** What clients see: the stored job without internal bookkeeping. */
export const jobViewSchema = jobDocumentSchema
  .omit({ type: true, workingStory: true, cancelRequested: true, instanceId: true, cacheWarm: true })
  .extend({
    links: z.object({
      self: z.string(),
      stream: z.string(),
      cancel: z.string(),
      approval: z.string().optional(),
      retry: z.string().optional(),
    }),
  });
export type JobView = z.infer<typeof jobViewSchema>;

export function toJobView(job: JobDocument): JobView {
  const {
    type: _type,
    workingStory: _working,
    cancelRequested: _cancel,
    instanceId: _instance,
    ...visible
  } = job;
  const self = `/api/v1/jobs/${job.id}`;
  return {
    ...visible,
    links: {
      self,
      stream: `${self}/stream`,
      cancel: self,
      ...(job.mode === 'interactive' ? { approval: `${self}/approval` } : {}),
      ...(job.status === 'failed' ? { retry: `${self}/retry` } : {}),
    },
  };
}

/** Orchestration instance ids are derived from job ids, so either finds the other. */
export function instanceIdFor(jobId: string): string {
  return `job-${jobId}`;
}
