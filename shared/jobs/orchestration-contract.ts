import { z } from 'zod';
import { iterationIdSchema } from '../engine/catalog';
import { jobErrorSchema, jobModeSchema } from './job';

/**
 * What crosses the durable boundary: the orchestration's input, the events raised on it and every activity's
 * input and output. Only references and small values travel (job id, tenant, iteration ids); the story and
 * results stay in Cosmos, so histories stay small.
 */
export const jobOrchestratorName = 'jobOrchestrator';

export const jobRefSchema = z.object({ jobId: z.string().min(1), tenantId: z.string().min(1) });
export type JobRef = z.infer<typeof jobRefSchema>;

export const jobOrchestrationInputSchema = jobRefSchema.extend({
  mode: jobModeSchema,
  iterations: z.array(iterationIdSchema).min(1),
  /** Interactive mode: how long to wait for each approval before the job fails with `approval_timeout`. */
  approvalTimeoutSeconds: z.number().int().positive(),
  /**
   * A job queued behind the user's concurrent-job limit checks for a free slot this often. Absent in
   * orchestrations started before quotas existed, which therefore replay without the slot step.
   */
  queuePollSeconds: z.number().int().positive().optional(),
  /** Ready uploads (mockups) to read before the iterations; absent in orchestrations started before mockups. */
  uploads: z.array(z.string().min(1)).default([]),
});
export type JobOrchestrationInput = z.infer<typeof jobOrchestrationInputSchema>;

export const cancelEventName = 'cancel';
export const approvalEventName = 'approval';

export const approvalDecisionSchema = z.enum(['continue', 'skip', 'stop']);
export const approvalEventSchema = z.object({
  decision: approvalDecisionSchema,
  /** An edited story (markdown) that replaces the working story before the next iteration. */
  story: z.string().optional(),
});
export type ApprovalEvent = z.infer<typeof approvalEventSchema>;

export const jobStartOutputSchema = z.object({ proceed: z.boolean() });
export type JobStartOutput = z.infer<typeof jobStartOutputSchema>;

export const slotAcquireOutputSchema = z.object({ granted: z.boolean() });
export type SlotAcquireOutput = z.infer<typeof slotAcquireOutputSchema>;

export const iterationRunInputSchema = jobRefSchema.extend({
  iterationId: iterationIdSchema,
  /** `original`: the submitted story (parallel workflow); `working`: the story as approved so far (interactive). */
  base: z.enum(['original', 'working']),
});
export type IterationRunInput = z.infer<typeof iterationRunInputSchema>;

export const iterationRunOutputSchema = z.object({
  iterationId: iterationIdSchema,
  outcome: z.enum(['applied', 'skipped', 'failed', 'cancelled']),
  error: jobErrorSchema.optional(),
});
export type IterationRunOutput = z.infer<typeof iterationRunOutputSchema>;

export const approvalStepInputSchema = jobRefSchema.extend({
  iterationId: iterationIdSchema,
  decision: approvalDecisionSchema.optional(),
  editedStory: z.string().optional(),
});
export type ApprovalStepInput = z.infer<typeof approvalStepInputSchema>;

export const jobFinishInputSchema = jobRefSchema.extend({
  outcome: z.enum(['completed', 'failed', 'cancelled']),
  /** Interactive mode applies results one by one as they are approved; workflow mode merges them all at the end. */
  merge: z.enum(['all', 'approved']),
  error: jobErrorSchema.optional(),
});
export type JobFinishInput = z.infer<typeof jobFinishInputSchema>;

/** `mockupAnalyze`: reads one upload into the job's mockup inventory. */
export const mockupAnalyzeInputSchema = jobRefSchema.extend({ uploadId: z.string().min(1) });
export type MockupAnalyzeInput = z.infer<typeof mockupAnalyzeInputSchema>;
export const mockupAnalyzeOutputSchema = z.object({
  uploadId: z.string(),
  outcome: z.enum(['analyzed', 'cancelled', 'failed']),
  error: jobErrorSchema.optional(),
});
export type MockupAnalyzeOutput = z.infer<typeof mockupAnalyzeOutputSchema>;
