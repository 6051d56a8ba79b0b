import { sumUsage } from '../engine/iteration-result';
import { parseStory, storyTitle, type Story } from '../engine/story';
import { backlogStoryId, type BacklogEntry, type SystemPassResult } from '../engine/system-analysis';
import { runSystemPass } from '../engine/system-passes';
import { renderBacklogMarkdown } from '../engine/system-report';
import type { StoryOutcome, SystemPassOutcome } from '../engine/system-workflow';
import { AppError, toAppError } from '../errors';
import type { LlmPort } from '../llm/port';
import type { ProgressPublisher } from '../progress/progress-publisher';
import type { QuotaService } from '../quotas/quota-service';
import { finishedStatuses, type JobDocument, type SystemResult } from './job';
import type { JobRepository } from './job-repository';
import { loadJob, watchCancel, type JobSteps } from './job-steps';
import { meteredLlm } from './metered-llm';
import type { JobFinishInput, JobRef } from './orchestration-contract';
import type { SystemPassRunInput, SystemStoryInput } from './system-orchestration-contract';
import type { UsageRepository } from './usage-records';

export interface SystemStepsOptions {
  jobs: JobRepository;
  usage: UsageRepository;
  llm: LlmPort;
  quotas?: QuotaService;
  cancelPollMs: number;
  llmTimeoutMs?: number;
  now?: () => Date;
  progress?: ProgressPublisher;
  /** Writes a job's terminal event, as for single-story jobs. */
  terminal: Pick<JobSteps, 'emitTerminal'>;
}

/**
 * The work behind the backlog orchestration's activities: the system passes (checkpointed on the backlog
 * job), the bookkeeping around each story's sub-orchestration, and the backlog's final state. Each story is
 * an ordinary job run by the job orchestrator, so its steps, usage and checkpoints are those of any job.
 */
export class SystemSteps {
  private readonly now: () => Date;

  constructor(private readonly options: SystemStepsOptions) {
    this.now = options.now ?? (() => new Date());
  }

  private load(ref: JobRef): Promise<JobDocument> {
    return loadJob(this.options.jobs, ref);
  }

  private backlogOf(job: JobDocument): NonNullable<JobDocument['stories']> {
    if (!job.stories) throw new AppError('validation_failed', `Job ${job.id} is not a system-mode job.`);
    return job.stories;
  }

  /** The stories' jobs, in backlog order (undefined for one that was never written). */
  private storyJobs(job: JobDocument): Promise<(JobDocument | undefined)[]> {
    return Promise.all(this.backlogOf(job).map((story) => this.options.jobs.find(job.tenantId, story.jobId)));
  }

  /** Discovery reads the stories as submitted; the later passes read the specifications that completed. */
  private async backlogFor(
    job: JobDocument,
    pass: SystemPassRunInput['pass'],
  ): Promise<BacklogEntry<Story>[]> {
    const productType = { productType: job.productType };
    if (pass === 'discovery') {
      return this.backlogOf(job).map((story) => ({
        id: story.storyId,
        story: parseStory(story.text, productType),
      }));
    }
    const children = await this.storyJobs(job);
    return children.flatMap((child, index) =>
      child?.status === 'completed' && child.result
        ? [{ id: backlogStoryId(index), story: parseStory(child.result.story, productType) }]
        : [],
    );
  }

  /**
   * Runs one system pass and checkpoints its result on the backlog job; a pass already stored is not run
   * again. A failure a retry may fix is thrown (the orchestrator's retry policy runs the activity again).
   */
  async runPass(input: SystemPassRunInput): Promise<SystemPassOutcome> {
    const job = await this.load(input);
    const done = job.systemPasses?.find((pass) => pass.id === input.pass);
    if (done) return { outcome: done.status };
    if (job.cancelRequested) return { outcome: 'cancelled' };
    const backlog = await this.backlogFor(job, input.pass);
    const context = job.systemPasses?.find((pass) => pass.id === 'discovery')?.context;
    const { jobId } = input;
    await this.options.progress?.emit(
      input,
      { event: 'system:pass:start', data: { jobId, pass: input.pass } },
      `system:pass:start:${input.pass}`,
    );
    const cancel = watchCancel(this.options.jobs, input, this.options.cancelPollMs);
    let result: SystemPassResult;
    try {
      result = await runSystemPass({
        llm: meteredLlm(job, { ...this.options, now: this.now }),
        models: job.options.model ? { model: job.options.model } : {},
        signal: cancel.signal,
        timeoutMs: this.options.llmTimeoutMs,
        now: this.now,
        pass: input.pass,
        backlog,
        ...(input.pass !== 'discovery' && context ? { context } : {}),
      });
    } catch (error: unknown) {
      if (toAppError(error).code === 'cancelled') return { outcome: 'cancelled' };
      throw error;
    } finally {
      cancel.stop();
    }
    if (result.error?.retryable) {
      throw new AppError('upstream_unavailable', result.error.message, { retryable: true });
    }
    await this.options.jobs.update(input.tenantId, jobId, (current) => ({
      ...current,
      systemPasses: [...(current.systemPasses ?? []).filter((pass) => pass.id !== result.id), result],
    }));
    await this.options.progress?.emit(
      input,
      { event: 'system:pass:complete', data: { jobId, pass: input.pass, status: result.status } },
      `system:pass:complete:${input.pass}`,
    );
    return { outcome: result.status };
  }

