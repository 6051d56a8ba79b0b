import { z } from 'zod';
import { backlogContextSchema, renameSchema } from '../engine/backlog-names';
import { iterationIdSchema, productTypeSchema } from '../engine/catalog';
import { iterationResultSchema, passResultSchema, usageSchema } from '../engine/iteration-result';
import { findingSchema } from '../engine/patch';
import { reviewSchema } from '../engine/review';
import { planLimitsSchema } from '../plans/plan';
import {
  backlogStoryIdSchema,
  consistencyFindingSchema,
  relationshipSchema,
  systemContextSchema,
  systemPassResultSchema,
} from '../engine/system-analysis';

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

/** `system`: a backlog of several stories, each refined by the workflow, then analysed together. */
export const jobModes = ['individual', 'workflow', 'interactive', 'system'] as const;
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
  verify: z
    .boolean()
    .describe(
      "Judge each iteration's output and retry it once when it fails (off by default: the whole-story review is the quality gate).",
    )
    .default(false),
  model: z.string().min(1).max(100).describe('One model for every call.').optional(),
  review: z
    .boolean()
    .describe('Consolidate the merged story and score it with the whole-story judge (result.review).')
    .default(true),
  rewriteRounds: z
    .number()
    .int()
    .min(0)
    .max(3)
    .describe('How many rewrite rounds the judge may ask for, each judged again.')
    .default(1),
});
export type JobOptions = z.infer<typeof jobOptionsSchema>;

/** System mode: one story of the backlog, refined by its own job (`jobId`). */
export const backlogStorySchema = z.object({
  storyId: backlogStoryIdSchema.describe('S1, S2, ... in backlog order.'),
  jobId: z.string().describe('The job refining this story (its own stream, result and export).'),
  text: z.string().describe('The story as submitted, or as split from the submitted text.'),
});
export type BacklogStory = z.infer<typeof backlogStorySchema>;

/** System mode: what the backlog analysis found, with each story's specification. */
export const systemResultSchema = z.object({
  stories: z.array(
    backlogStorySchema.omit({ text: true }).extend({
      status: jobStatusSchema,
      title: z.string(),
      story: z
        .string()
        .optional()
        .describe('The specification as markdown; absent when the story did not complete.'),
      overall: z.number().optional().describe("The judge's overall score of the story."),
      renames: z
        .array(renameSchema)
        .optional()
        .describe("Terms the story's specification wrote another way, now written with the canonical names."),
      error: jobErrorSchema.optional(),
    }),
  ),
  context: systemContextSchema.optional().describe('Pass 0: actors, entities, screens, vocabulary.'),
  relationships: z.array(relationshipSchema).describe('Pass 2: how the stories relate.'),
  findings: z.array(consistencyFindingSchema).describe('Pass 3: consistency findings across stories.'),
  passes: z.array(systemPassResultSchema).describe('The system passes that ran, with their usage.'),
});
export type SystemResult = z.infer<typeof systemResultSchema>;

/** The job as stored in Cosmos (`jobs` container, partition = tenant). */
export const jobDocumentSchema = z.object({
  id: z.string(),
  tenantId: z.string(),
  userId: z.string(),
  /** Who the user is, when their credential says (an OpenWebUI chat user's email and name). */
  requestedBy: z.object({ email: z.string().optional(), name: z.string().optional() }).optional(),
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
      story: z
        .string()
        .describe('The specification as markdown, with its story-quality findings and review.'),
      iterations: z.array(iterationResultSchema),
      passes: z
        .array(passResultSchema)
        .describe('Consolidation, judge and rewrite rounds, in the order they ran, with their usage.')
        .default([]),
      review: reviewSchema
        .describe("The whole-story judge's last round; absent when no judge ran.")
        .optional(),
      findings: z
        .array(findingSchema)
        .describe('Defects of the submitted story (QUS criteria), each reported once.')
        .default([]),
      system: systemResultSchema.optional().describe('System mode only: the backlog analysis.'),
      renames: z
        .array(renameSchema)
        .optional()
        .describe(
          "A story of a backlog: the terms its specification wrote another way, replaced by the backlog's canonical names.",
        ),
    })
    .optional(),
  /** System mode: the backlog, one entry per story, as split from the submitted text when it was one text. */
  stories: z.array(backlogStorySchema).optional(),
  /** A story of a system-mode job: the backlog job and the story's place in it. */
  parentJobId: z.string().optional(),
  storyIndex: z.number().int().nonnegative().optional(),
  /** A story of a system-mode job: the backlog's discovered context, given to every step of its refinement. */
  backlogContext: backlogContextSchema.optional(),
  /** System mode: the system passes run so far (checkpoints); published as `result.system` at the end. */
  systemPasses: z.array(systemPassResultSchema).optional(),
  /** The structured story as merged or approved so far: the base of the next step. */
  workingStory: z.unknown().optional(),
  /** Workflow passes run so far (checkpoints); published as `result.passes` when the job finishes. */
  passResults: z.array(passResultSchema).optional(),
  /** Models whose prompt-cache prefix for this job has been written (parallel runs wait for it). */
  cacheWarm: z.array(z.string()).optional(),
  awaitingApproval: z.object({ iteration: iterationIdSchema, since: z.string() }).optional(),
  error: jobErrorSchema.optional(),
  /** The plan's limits read when the job was admitted; they govern the whole run (absent: quotas were off). */
  limits: planLimitsSchema.optional(),
  /** The failed job this one retries, and the job that retried this one: linked both ways. */
  retryOf: z.string().optional(),
  retriedBy: z.string().optional(),
  /**
   * A conversation turn (`POST /jobs/{id}/messages`): the user's message applied to the story its parent job
   * finished with. `id` is the conversation's first job; turns count from 1.
   */
  conversation: z
    .object({
      id: z.string(),
      parentJobId: z.string(),
      turn: z.number().int().positive(),
      message: z.string(),
    })
    .optional(),
  cancelRequested: z.boolean(),
  /** Durable orchestration instance running the job. */
  instanceId: z.string(),
});
export type JobDocument = z.infer<typeof jobDocumentSchema>;

/** What clients see: the stored job without internal bookkeeping. */
export const jobViewSchema = jobDocumentSchema
  .omit({
    type: true,
    workingStory: true,
    passResults: true,
    cancelRequested: true,
    instanceId: true,
    cacheWarm: true,
    systemPasses: true,
    backlogContext: true,
  })
  .extend({
    links: z.object({
      self: z.string(),
      stream: z.string(),
      cancel: z.string(),
      approval: z.string().optional(),
      retry: z.string().optional(),
      messages: z.string().optional(),
    }),
  });
export type JobView = z.infer<typeof jobViewSchema>;

export function toJobView(job: JobDocument): JobView {
  const {
    type: _type,
    workingStory: _working,
    passResults: _passes,
    cancelRequested: _cancel,
    instanceId: _instance,
    systemPasses: _systemPasses,
    backlogContext: _backlogContext,
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
      ...(job.status === 'completed' ? { messages: `${self}/messages` } : {}),
    },
  };
}

/** Orchestration instance ids are derived from job ids, so either finds the other. */
export function instanceIdFor(jobId: string): string {
  return `job-${jobId}`;
}
