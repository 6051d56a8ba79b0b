import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { approvalApply } from '../activities/approval-apply';
import { approvalAwait } from '../activities/approval-await';
import { iterationRun } from '../activities/iteration-run';
import { jobFinish } from '../activities/job-finish';
import { jobStart } from '../activities/job-start';
import { mockupAnalyze } from '../activities/mockup-analyze';
import { slotAcquire } from '../activities/slot-acquire';
import { workflowStepRun } from '../activities/workflow-step-run';
import {
  workflowSteps,
  type StepResult,
  type WorkflowOutcome,
  type WorkflowStep,
} from '../shared/engine/workflow';
import type { JobError } from '../shared/jobs/job';
import {
  approvalEventName,
  approvalEventSchema,
  cancelEventName,
  iterationRunOutputSchema,
  jobOrchestrationInputSchema,
  jobOrchestratorName,
  jobStartOutputSchema,
  mockupAnalyzeOutputSchema,
  slotAcquireOutputSchema,
  workflowPlanOf,
  workflowStepRunOutputSchema,
  type JobFinishInput,
  type JobOrchestrationInput,
  type JobRef,
} from '../shared/jobs/orchestration-contract';

/**
 * Steps that call the LLM throw only for transient failures: the LLM's, or Cosmos's around the call (loading
 * the job, checkpointing the result). Retried with exponential backoff for about half a minute.
 */
export const llmRetry = new df.RetryOptions(2_000, 5);
llmRetry.backoffCoefficient = 2;
llmRetry.maxRetryIntervalInMilliseconds = 30_000;

/** Bookkeeping activities only touch Cosmos: a short outage must not strand a job half-way. */
export const bookkeepingRetry = new df.RetryOptions(1_000, 5);
bookkeepingRetry.backoffCoefficient = 2;

function failureOf(task: Task): JobError {
  const cause = task.result;
  const message = cause instanceof Error ? cause.message : 'A step failed after every retry.';
  return { code: 'upstream_unavailable', message, retryable: true };
}

/** A step either answers the workflow, or ends the run (cancel, a step failing for good, an approval timeout). */
export type StepAnswer<R = StepResult> = { result: R } | { ended: WorkflowOutcome };

/**
 * Drives a workflow generator (the single-story or the system workflow): each step it yields is answered by
 * `answer`, until the workflow ends or a step ends the run.
 */
export function* driveWorkflow<S, R>(
  workflow: Generator<S, WorkflowOutcome, R>,
  answer: (step: S) => Generator<Task, StepAnswer<R>, unknown>,
): Generator<Task, WorkflowOutcome, unknown> {
  let next = workflow.next();
  while (!next.done) {
    const answered = yield* answer(next.value);
    if ('ended' in answered) return answered.ended;
    next = workflow.next(answered.result);
  }
  return next.value;
}

/** The final state of a run whose orchestration failed for good, so it does not stay queued or running. */
export function deadLetter(ref: JobRef, error: unknown): JobFinishInput {
  const message = error instanceof Error ? error.message : 'The orchestration failed.';
  return { ...ref, outcome: 'failed', error: { code: 'internal', message, retryable: false } };
}

/** Runs `task` raced against the cancel event; undefined when it finished on its own. */
export function* raced(
  ctx: OrchestrationContext,
  task: Task,
  cancel: Task,
): Generator<Task, { ended: WorkflowOutcome } | undefined, unknown> {
  const first = yield ctx.df.Task.any([task, cancel]);
  if (first === cancel) return { ended: { outcome: 'cancelled' } };
  if (task.isFaulted) return { ended: { outcome: 'failed', error: failureOf(task) } };
  return undefined;
}

/**
 * One workflow step as durable work: mockups and iterations fan out to one activity each; an approval is an
 * activity, a wait for the caller's decision (or cancel, or the timeout) and an activity applying it; every
 * later step is one activity.
 */
