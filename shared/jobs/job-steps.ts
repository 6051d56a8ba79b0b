import type { IterationId } from '../engine/catalog';
import {
  StepExecutor,
  type CacheGate,
  type StepEnvironment,
  type WorkflowEvent,
} from '../engine/step-executor';
import { parseStory, renderMarkdown } from '../engine/story';
import { workflowReport } from '../engine/workflow-report';
import { AppError, toAppError } from '../errors';
import type { UploadBlobs } from '../adapters/upload-blobs';
import type { LlmPort } from '../llm/port';
import type { MockupInventoryRepository } from '../mockups/inventory-repository';
import { uploadMockupSource } from '../mockups/upload-mockups';
import type { ChunkSink, ProgressPublisher } from '../progress/progress-publisher';
import type { QuotaService } from '../quotas/quota-service';
import type { UploadRepository } from '../uploads/upload-repository';
import { finishedStatuses, type JobDocument } from './job';
import type { JobRepository } from './job-repository';
import { JobWorkflowStore } from './job-workflow-store';
import {
  strategyOf,
  type ApprovalStepInput,
  type IterationRunInput,
  type IterationRunOutput,
  type JobFinishInput,
  type JobRef,
  type JobStartOutput,
  type MockupAnalyzeInput,
  type MockupAnalyzeOutput,
  type SlotAcquireOutput,
  type WorkflowStepRunInput,
  type WorkflowStepRunOutput,
} from './orchestration-contract';
import { meteredLlm } from './metered-llm';
import { quotaWaitProgress } from './quota-wait-progress';
import type { UsageRepository } from './usage-records';

export interface JobStepsOptions {
  jobs: JobRepository;
  usage: UsageRepository;
  llm: LlmPort;
  /** Where a job's mockups are read from (the tenant's checked uploads) and their inventories kept. */
  mockups: {
    uploads: Pick<UploadRepository, 'find'>;
    blobs: Pick<UploadBlobs, 'read'>;
    inventories: Pick<MockupInventoryRepository, 'forJob' | 'save'>;
  };
  /** Reserves and settles tokens and budget around each LLM call; absent when quotas are off. */
  quotas?: QuotaService;
  /** How often a running step checks whether its job was cancelled. */
  cancelPollMs: number;
  /** How long parallel iterations wait for their model's prompt cache to be written (0 turns it off). */
  cacheWarmWaitMs?: number;
  llmTimeoutMs?: number;
  now?: () => Date;
  /** Progress events for SSE and Web PubSub; absent in tests that do not watch progress. */
  progress?: ProgressPublisher;
}

/** The job an activity works on; a job that is gone is `not_found`. */
export async function loadJob(jobs: JobRepository, ref: JobRef): Promise<JobDocument> {
  const job = await jobs.find(ref.tenantId, ref.jobId);
  if (!job) throw new AppError('not_found', `Job ${ref.jobId} was not found.`);
  return job;
}

/** An abort signal raised as soon as the job's cancel flag is seen; `stop` ends the polling. */
export function watchCancel(
  jobs: JobRepository,
  ref: JobRef,
  pollMs: number,
): { signal: AbortSignal; stop: () => void } {
  const controller = new AbortController();
  const timer = setInterval(() => {
    jobs.find(ref.tenantId, ref.jobId).then(
      (job) => {
        if (job?.cancelRequested) controller.abort(new AppError('cancelled', 'The job was cancelled.'));
      },
      () => undefined,
    );
  }, pollMs);
  return { signal: controller.signal, stop: () => clearInterval(timer) };
}

/**
 * The prompt-cache gate of a job's parallel iterations, shared by their activities through the job
 * document: the leader marks its model warm, the others poll for the mark (at most `waitMs`, and not past a
 * cancel).
 */