  private storyEventData(job: JobDocument, index: number) {
    const story = this.backlogOf(job)[index];
    if (!story) throw new AppError('validation_failed', `Job ${job.id} has no story ${index + 1}.`);
    return {
      jobId: job.id,
      storyId: story.storyId,
      storyJobId: story.jobId,
      index,
      total: this.backlogOf(job).length,
    };
  }

  /**
   * Gives a story's job the context discovery found (its refinement then uses the backlog's names), and
   * announces that the story's refinement starts.
   */
  async storyStarted(input: SystemStoryInput): Promise<void> {
    const job = await this.load(input);
    const data = this.storyEventData(job, input.index);
    const context = job.systemPasses?.find((pass) => pass.id === 'discovery')?.context;
    if (context) {
      const backlogContext = { storyId: data.storyId, context };
      await this.options.jobs.update(input.tenantId, data.storyJobId, (current) =>
        current.backlogContext ? undefined : { ...current, backlogContext },
      );
    }
    await this.options.progress?.emit(input, { event: 'story:start', data }, `story:start:${data.storyId}`);
  }

  /** Reads how a story's job ended, counts it in the backlog's progress and announces it. */
  async storyFinished(input: SystemStoryInput): Promise<StoryOutcome> {
    const job = await this.load(input);
    const data = this.storyEventData(job, input.index);
    const children = await this.storyJobs(job);
    const child = children[input.index];
    const outcome: StoryOutcome =
      child?.status === 'completed' || child?.status === 'cancelled'
        ? { index: input.index, outcome: child.status }
        : {
            index: input.index,
            outcome: 'failed',
            error: child?.error ?? {
              code: 'internal',
              message: `Story ${data.storyId} ended ${child?.status ?? 'without its job'}.`,
              retryable: false,
            },
          };
    // Counted from the stories' states, not incremented, so a re-run activity cannot count a story twice.
    const finished = children.filter((entry) => entry && finishedStatuses.has(entry.status)).length;
    await this.options.jobs.update(input.tenantId, input.jobId, (current) =>
      current.progress.completed >= finished
        ? undefined
        : { ...current, progress: { ...current.progress, completed: finished } },
    );
    await this.options.progress?.emit(
      input,
      { event: 'story:complete', data: { ...data, status: outcome.outcome } },
      `story:complete:${data.storyId}`,
    );
    return outcome;
  }

  /**
   * The backlog's final state: each story's specification and outcome, the analysis, usage summed over the
   * backlog's own calls and its stories', then the terminal event. Finished stories are kept whatever the
   * outcome (a cancelled backlog still shows them).
   */
  async finish(input: JobFinishInput): Promise<void> {
    const job = await this.load(input);
    const children = await this.storyJobs(job);
    const passes = job.systemPasses ?? [];
    const analysis = {
      context: passes.find((pass) => pass.id === 'discovery')?.context,
      relationships: passes.find((pass) => pass.id === 'interconnection')?.relationships ?? [],
      findings: passes.find((pass) => pass.id === 'consistency')?.findings ?? [],
    };
    const stories: SystemResult['stories'] = this.backlogOf(job).map((entry, index) => {
      const child = children[index];
      const markdown = child?.status === 'completed' ? child.result?.story : undefined;
      const review = child?.result?.review;
      return {
        storyId: entry.storyId,
        jobId: entry.jobId,
        status: child?.status ?? 'failed',
        title: storyTitle(parseStory(entry.text, { productType: job.productType })),
        ...(markdown === undefined ? {} : { story: markdown }),
        ...(review ? { overall: review.overall } : {}),
        ...(child?.result?.renames ? { renames: child.result.renames } : {}),
        ...(child?.error ? { error: child.error } : {}),
      };
    });
    const own = await this.options.usage.jobTotals(input.tenantId, input.jobId);
    const usage = sumUsage([{ usage: own }, ...children.flatMap((child) => (child ? [child] : []))]);
    const finished = await this.options.jobs.update(input.tenantId, input.jobId, (current) => {
      if (finishedStatuses.has(current.status)) return undefined;
      return {
        ...current,
        status: input.outcome,
        completedAt: this.now().toISOString(),
        usage,
        progress: {
          ...current.progress,
          current: null,
          completed: children.filter((child) => child && finishedStatuses.has(child.status)).length,
        },
        result: {
          story: renderBacklogMarkdown(stories, analysis),
          iterations: [],
          passes: [],
          findings: [],
          system: { stories, ...analysis, passes },
        },
        ...(input.error ? { error: input.error } : {}),
      };
    });
    await this.options.quotas?.releaseSlot(job, job.id);
    if (finished) await this.options.terminal.emitTerminal(input, finished);
  }
}