function* durableStep(
  ctx: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
  step: WorkflowStep,
): Generator<Task, StepAnswer, unknown> {
  switch (step.kind) {
    case 'mockups': {
      const runs = step.mockups.map((uploadId) => mockupAnalyze({ ...ref, uploadId }).withRetry(llmRetry));
      const ended = yield* raced(ctx, ctx.df.Task.all(runs), cancel);
      if (ended) return ended;
      const outcomes = runs.map((run) => mockupAnalyzeOutputSchema.parse(run.result));
      return { result: { kind: 'mockups', outcomes } };
    }
    case 'iterations': {
      const runs = step.iterations.map((iterationId) =>
        iterationRun({ ...ref, iterationId, base: step.base }).withRetry(llmRetry),
      );
      const ended = yield* raced(ctx, ctx.df.Task.all(runs), cancel);
      if (ended) return ended;
      const outcomes = runs.map((run) => iterationRunOutputSchema.parse(run.result));
      return { result: { kind: 'iterations', outcomes } };
    }
    case 'approval': {
      const iterationId = step.iteration;
      yield approvalAwait({ ...ref, iterationId }).withRetry(bookkeepingRetry);
      const deadline = new Date(ctx.df.currentUtcDateTime.getTime() + input.approvalTimeoutSeconds * 1000);
      const timeout = ctx.df.createTimer(deadline);
      const approval = ctx.df.waitForExternalEvent(approvalEventName);
      const decided = yield ctx.df.Task.any([approval, cancel, timeout]);
      if (decided === cancel) return { ended: { outcome: 'cancelled' } };
      if (decided === timeout) {
        return {
          ended: {
            outcome: 'failed',
            error: {
              code: 'approval_timeout',
              message: `No decision on ${iterationId} within ${input.approvalTimeoutSeconds} s.`,
              retryable: false,
            },
          },
        };
      }
      timeout.cancel();
      const event = approvalEventSchema.parse(approval.result);
      yield approvalApply({
        ...ref,
        iterationId,
        decision: event.decision,
        editedStory: event.story,
      }).withRetry(bookkeepingRetry);
      return { result: { kind: 'approval', decision: event.decision } };
    }
    case 'merge': {
      const run = workflowStepRun({ ...ref, step }).withRetry(bookkeepingRetry);
      const ended = yield* raced(ctx, run, cancel);
      return ended ?? { result: { kind: 'merge' } };
    }
    case 'consolidation':
    case 'review':
    case 'rewrite':
    case 'refinement': {
      const run = workflowStepRun({ ...ref, step }).withRetry(llmRetry);
      const ended = yield* raced(ctx, run, cancel);
      if (ended) return ended;
      return { result: { kind: step.kind, ...workflowStepRunOutputSchema.parse(run.result) } };
    }
  }
}

/**
 * One job: start, run the engine's workflow steps (each raced against a cancel event), finish. The steps and
 * their order come from `workflowSteps`, the same rules the command line runs. Deterministic: all I/O happens
 * in activities, time comes from the orchestration context.
 */
df.app.orchestration(jobOrchestratorName, function* (ctx: OrchestrationContext): Generator<
  Task,
  string,
  unknown
> {
  const input = jobOrchestrationInputSchema.parse(ctx.df.getInput());
  const ref: JobRef = { jobId: input.jobId, tenantId: input.tenantId };

  const cancel = ctx.df.waitForExternalEvent(cancelEventName);
  try {
    return yield* runJob(ctx, input, ref, cancel);
  } catch (error: unknown) {
    // Dead-letter: whatever failed for good, the job records it instead of staying queued or running forever.
    yield jobFinish(deadLetter(ref, error)).withRetry(bookkeepingRetry);
    return 'failed';
  }
});

/**
 * Waits for a run slot when the job is queued behind the user's concurrent-job limit (ask, wait on a durable
 * timer, ask again), then marks the job running. False when it was cancelled meanwhile: it must not run.
 */
export function* admitAndStart(
  ctx: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
): Generator<Task, boolean, unknown> {
  const pollSeconds = input.queuePollSeconds;
  while (
    pollSeconds !== undefined &&
    !slotAcquireOutputSchema.parse(yield slotAcquire(ref).withRetry(bookkeepingRetry)).granted
  ) {
    const retryAt = new Date(ctx.df.currentUtcDateTime.getTime() + pollSeconds * 1000);
    const timer = ctx.df.createTimer(retryAt);
    if ((yield ctx.df.Task.any([timer, cancel])) === cancel) break;
  }
  return jobStartOutputSchema.parse(yield jobStart(ref).withRetry(bookkeepingRetry)).proceed;
}

function* runJob(
  ctx: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
): Generator<Task, string, unknown> {
  if (!(yield* admitAndStart(ctx, input, ref, cancel))) {
    yield jobFinish({ ...ref, outcome: 'cancelled' }).withRetry(bookkeepingRetry);
    return 'cancelled';
  }

  const outcome = yield* driveWorkflow(workflowSteps(workflowPlanOf(input)), (step) =>
    durableStep(ctx, input, ref, cancel, step),
  );
  yield jobFinish({ ...ref, ...outcome }).withRetry(bookkeepingRetry);
  return outcome.outcome;
}
