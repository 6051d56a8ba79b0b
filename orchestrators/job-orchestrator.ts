import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { approvalApply } from '../activities/approval-apply';
import { approvalAwait } from '../activities/approval-await';
import { iterationRun } from '../activities/iteration-run';
import { jobFinish } from '../activities/job-finish';
import { jobStart } from '../activities/job-start';
import { mockupAnalyze } from '../activities/mockup-analyze';
import { slotAcquire } from '../activities/slot-acquire';
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
  type JobFinishInput,
  type JobOrchestrationInput,
  type JobRef,
} from '../shared/jobs/orchestration-contract';

/** Transient LLM failures (the activity throws only for those) are retried with exponential backoff. */
const iterationRetry = new df.RetryOptions(2_000, 3);
iterationRetry.backoffCoefficient = 2;
iterationRetry.maxRetryIntervalInMilliseconds = 30_000;

/** Bookkeeping activities only touch Cosmos: a short outage must not strand a job half-way. */
const bookkeepingRetry = new df.RetryOptions(1_000, 5);
bookkeepingRetry.backoffCoefficient = 2;

type Outcome = Pick<JobFinishInput, 'outcome' | 'error'>;

function failureOf(task: Task): JobError {
  const cause = task.result;
  const message = cause instanceof Error ? cause.message : 'An iteration failed after every retry.';
  return { code: 'upstream_unavailable', message, retryable: true };
}

/** Workflow and individual modes: every iteration on the original story at once, merged in catalog order. */
function* runParallel(
  context: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
): Generator<Task, Outcome, unknown> {
  const runs = input.iterations.map((iterationId) =>
    iterationRun({ ...ref, iterationId, base: 'original' }).withRetry(iterationRetry),
  );
  const all = context.df.Task.all(runs);
  const first = yield context.df.Task.any([all, cancel]);
  if (first === cancel) return { outcome: 'cancelled' };
  if (all.isFaulted) return { outcome: 'failed', error: failureOf(all) };
  const outputs = runs.map((run) => iterationRunOutputSchema.parse(run.result));
  if (outputs.some((output) => output.outcome === 'cancelled')) return { outcome: 'cancelled' };
  const failed = outputs.find((output) => output.outcome === 'failed');
  if (failed) {
    return {
      outcome: 'failed',
      error: failed.error ?? { code: 'internal', message: `${failed.iterationId} failed.`, retryable: false },
    };
  }
  return { outcome: 'completed' };
}

/** Before the iterations: every mockup read into an inventory at once (the iterations' context needs them all). */
function* analyzeMockups(
  context: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
): Generator<Task, Outcome | undefined, unknown> {
  if (input.uploads.length === 0) return undefined;
  const runs = input.uploads.map((uploadId) => mockupAnalyze({ ...ref, uploadId }).withRetry(iterationRetry));
  const all = context.df.Task.all(runs);
  if ((yield context.df.Task.any([all, cancel])) === cancel) return { outcome: 'cancelled' };
  if (all.isFaulted) return { outcome: 'failed', error: failureOf(all) };
  const outputs = runs.map((run) => mockupAnalyzeOutputSchema.parse(run.result));
  if (outputs.some((output) => output.outcome === 'cancelled')) return { outcome: 'cancelled' };
  const failed = outputs.find((output) => output.outcome === 'failed');
  if (failed) {
    return {
      outcome: 'failed',
      error: failed.error ?? {
        code: 'internal',
        message: `Mockup ${failed.uploadId} failed.`,
        retryable: false,
      },
    };
  }
  return undefined;
}

/** Interactive mode: one iteration at a time, each applied only once the caller approves it. */
function* runInteractive(
  context: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
): Generator<Task, Outcome, unknown> {
  for (const iterationId of input.iterations) {
    const run = iterationRun({ ...ref, iterationId, base: 'working' }).withRetry(iterationRetry);
    const first = yield context.df.Task.any([run, cancel]);
    if (first === cancel) return { outcome: 'cancelled' };
    if (run.isFaulted) return { outcome: 'failed', error: failureOf(run) };
    const output = iterationRunOutputSchema.parse(run.result);
    if (output.outcome === 'cancelled') return { outcome: 'cancelled' };
    if (output.outcome === 'failed') {
      return {
        outcome: 'failed',
        error: output.error ?? { code: 'internal', message: `${iterationId} failed.`, retryable: false },
      };
    }

    yield approvalAwait({ ...ref, iterationId }).withRetry(bookkeepingRetry);
    const deadline = new Date(context.df.currentUtcDateTime.getTime() + input.approvalTimeoutSeconds * 1000);
    const timeout = context.df.createTimer(deadline);
    const approval = context.df.waitForExternalEvent(approvalEventName);
    const decided = yield context.df.Task.any([approval, cancel, timeout]);
    if (decided === cancel) return { outcome: 'cancelled' };
    if (decided === timeout) {
      return {
        outcome: 'failed',
        error: {
          code: 'approval_timeout',
          message: `No decision on ${iterationId} within ${input.approvalTimeoutSeconds} s.`,
          retryable: false,
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
    if (event.decision === 'stop') break;
  }
  return { outcome: 'completed' };
}

/**
 * One job: start, run its iterations (raced against a cancel event), finish. Deterministic: all I/O happens in
 * activities, time comes from the orchestration context.
 */
df.app.orchestration(jobOrchestratorName, function* (context: OrchestrationContext): Generator<
  Task,
  string,
  unknown
> {
  const input = jobOrchestrationInputSchema.parse(context.df.getInput());
  const ref: JobRef = { jobId: input.jobId, tenantId: input.tenantId };
  const merge = input.mode === 'interactive' ? 'approved' : 'all';

  const cancel = context.df.waitForExternalEvent(cancelEventName);
  try {
    return yield* runJob(context, input, ref, cancel);
  } catch (error: unknown) {
    // Dead-letter: whatever failed for good, the job records it instead of staying queued or running forever.
    const message = error instanceof Error ? error.message : 'The orchestration failed.';
    yield jobFinish({
      ...ref,
      merge,
      outcome: 'failed',
      error: { code: 'internal', message, retryable: false },
    }).withRetry(bookkeepingRetry);
    return 'failed';
  }
});

function* runJob(
  context: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
): Generator<Task, string, unknown> {
  const merge = input.mode === 'interactive' ? 'approved' : 'all';
  // Queued behind the user's concurrent-job limit: ask for a slot, wait on a durable timer, ask again.
  const pollSeconds = input.queuePollSeconds;
  while (
    pollSeconds !== undefined &&
    !slotAcquireOutputSchema.parse(yield slotAcquire(ref).withRetry(bookkeepingRetry)).granted
  ) {
    const retryAt = new Date(context.df.currentUtcDateTime.getTime() + pollSeconds * 1000);
    const timer = context.df.createTimer(retryAt);
    if ((yield context.df.Task.any([timer, cancel])) === cancel) break;
  }

  const started = jobStartOutputSchema.parse(yield jobStart(ref).withRetry(bookkeepingRetry));
  if (!started.proceed) {
    yield jobFinish({ ...ref, merge, outcome: 'cancelled' }).withRetry(bookkeepingRetry);
    return 'cancelled';
  }
  const result =
    (yield* analyzeMockups(context, input, ref, cancel)) ??
    (input.mode === 'interactive'
      ? yield* runInteractive(context, input, ref, cancel)
      : yield* runParallel(context, input, ref, cancel));
  yield jobFinish({ ...ref, merge, ...result }).withRetry(bookkeepingRetry);
  return result.outcome;
}
