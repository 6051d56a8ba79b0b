import * as df from 'durable-functions';
import type { OrchestrationContext, Task } from 'durable-functions';
import { systemFinish } from '../activities/system-finish';
import { systemPassRun } from '../activities/system-pass-run';
import { systemStoryFinish } from '../activities/system-story-finish';
import { systemStoryStart } from '../activities/system-story-start';
import {
  systemWorkflowSteps,
  type StoryOutcome,
  type SystemStep,
  type SystemStepResult,
} from '../shared/engine/system-workflow';
import { instanceIdFor } from '../shared/jobs/job';
import {
  cancelEventName,
  jobOrchestrationInputSchema,
  jobOrchestratorName,
  type JobOrchestrationInput,
  type JobRef,
} from '../shared/jobs/orchestration-contract';
import {
  systemOrchestratorName,
  systemPassRunOutputSchema,
  systemStoryFinishOutputSchema,
} from '../shared/jobs/system-orchestration-contract';
import {
  admitAndStart,
  bookkeepingRetry,
  deadLetter,
  driveWorkflow,
  llmRetry,
  raced,
  type StepAnswer,
} from './job-orchestrator';

/** A story's own orchestration: the job orchestrator on the story's job, with the backlog's plan. */
function storyInput(input: JobOrchestrationInput, storyJobId: string): JobOrchestrationInput {
  return {
    jobId: storyJobId,
    tenantId: input.tenantId,
    mode: 'workflow',
    iterations: input.iterations,
    ...(input.review ? { review: input.review } : {}),
    approvalTimeoutSeconds: input.approvalTimeoutSeconds,
    // The backlog holds the run slot: its stories do not queue for one of their own.
    uploads: [],
  };
}

/**
 * Refines the stories as sub-orchestrations, `concurrency` at a time (a batch waits for all of its stories).
 * Batches, not a rolling window: a window yields `Task.any` again over tasks an earlier `Task.any` already
 * scheduled, which durable-functions does not replay reliably (azure-functions-durable-js issue 574). After a
 * cancel no new batch starts; the stories running end on their own (their jobs carry the cancel flag), and
 * every finished story keeps its result.
 */
function* refineStories(
  ctx: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
  step: Extract<SystemStep, { kind: 'stories' }>,
  storyJobIds: readonly string[],
): Generator<Task, StoryOutcome[], unknown> {
  const outcomes: StoryOutcome[] = [];
  for (let start = 0; start < step.indexes.length; start += step.concurrency) {
    const batch = step.indexes.slice(start, start + step.concurrency);
    if (cancel.isCompleted) {
      outcomes.push(...batch.map((index): StoryOutcome => ({ index, outcome: 'cancelled' })));
      continue;
    }
    for (const index of batch) yield systemStoryStart({ ...ref, index }).withRetry(bookkeepingRetry);
    yield ctx.df.Task.all(
      batch.map((index) => {
        const storyJobId = storyJobIds[index] ?? '';
        return ctx.df.callSubOrchestrator(
          jobOrchestratorName,
          storyInput(input, storyJobId),
          instanceIdFor(storyJobId),
        );
      }),
    );
    for (const index of batch) {
      outcomes.push(
        systemStoryFinishOutputSchema.parse(
          yield systemStoryFinish({ ...ref, index }).withRetry(bookkeepingRetry),
        ),
      );
    }
  }
  return outcomes;
}

function* systemStep(
  ctx: OrchestrationContext,
  input: JobOrchestrationInput,
  ref: JobRef,
  cancel: Task,
  step: SystemStep,
  storyJobIds: readonly string[],
): Generator<Task, StepAnswer<SystemStepResult>, unknown> {
  if (step.kind === 'stories') {
    const outcomes = yield* refineStories(ctx, input, ref, cancel, step, storyJobIds);
    return { result: { kind: 'stories', outcomes } };
  }
  const run = systemPassRun({ ...ref, pass: step.kind }).withRetry(llmRetry);
  const ended = yield* raced(ctx, run, cancel);
  if (ended) return ended;
  return { result: { kind: step.kind, ...systemPassRunOutputSchema.parse(run.result) } };
}

/**
 * A backlog (system mode): start, run `systemWorkflowSteps` (discovery, every story as a sub-orchestration of
 * the job orchestrator, interconnection, consistency), finish. Each pass is an activity checkpointed on the
 * job and each story a job of its own, so a replay after a crash re-runs nothing that finished.
 * Deterministic: all I/O happens in activities and sub-orchestrations.
 */
df.app.orchestration(systemOrchestratorName, function* (ctx: OrchestrationContext): Generator<
  Task,
  string,
  unknown
> {
  const input = jobOrchestrationInputSchema.parse(ctx.df.getInput());
  const ref: JobRef = { jobId: input.jobId, tenantId: input.tenantId };
  const cancel = ctx.df.waitForExternalEvent(cancelEventName);
  try {
    if (!input.system) throw new Error('A system orchestration needs its stories.');
    const { storyJobIds, concurrency } = input.system;
    if (!(yield* admitAndStart(ctx, input, ref, cancel))) {
      yield systemFinish({ ...ref, outcome: 'cancelled' }).withRetry(bookkeepingRetry);
      return 'cancelled';
    }
    const outcome = yield* driveWorkflow(
      systemWorkflowSteps({ stories: storyJobIds.length, concurrency }),
      (step) => systemStep(ctx, input, ref, cancel, step, storyJobIds),
    );
    yield systemFinish({ ...ref, ...outcome }).withRetry(bookkeepingRetry);
    return outcome.outcome;
  } catch (error: unknown) {
    // Dead-letter: whatever failed for good, the backlog records it instead of staying queued or running.
    yield systemFinish(deadLetter(ref, error)).withRetry(bookkeepingRetry);
    return 'failed';
  }
});