function jobCacheGate(jobs: JobRepository, ref: JobRef, waitMs: number): CacheGate {
  const marked = new Set<string>();
  return {
    async ready(model, signal) {
      const deadline = Date.now() + waitMs;
      while (Date.now() < deadline && !signal?.aborted) {
        const job = await jobs.find(ref.tenantId, ref.jobId);
        if (!job || job.cacheWarm?.includes(model) || job.cancelRequested) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    open(model) {
      if (marked.has(model)) return;
      marked.add(model);
      jobs
        .update(ref.tenantId, ref.jobId, (current) =>
          current.cacheWarm?.includes(model)
            ? undefined
            : { ...current, cacheWarm: [...(current.cacheWarm ?? []), model] },
        )
        .catch(() => undefined);
    },
  };
}

/**
 * The engine's progress as the job shows it: progress events (keyed, so a re-run step does not repeat them)
 * and the job's `progress` counters. Streamed text is coalesced per iteration; `close` flushes what is left.
 */
function jobProgress(
  jobs: JobRepository,
  publisher: ProgressPublisher | undefined,
  ref: JobRef,
): { onEvent: (event: WorkflowEvent) => Promise<void>; close: () => Promise<void> } {
  const sinks = new Map<IterationId, ChunkSink>();
  const sink = (iteration: IterationId): ChunkSink | undefined => {
    if (!publisher) return undefined;
    let found = sinks.get(iteration);
    if (!found) {
      found = publisher.chunks(ref, iteration);
      sinks.set(iteration, found);
    }
    return found;
  };
  const onEvent = async (event: WorkflowEvent): Promise<void> => {
    const { jobId } = ref;
    switch (event.type) {
      case 'mockup:analyzing':
      case 'mockup:complete':
        await publisher?.emit(
          ref,
          { event: event.type, data: { jobId, uploadId: event.uploadId, fileName: event.fileName } },
          `${event.type}:${event.uploadId}`,
        );
        return;
      case 'iteration:start':
        await jobs.update(ref.tenantId, jobId, (job) =>
          job.progress.current === event.iteration
            ? undefined
            : { ...job, progress: { ...job.progress, current: event.iteration } },
        );
        await publisher?.emit(ref, {
          event: 'iteration:start',
          data: { jobId, iteration: event.iteration, index: event.index, total: event.total },
        });
        return;
      case 'iteration:progress':
        sink(event.iteration)?.push(event.chunk);
        return;
      case 'iteration:complete': {
        await sink(event.iteration)?.flush();
        // Counted from the stored results, not incremented, so a re-run step cannot count itself twice.
        const completed = (await jobs.iterationResults(ref.tenantId, jobId)).length;
        await jobs.update(ref.tenantId, jobId, (job) =>
          job.progress.completed >= completed
            ? undefined
            : { ...job, progress: { ...job.progress, completed: Math.min(job.progress.total, completed) } },
        );
        const { usage, durationMs } = event.result;
        await publisher?.emit(
          ref,
          { event: 'iteration:complete', data: { jobId, iteration: event.iteration, usage, durationMs } },
          `iteration:complete:${event.iteration}`,
        );
        return;
      }
      case 'review:start':
        await publisher?.emit(
          ref,
          { event: 'review:start', data: { jobId, round: event.round } },
          `review:start:${event.round}`,
        );
        return;
      case 'review:complete':
        await publisher?.emit(
          ref,
          {
            event: 'review:complete',
            data: { jobId, round: event.round, verdict: event.verdict, overall: event.overall },
          },
          `review:complete:${event.round}`,
        );
        return;
    }
  };
  const close = async (): Promise<void> => {
    await Promise.all([...sinks.values()].map((entry) => entry.flush()));
  };
  return { onEvent, close };
}

/**
 * The work behind each job activity: loads the job, builds its step executor (the engine's, the same the
 * command line uses) over the job's Cosmos state with the job's metered LLM, cancel watch, cache gate and
 * progress, runs one step and records the outcome. Every step is idempotent: a step re-run after a crash or
 * retry finds its checkpoint, or overwrites its own results and usage records instead of adding new ones.
 */
export class JobSteps {
  private readonly now: () => Date;

  constructor(private readonly options: JobStepsOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private load(ref: JobRef): Promise<JobDocument> {
    return loadJob(this.options.jobs, ref);
  }

  private store(job: JobDocument): JobWorkflowStore {
    return new JobWorkflowStore(this.options.jobs, job, this.options.mockups.inventories);
  }

  /** Runs `work` with the job's step executor; cancel polling and progress end with it. */
  private async withExecutor<T>(job: JobDocument, work: (executor: StepExecutor) => Promise<T>): Promise<T> {
    const ref = { tenantId: job.tenantId, jobId: job.id };
    const cancel = watchCancel(this.options.jobs, ref, this.options.cancelPollMs);
    const progress = jobProgress(this.options.jobs, this.options.progress, ref);
    const warmWaitMs = this.options.cacheWarmWaitMs ?? 0;
    const environment: StepEnvironment = {
      llm: meteredLlm(job, {
        ...this.options,
        now: this.now,
        onWait: quotaWaitProgress({ ...this.options, ref, now: this.now }),
      }),
      iterations: job.iterations,
      verify: job.options.verify,
      models: job.options.model ? { model: job.options.model } : {},
      ...(job.backlogContext ? { backlogContext: job.backlogContext } : {}),
      signal: cancel.signal,
      timeoutMs: this.options.llmTimeoutMs,
      now: this.now,
      onEvent: progress.onEvent,
      throwRetryable: true,
      mockupSource: uploadMockupSource(
        this.options.mockups.uploads,
        this.options.mockups.blobs,
        job.tenantId,
      ),
      // The offline engine has no prompt cache to warm.
      ...(this.options.llm.provider !== 'offline' && warmWaitMs > 0
        ? { cache: jobCacheGate(this.options.jobs, ref, warmWaitMs) }
        : {}),
    };
    try {
      return await work(new StepExecutor(this.store(job), environment));
    } finally {
      cancel.stop();
      // Cancelled or failed calls still show the text they streamed, and no flush timer outlives the step.
      await progress.close();
    }
  }

  /**
   * Takes a run slot for a job queued behind the user's concurrent-job limit; `granted: false` means wait and
   * ask again. A job cancelled meanwhile is let through, so the orchestration ends it at once.
   */
  async acquireSlot(ref: JobRef): Promise<SlotAcquireOutput> {
    const job = await this.load(ref);
    if (!this.options.quotas || !job.limits || job.cancelRequested) return { granted: true };
    return {
      granted: await this.options.quotas.acquireSlot(job, job.id, job.limits.maxConcurrentJobs),
    };
  }

  /** Marks the job running; a job cancelled while queued does not start at all. */
  async start(ref: JobRef): Promise<JobStartOutput> {
    const job = await this.options.jobs.update(ref.tenantId, ref.jobId, (current) => {
      if (current.cancelRequested || finishedStatuses.has(current.status) || current.status === 'running')
        return undefined;
      return { ...current, status: 'running', startedAt: current.startedAt ?? this.now().toISOString() };
    });
    if (!job) throw new AppError('not_found', `Job ${ref.jobId} was not found.`);
    const proceed = !job.cancelRequested && !finishedStatuses.has(job.status);
    if (proceed) {
      await this.options.progress?.emit(
        ref,
        {
          event: 'start',
          data: { jobId: ref.jobId, iterations: job.iterations, total: job.iterations.length },
        },
        'start',
      );
    }
    return { proceed };
  }

  /**
   * Runs one iteration and checkpoints its result. Transient LLM failures throw (the orchestrator's retry
   * policy runs the activity again); permanent ones are returned as `failed`.
   */
  async runIteration(input: IterationRunInput): Promise<IterationRunOutput> {
    const job = await this.load(input);
    if (job.cancelRequested) return { iterationId: input.iterationId, outcome: 'cancelled' };
    try {
      return await this.withExecutor(job, (executor) => executor.runIteration(input.iterationId, input.base));
    } catch (error: unknown) {
      const appError = toAppError(error);
      if (appError.code === 'cancelled') return { iterationId: input.iterationId, outcome: 'cancelled' };
      throw appError;
    }
  }

  /**
   * Reads one mockup into the job's inventory, before the iterations. Transient failures throw (the
   * orchestrator's retry policy runs the activity again); permanent ones are returned as `failed`.
   */
  async analyzeMockup(input: MockupAnalyzeInput): Promise<MockupAnalyzeOutput> {
    const job = await this.load(input);
    if (job.cancelRequested) return { uploadId: input.uploadId, outcome: 'cancelled' };
    return this.withExecutor(job, (executor) => executor.analyzeMockup(input.uploadId));
  }

  /**
   * Runs one workflow step after the iterations: the merge, consolidation, a judge or rewrite round, or a
   * conversation turn's refinement.
   */
  async runStep(input: WorkflowStepRunInput): Promise<WorkflowStepRunOutput> {
    const job = await this.load(input);
    if (job.cancelRequested) return { outcome: 'cancelled' };
    const { step } = input;
    return this.withExecutor(job, async (executor) => {
      switch (step.kind) {
        case 'merge':
          await executor.merge();
          return { outcome: 'applied' };
        case 'consolidation':
          return executor.consolidate(step.judgeRewriteRounds);
        case 'review':
          return executor.review(step.round, step.rewriteRoundsLeft);
        case 'rewrite':
          return executor.rewrite(step.round);
        case 'refinement':
          if (!job.conversation) throw new AppError('internal', `Job ${job.id} is not a conversation turn.`);
          return executor.refine(job.conversation.message);
      }
    });
  }

  /** Interactive mode: shows the story as it would be with this iteration applied, and waits for a decision. */
  async awaitApproval(input: ApprovalStepInput): Promise<void> {
    const job = await this.load(input);
    const { story } = await this.withExecutor(job, (executor) => executor.preview(input.iterationId));
    const markdown = renderMarkdown(story);
    await this.options.jobs.update(input.tenantId, input.jobId, (current) => ({
      ...current,
      status: 'awaiting_approval',
      awaitingApproval: { iteration: input.iterationId, since: this.now().toISOString() },
      result: {
        story: markdown,
        iterations: current.result?.iterations ?? [],
        passes: [],
        findings: [],
      },
    }));
    await this.options.progress?.emit(
      input,
      {
        event: 'awaiting_approval',
        data: { jobId: input.jobId, iteration: input.iterationId, story: markdown },
      },
      `awaiting_approval:${input.iterationId}`,
    );
  }

  /** Interactive mode: applies (continue), discards (skip) or stops after the decision on one iteration. */
  async applyApproval(input: ApprovalStepInput): Promise<void> {
    const job = await this.load(input);
    const edited =
      input.editedStory === undefined
        ? undefined
        : parseStory(input.editedStory, { productType: job.productType });
    await this.withExecutor(job, (executor) =>
      executor.applyApproval(input.iterationId, input.decision ?? 'continue', edited),
    );
    await this.options.jobs.update(input.tenantId, input.jobId, (current) => {
      const { awaitingApproval: _awaiting, ...rest } = current;
      return { ...rest, status: 'running' };
    });
  }

  /** Final state: the engine's report of the run, usage totals from the call records, the terminal event. */
  async finish(input: JobFinishInput): Promise<void> {
    const job = await this.load(input);
    const report = await workflowReport(
      this.store(job),
      strategyOf(job.mode),
      job.backlogContext?.context.vocabulary,
    );
    const usage = await this.options.usage.jobTotals(input.tenantId, input.jobId);
    const finished = await this.options.jobs.update(input.tenantId, input.jobId, (current) => {
      if (finishedStatuses.has(current.status)) return undefined;
      const { awaitingApproval: _awaiting, ...rest } = current;
      // A wait still shown (its activity died mid-wait) is over.
      const { waiting: _waiting, ...progress } = current.progress;
      return {
        ...rest,
        status: input.outcome,
        completedAt: this.now().toISOString(),
        usage,
        progress: {
          ...progress,
          current: null,
          completed: report.iterations.filter((result) => result.status !== 'failed').length,
        },
        result: {
          story: report.markdown,
          iterations: report.iterations,
          passes: report.passes,
          ...(report.review ? { review: report.review } : {}),
          findings: report.findings,
          ...(report.renames.length > 0 ? { renames: report.renames } : {}),
        },
        ...(input.error ? { error: input.error } : {}),
      };
    });
    await this.options.quotas?.releaseSlot(job, job.id);
    if (finished) await this.emitTerminal(input, finished);
  }

  /** The job's one terminal event, written after its final state so a client reacting to it reads that state. */
  async emitTerminal(ref: JobRef, job: JobDocument): Promise<void> {
    const progress = this.options.progress;
    if (!progress) return;
    const data = { jobId: ref.jobId };
    // Keyed, so a finish activity that runs again after a crash does not end the stream twice.
    const key = 'terminal';
    if (job.status === 'completed') {
      await progress.emit(
        ref,
        {
          event: 'complete',
          data: { ...data, story: job.result?.story ?? '', usage: job.usage, costUsd: job.usage.costUsd },
        },
        key,
      );
    } else if (job.status === 'cancelled') {
      await progress.emit(ref, { event: 'cancelled', data }, key);
    } else if (job.status === 'failed') {
      const error = job.error ?? { code: 'internal', message: 'The job failed.', retryable: false };
      await progress.emit(ref, { event: 'error', data: { ...data, ...error } }, key);
    }
  }
}
