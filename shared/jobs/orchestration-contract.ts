import { z } from 'zod';
import { iterationIdSchema } from '../engine/catalog';
import {
  approvalDecisionSchema,
  iterationOutcomeSchema,
  mockupOutcomeSchema,
  passOutcomeSchema,
  workflowPlanSchema,
  type WorkflowPlan,
} from '../engine/workflow';
import { jobErrorSchema, jobModeSchema, type JobMode } from './job';

/**
 * What crosses the durable boundary: the orchestration's input, the events raised on it and every activity's
 * input and output. Only references and small values travel (job id, tenant, iteration ids, outcomes); the
 * story and results stay in Cosmos, so histories stay small.
 */
export const jobOrchestratorName = 'jobOrchestrator';

export const jobRefSchema = z.object({ jobId: z.string().min(1), tenantId: z.string().min(1) });
export type JobRef = z.infer<typeof jobRefSchema>;

export const jobOrchestrationInputSchema = jobRefSchema.extend({
  mode: jobModeSchema,
  /** At least one, except in a refinement turn (`refinement`), which runs none. */
  iterations: z.array(iterationIdSchema),
  /** A conversation turn: the refinement pass applies the job's message to its parent's story, then the judge. */
  refinement: workflowPlanSchema.shape.refinement,
  /**
   * Consolidation and the whole-story judge after the iterations. Absent in orchestrations started before
   * they existed, which therefore replay without those steps.
   */
  review: workflowPlanSchema.shape.review,
  /** Interactive mode: how long to wait for each approval before the job fails with `approval_timeout`. */
  approvalTimeoutSeconds: z.number().int().positive(),
  /**
   * A job queued behind the user's concurrent-job limit checks for a free slot this often. Absent in
   * orchestrations started before quotas existed, which therefore replay without the slot step.
   */
  queuePollSeconds: z.number().int().positive().optional(),
  /** Ready uploads (mockups) to read before the iterations; absent in orchestrations started before mockups. */
  uploads: z.array(z.string().min(1)).default([]),
  /** System mode: the jobs of the backlog's stories (run as sub-orchestrations) and how many run at once. */
  system: z
    .object({ storyJobIds: z.array(z.string().min(1)).min(2), concurrency: z.number().int().positive() })
    .optional(),
});
export type JobOrchestrationInput = z.infer<typeof jobOrchestrationInputSchema>;

/** Interactive jobs run their iterations one after another, each waiting for approval; the others in parallel. */
export function strategyOf(mode: JobMode): WorkflowPlan['strategy'] {
  return mode === 'interactive' ? 'sequential' : 'parallel';
}

/** The workflow plan an orchestration runs: the same rules as the command line's. */
export function workflowPlanOf(input: JobOrchestrationInput): WorkflowPlan {
  return {
    strategy: strategyOf(input.mode),
    iterations: input.iterations,
    ...(input.refinement ? { refinement: true } : {}),
    ...(input.uploads.length > 0 ? { mockups: input.uploads } : {}),
    ...(input.review ? { review: input.review } : {}),
  };
}

export const cancelEventName = 'cancel';
export const approvalEventName = 'approval';

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

export const iterationRunOutputSchema = iterationOutcomeSchema;
export type IterationRunOutput = z.infer<typeof iterationRunOutputSchema>;

/**
 * The workflow steps after the iterations, each one activity: merge, consolidation, judge and rewrite rounds;
 * and a conversation turn's refinement.
 */
export const workflowStepSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('merge') }),
  z.object({
    kind: z.literal('consolidation'),
    // Absent from a step an orchestration scheduled before the first judge round could start early.
    judgeRewriteRounds: z.number().int().nonnegative().optional(),
  }),
  z.object({
    kind: z.literal('review'),
    round: z.number().int().positive(),
    rewriteRoundsLeft: z.number().int().nonnegative(),
  }),
  z.object({ kind: z.literal('rewrite'), round: z.number().int().positive() }),
  z.object({ kind: z.literal('refinement') }),
]);

export const workflowStepRunInputSchema = jobRefSchema.extend({ step: workflowStepSchema });
export type WorkflowStepRunInput = z.infer<typeof workflowStepRunInputSchema>;

export const workflowStepRunOutputSchema = passOutcomeSchema;
export type WorkflowStepRunOutput = z.infer<typeof workflowStepRunOutputSchema>;

export const approvalStepInputSchema = jobRefSchema.extend({
  iterationId: iterationIdSchema,
  decision: approvalDecisionSchema.optional(),
  editedStory: z.string().optional(),
});
export type ApprovalStepInput = z.infer<typeof approvalStepInputSchema>;

export const jobFinishInputSchema = jobRefSchema.extend({
  outcome: z.enum(['completed', 'failed', 'cancelled']),
  error: jobErrorSchema.optional(),
});
export type JobFinishInput = z.infer<typeof jobFinishInputSchema>;

/** `mockupAnalyze`: reads one upload into the job's mockup inventory. */
export const mockupAnalyzeInputSchema = jobRefSchema.extend({ uploadId: z.string().min(1) });
export type MockupAnalyzeInput = z.infer<typeof mockupAnalyzeInputSchema>;
export const mockupAnalyzeOutputSchema = mockupOutcomeSchema;
export type MockupAnalyzeOutput = z.infer<typeof mockupAnalyzeOutputSchema>;
