import { catalogIndex } from '../engine/catalog';
import { applyIterationResult, mergeIterationResults } from '../engine/merge';
import { iterationModel, runIteration } from '../engine/runner';
import { parseStory, renderMarkdown, storySchema, type Story } from '../engine/story';
import { AppError, toAppError } from '../errors';
import type { LlmPort } from '../llm/port';
import type { ProgressPublisher } from '../progress/progress-publisher';
import { quotaLlm } from '../quotas/quota-llm';
import type { QuotaService } from '../quotas/quota-service';
import { finishedStatuses, type JobDocument } from './job';
import type { JobRepository } from './job-repository';
import type {
  ApprovalStepInput,
  IterationRunInput,
  IterationRunOutput,
  JobFinishInput,
  JobRef,
  JobStartOutput,
  SlotAcquireOutput,
} from './orchestration-contract';
import { quotaWaitProgress } from './quota-wait-progress';
import { recordingLlm, type UsageRepository } from './usage-records';

export interface JobExecutionOptions {
  jobs: JobRepository;
  usage: UsageRepository;
  llm: LlmPort;
  /** Reserves and settles tokens and budget around each LLM call; absent when quotas are off. */
  quotas?: QuotaService;
  /** How often a running iteration checks whether its job was cancelled. */
  cancelPollMs: number;
  /** How long parallel iterations wait for their model's prompt cache to be written (0 turns it off). */
  cacheWarmWaitMs?: number;
  llmTimeoutMs?: number;
  now?: () => Date;
  /** Progress events for SSE and Web PubSub; absent in tests that do not watch progress. */
  progress?: ProgressPublisher;
}

/**
 * The work behind each job activity. Every step is idempotent: an activity re-run after a crash or retry
 * overwrites its own results and usage records instead of adding new ones.
 */
export class JobExecution {
  private readonly now: () => Date;

  constructor(private readonly options: JobExecutionOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private async load(ref: JobRef): Promise<JobDocument> {
    const job = await this.options.jobs.find(ref.tenantId, ref.jobId);
    if (!job) throw new AppError('not_found', `Job ${ref.jobId} was not found.`);
    return job;
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

  private baseStory(job: JobDocument, base: IterationRunInput['base']): Story {
    if (base === 'working' && job.workingStory !== undefined) return storySchema.parse(job.workingStory);
    return parseStory(job.story, { productType: job.productType });
  }

  /**
   * Runs one iteration through the LLM, recording every call's usage, and checkpoints its result. The call is
   * aborted as soon as the job's cancel flag is seen. Transient LLM failures throw (the orchestrator's retry
   * policy runs the activity again); permanent ones are returned as `failed`.
   */
  async runIteration(input: IterationRunInput): Promise<IterationRunOutput> {
    const job = await this.load(input);
    if (job.cancelRequested) return { iterationId: input.iterationId, outcome: 'cancelled' };
    await this.options.jobs.update(input.tenantId, input.jobId, (current) =>
      current.progress.current === input.iterationId
        ? undefined
        : { ...current, progress: { ...current.progress, current: input.iterationId } },
    );
    const progress = this.options.progress;
    await progress?.emit(input, {
      event: 'iteration:start',
      data: {
        jobId: input.jobId,
        iteration: input.iterationId,
        index: Math.max(0, job.iterations.indexOf(input.iterationId)),
        total: job.iterations.length,
      },
    });
    const chunks = progress?.chunks(input, input.iterationId);

    const controller = new AbortController();
    const warmup = this.cacheWarmup(job, input);
    const watcher = setInterval(() => {
      this.options.jobs.find(input.tenantId, input.jobId).then(
        (current) => {
          if (current?.cancelRequested) controller.abort(new AppError('cancelled', 'The job was cancelled.'));
        },
        () => undefined,
      );
    }, this.options.cancelPollMs);
    try {
      const recorded = recordingLlm(this.options.llm, this.options.usage, {
        tenantId: job.tenantId,
        userId: job.userId,
        jobId: job.id,
        now: this.now,
      });
      const llm =
        this.options.quotas && job.limits
          ? quotaLlm(recorded, this.options.quotas, {
              tenantId: job.tenantId,
              userId: job.userId,
              jobId: job.id,
              limits: job.limits,
              now: this.now,
              onWait: quotaWaitProgress({
                ...this.options,
                ref: input,
                iteration: input.iterationId,
                now: this.now,
              }),
            })
          : recorded;
      if (warmup && !warmup.leader) await this.waitForWarmCache(input, warmup.model, controller.signal);
      const markWarm = warmup?.leader ? this.markCacheWarm(input, warmup.model) : undefined;
      const result = await runIteration({
        story: this.baseStory(job, input.base),
        iterationId: input.iterationId,
        llm,
        verify: job.options.verify,
        models: job.options.model ? { model: job.options.model } : {},
        signal: controller.signal,
        timeoutMs: this.options.llmTimeoutMs,
        now: this.now,
        onChunk: (text: string) => {
          markWarm?.(text);
          chunks?.push(text);
        },
      });
      await chunks?.flush();
      if (result.status === 'failed' && result.error?.retryable) {
        throw new AppError('upstream_unavailable', result.error.message, { retryable: true });
      }
      await this.options.jobs.saveIterationResult(input.tenantId, input.jobId, result);
      // Counted from the stored results, not incremented, so a re-run activity cannot count itself twice.
      const completed = (await this.options.jobs.iterationResults(input.tenantId, input.jobId)).length;
      await this.options.jobs.update(input.tenantId, input.jobId, (current) =>
        current.progress.completed >= completed
          ? undefined
          : {
              ...current,
              progress: { ...current.progress, completed: Math.min(current.progress.total, completed) },
            },
      );
      await progress?.emit(
        input,
        {
          event: 'iteration:complete',
          data: {
            jobId: input.jobId,
            iteration: input.iterationId,
            usage: result.usage,
            durationMs: result.durationMs,
          },
        },
        `iteration:complete:${input.iterationId}`,
      );
      return {
        iterationId: input.iterationId,
        outcome: result.status,
        ...(result.error ? { error: result.error } : {}),
      };
    } catch (error: unknown) {
      const appError = toAppError(error);
      if (appError.code === 'cancelled') return { iterationId: input.iterationId, outcome: 'cancelled' };
      throw appError;
    } finally {
      clearInterval(watcher);
      // Cancelled or failed calls still show the text they streamed, and no flush timer outlives the activity.
      await chunks?.flush();
    }
  }

  /**
   * Parallel iterations on one model share a cacheable prompt prefix (instructions and story), but a prefix
   * can only be read once the response that writes it has started. So, per model, the first iteration in
   * catalog order leads and the others wait (at most `cacheWarmWaitMs`) until it streams its first text:
   * one first-token latency buys cache reads for every other call.
   */
  private cacheWarmup(
    job: JobDocument,
    input: IterationRunInput,
  ): { model: string; leader: boolean } | undefined {
    if (input.base !== 'original' || this.options.llm.provider === 'offline' || !this.options.cacheWarmWaitMs)
      return undefined;
    const models = job.options.model ? { model: job.options.model } : {};
    const model = iterationModel(input.iterationId, models);
    const sameModel = job.iterations.filter((id) => iterationModel(id, models) === model);
    if (sameModel.length < 2) return undefined;
    return { model, leader: sameModel[0] === input.iterationId };
  }

  private markCacheWarm(ref: JobRef, model: string): (chunk: string) => void {
    let marked = false;
    return () => {
      if (marked) return;
      marked = true;
      this.options.jobs
        .update(ref.tenantId, ref.jobId, (current) =>
          current.cacheWarm?.includes(model)
            ? undefined
            : { ...current, cacheWarm: [...(current.cacheWarm ?? []), model] },
        )
        .catch(() => undefined);
    };
  }

  private async waitForWarmCache(ref: JobRef, model: string, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + (this.options.cacheWarmWaitMs ?? 0);
    while (Date.now() < deadline && !signal.aborted) {
      const job = await this.options.jobs.find(ref.tenantId, ref.jobId);
      if (!job || job.cacheWarm?.includes(model) || job.cancelRequested) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Interactive mode: shows the story as it would be with this iteration applied, and waits for a decision. */
  async awaitApproval(input: ApprovalStepInput): Promise<void> {
    const job = await this.load(input);
    const result = (await this.options.jobs.iterationResults(input.tenantId, input.jobId)).find(
      (item) => item.id === input.iterationId,
    );
    const working = this.baseStory(job, 'working');
    const preview = result ? applyIterationResult(working, result).story : working;
    await this.options.jobs.update(input.tenantId, input.jobId, (current) => ({
      ...current,
      status: 'awaiting_approval',
      awaitingApproval: { iteration: input.iterationId, since: this.now().toISOString() },
      result: { story: renderMarkdown(preview), iterations: current.result?.iterations ?? [] },
    }));
    await this.options.progress?.emit(
      input,
      {
        event: 'awaiting_approval',
        data: { jobId: input.jobId, iteration: input.iterationId, story: renderMarkdown(preview) },
      },
      `awaiting_approval:${input.iterationId}`,
    );
  }

  /** Interactive mode: applies (continue), discards (skip) or stops after the decision on one iteration. */
  async applyApproval(input: ApprovalStepInput): Promise<void> {
    const job = await this.load(input);
    const results = await this.options.jobs.iterationResults(input.tenantId, input.jobId);
    const result = results.find((item) => item.id === input.iterationId);
    let working = this.baseStory(job, 'working');
    if (input.editedStory !== undefined) {
      working = parseStory(input.editedStory, { productType: job.productType });
    } else if (result && input.decision === 'continue') {
      const step = applyIterationResult(working, result);
      working = step.story;
      await this.options.jobs.saveIterationResult(input.tenantId, input.jobId, step.result);
    }
    if (result && input.decision !== 'continue') {
      await this.options.jobs.saveIterationResult(input.tenantId, input.jobId, {
        ...result,
        status: 'skipped',
        changes: [],
        summary: `Skipped on request. ${result.summary}`,
      });
    }
    await this.options.jobs.update(input.tenantId, input.jobId, (current) => {
      const { awaitingApproval: _awaiting, ...rest } = current;
      return { ...rest, status: 'running', workingStory: working };
    });
  }

  /** Final state: merges (workflow) or takes the approved story (interactive), totals usage from the call records. */
  async finish(input: JobFinishInput): Promise<void> {
    const job = await this.load(input);
    const results = await this.options.jobs.iterationResults(input.tenantId, input.jobId);
    let story: Story;
    let iterations = results;
    if (input.merge === 'all') {
      const merged = mergeIterationResults(this.baseStory(job, 'original'), results);
      story = merged.story;
      iterations = merged.results;
    } else {
      story = this.baseStory(job, 'working');
    }
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
          completed: iterations.filter((result) => result.status !== 'failed').length,
        },
        result: {
          story: renderMarkdown(story),
          iterations: [...iterations].sort((a, b) => catalogIndex(a.id) - catalogIndex(b.id)),
        },
        ...(input.error ? { error: input.error } : {}),
      };
    });
    await this.options.quotas?.releaseSlot(job, job.id);
    if (finished) await this.emitTerminal(input, finished);
  }

  /** The job's one terminal event, written after its final state so a client reacting to it reads that state. */
  private async emitTerminal(ref: JobRef, job: JobDocument): Promise<void> {
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
