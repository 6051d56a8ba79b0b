import { AsyncResource } from 'node:async_hooks';
import { AppError, toAppError } from '../errors';
import { getIteration, type IterationId, type ProductType } from './catalog';
import type { IterationResult, PassResult } from './iteration-result';
import { applyResult, mergeIterationResults } from './merge';
import type { MockupInventory, MockupResult, MockupSource } from './mockup-inventory';
import {
  iterationModel,
  runConsolidation,
  runIteration,
  runMockupAnalysis,
  runRefinement,
  runReview,
  runRewrite,
  unchangedReview,
  type CallOptions,
  type ModelSelection,
} from './passes';
import { engineInstructions } from './prompts';
import type { ReviewVerdict } from './review';
import type { Story } from './story';
import type { ApprovalDecision, IterationOutcome, MockupOutcome, PassOutcome } from './workflow';

/**
 * Where a run keeps its state between steps: in memory for the command line, in Cosmos for jobs (each
 * durable activity builds a store over the job it loaded). Results are checkpoints: a step whose result is
 * stored is not run again.
 */
export interface WorkflowStore {
  /** The story as submitted. */
  original(): Story;
  /** The story as merged or approved so far; undefined before the first merge or approval. */
  working(): Promise<Story | undefined>;
  saveWorking(story: Story): Promise<void>;
  iterationResults(): Promise<IterationResult[]>;
  saveIterationResult(result: IterationResult): Promise<void>;
  passResults(): Promise<PassResult[]>;
  /** The run's mockups read so far, each with its inventory. */
  mockupResults(): Promise<MockupResult[]>;
  saveMockupResult(result: MockupResult): Promise<void>;
  /** Stores a pass result and, when it changed the story, the new working story, in one write. */
  savePass(result: PassResult, story?: Story): Promise<void>;
}

/** Progress as the engine reports it; mirrors the contract's `mockup:*`, `iteration:*` and `review:*` events. */
export type WorkflowEvent =
  | { type: 'mockup:analyzing' | 'mockup:complete'; uploadId: string; fileName: string }
  | { type: 'iteration:start'; iteration: IterationId; index: number; total: number }
  | { type: 'iteration:progress'; iteration: IterationId; chunk: string }
  | {
      type: 'iteration:complete';
      iteration: IterationId;
      index: number;
      total: number;
      result: IterationResult;
    }
  | { type: 'review:start'; round: number }
  | { type: 'review:complete'; round: number; verdict: ReviewVerdict; overall: number };

/**
 * The prompt-cache warm-up of parallel iterations. A cached prefix can only be read once the response that
 * writes it has begun, so per model one call leads and the others wait until its response begins: one wait
 * for a response buys cache reads for every other call on that model. When the model's instructions are
 * already cached, nobody waits.
 */
export interface CacheGate {
  /** Resolves once `model`'s prefix is written, or once waiting is no longer worth it. */
  ready(model: string, signal?: AbortSignal): Promise<void>;
  /** The leading call's response has begun (or the call ended, whatever happened). */
  open(model: string): void;
}

/**
 * Per model, the plan's first iteration in catalog order that calls the model leads (one that does not apply
 * to the product type makes no call, so it cannot warm anything); undefined when no other call waits for it,
 * and for an iteration that makes no call.
 */
export function cacheRole(
  plan: readonly IterationId[],
  productType: ProductType,
  models: ModelSelection | undefined,
  iterationId: IterationId,
): { model: string; leads: boolean } | undefined {
  const calls = (id: IterationId) => getIteration(id).productTypes.includes(productType);
  // One that makes no call neither leads nor waits: waiting would only hold it up (or, one at a time, forever).
  if (!calls(iterationId)) return undefined;
  const model = iterationModel(iterationId, models);
  const sameModel = plan.filter((id) => iterationModel(id, models) === model && calls(id));
  if (sameModel.length < 2) return undefined;
  return { model, leads: sameModel[0] === iterationId };
}

/**
 * A gate per model kept in memory: for runs in one process. A follower waits at most `waitMs` (then it writes
 * the prefix itself rather than hold the run up), and not past its signal.
 */
export function memoryCacheGate(waitMs = 10_000): CacheGate {
  const gates = new Map<string, { ready: Promise<void>; open: () => void }>();
  const gate = (model: string) => {
    let entry = gates.get(model);
    if (!entry) {
      let open = (): void => undefined;
      const ready = new Promise<void>((resolve) => {
        open = resolve;
      });
      entry = { ready, open };
      gates.set(model, entry);
    }
    return entry;
  };
  return {
    async ready(model, signal) {
      let timer: NodeJS.Timeout | undefined;
      let stopWaiting = (): void => undefined;
      const givenUp = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, waitMs);
        stopWaiting = () => resolve();
        signal?.addEventListener('abort', stopWaiting, { once: true });
      });
      try {
        await Promise.race([gate(model).ready, givenUp]);
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stopWaiting);
      }
    },
    open: (model) => gate(model).open(),
  };
}

/** A judge round started before the step that would run it. */
interface EarlyJudge {
  /** The story it judges. */
  story: Story;
  /** Whether the run goes on with that story, so the round stands. */
  kept: boolean;
  result: Promise<PassResult | undefined>;
  stop: () => void;
}

/** Whether two stories built in this process are the same: same fields, written in the same order. */
function sameStory(a: Story, b: Story): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** What the steps of one run share besides the store. */
export interface StepEnvironment extends CallOptions {
  /** The plan's iterations in catalog order: the `index` and `total` of iteration events, and cache roles. */
  iterations: readonly IterationId[];
  verify?: boolean;
  onEvent?: (event: WorkflowEvent) => void | Promise<void>;
  /** Warm-up of parallel iterations; absent: every call starts at once. */
  cache?: CacheGate;
  /** Where the plan's mockups are read from; absent when the plan has none. */
  mockupSource?: MockupSource;
  /**
   * Durable activities set this: a failure marked retryable is thrown (and nothing is stored), so the
   * orchestrator's retry policy runs the step again; otherwise it is recorded as a failed result.
   */
  throwRetryable?: boolean;
}

function outcomeOf(result: IterationResult): IterationOutcome {
  return { iterationId: result.id, outcome: result.status, ...(result.error ? { error: result.error } : {}) };
}

function passOutcome(result: PassResult): PassOutcome {
  return {
    outcome: result.status,
    ...(result.review ? { verdict: result.review.verdict, overall: result.review.overall } : {}),
    ...(result.error ? { error: result.error } : {}),
  };
}

/**
 * Executes workflow steps over a store: the one implementation of what each step does, used by the command
 * line and by every durable activity. Cancellation is thrown as `AppError('cancelled')`.
 */
export class StepExecutor {
  constructor(
    private readonly store: WorkflowStore,
    private readonly env: StepEnvironment,
  ) {}

  private emit(event: WorkflowEvent): Promise<void> | void {
    return this.env.onEvent?.(event);
  }

  private async current(): Promise<Story> {
    return (await this.store.working()) ?? this.store.original();
  }

  private failOnRetryable(result: { error?: { retryable: boolean; message: string } }): void {
    if (this.env.throwRetryable && result.error?.retryable) {
      throw new AppError('upstream_unavailable', result.error.message, { retryable: true });
    }
  }

  /** What the run's mockups show, for every engine call's context. */
  private async inventories(): Promise<MockupInventory[]> {
    return (await this.store.mockupResults()).map((result) => result.inventory);
  }

  /**
   * Reads one mockup into its inventory before the iterations. A file that is gone fails the run; a failure
   * a retry may fix is thrown when the caller retries steps (`throwRetryable`).
   */
  async analyzeMockup(uploadId: string): Promise<MockupOutcome> {
    if ((await this.store.mockupResults()).some((result) => result.inventory.uploadId === uploadId)) {
      return { uploadId, outcome: 'analyzed' };
    }
    const file = await this.env.mockupSource?.read(uploadId);
    if (!file) {
      return {
        uploadId,
        outcome: 'failed',
        error: {
          code: 'validation_failed',
          message: `Mockup ${uploadId} is no longer available (deleted after its retention period?).`,
          retryable: false,
        },
      };
    }
    const event = { uploadId, fileName: file.fileName };
    await this.emit({ type: 'mockup:analyzing', ...event });
    try {
      await this.store.saveMockupResult(await runMockupAnalysis({ ...this.env, file }));
    } catch (thrown: unknown) {
      const error = toAppError(thrown);
      if (error.code === 'cancelled') return { uploadId, outcome: 'cancelled' };
      if (this.env.throwRetryable && error.retryable) throw error;
      return { uploadId, outcome: 'failed', error: error.toJSON() };
    }
    await this.emit({ type: 'mockup:complete', ...event });
    return { uploadId, outcome: 'analyzed' };
  }

  /** One iteration on the submitted story (parallel) or on the story approved so far (sequential). */
  async runIteration(iterationId: IterationId, base: 'original' | 'working'): Promise<IterationOutcome> {
    const done = (await this.store.iterationResults()).find((result) => result.id === iterationId);
    if (done) return outcomeOf(done);
    const story = base === 'original' ? this.store.original() : await this.current();
    const index = Math.max(0, this.env.iterations.indexOf(iterationId));
    const total = this.env.iterations.length;
    await this.emit({ type: 'iteration:start', iteration: iterationId, index, total });

    const role =
      base === 'original' && this.env.cache
        ? cacheRole(this.env.iterations, story.productType, this.env.models, iterationId)
        : undefined;
    const cache = this.env.cache;
    // Instructions already cached (this client ran a call on the model within the cache's lifetime) leave
    // only the story to write: each call writes that small part itself rather than wait for the leader.
    const waits =
      role !== undefined && !role.leads && !this.env.llm.instructionsCached?.(role.model, engineInstructions);
    if (waits) await cache?.ready(role.model, this.env.signal);
    const openCache = role?.leads ? () => cache?.open(role.model) : () => undefined;
    let result: IterationResult;
    try {
      result = await runIteration({
        ...this.env,
        story,
        mockups: await this.inventories(),
        iterationId,
        onResponseStart: openCache,
        onChunk: (chunk) => {
          void this.emit({ type: 'iteration:progress', iteration: iterationId, chunk });
        },
      });
    } finally {
      openCache();
    }
    this.failOnRetryable(result);
    await this.store.saveIterationResult(result);
    await this.emit({ type: 'iteration:complete', iteration: iterationId, index, total, result });
    return outcomeOf(result);
  }

  /** Parallel runs: the iteration results merged onto the submitted story in catalog order. */
  async merge(): Promise<void> {
    const merged = mergeIterationResults(this.store.original(), await this.store.iterationResults());
    for (const result of merged.results) await this.store.saveIterationResult(result);
    await this.store.saveWorking(merged.story);
  }

  /** Sequential runs: the story as it would be with this iteration applied, for the approver to see. */
  async preview(iterationId: IterationId): Promise<{ result: IterationResult | undefined; story: Story }> {
    const working = await this.current();
    const result = (await this.store.iterationResults()).find((item) => item.id === iterationId);
    return { result, story: result ? applyResult(working, result).story : working };
  }

  /**
   * Sequential runs: applies the iteration (continue) or discards it (skip, stop). An edited story replaces
   * the working story instead.
   */
  async applyApproval(iterationId: IterationId, decision: ApprovalDecision, edited?: Story): Promise<void> {
    const result = (await this.store.iterationResults()).find((item) => item.id === iterationId);
    let working = await this.current();
    if (edited) {
      working = edited;
    } else if (result && decision === 'continue') {
      const step = applyResult(working, result);
      working = step.story;
      await this.store.saveIterationResult(step.result);
    }
    if (result && decision !== 'continue') {
      await this.store.saveIterationResult({
        ...result,
        status: 'skipped',
        changes: [],
        summary: `Skipped on request. ${result.summary}`,
      });
    }
    await this.store.saveWorking(working);
  }

  private async storedPass(id: PassResult['id'], round: number): Promise<PassResult | undefined> {
    return (await this.store.passResults()).find((result) => result.id === id && result.round === round);
  }

  /** Runs a pass that edits the story, applies its changes and checkpoints both at once. */
  private async editingPass(
    id: 'consolidation' | 'rewrite' | 'refinement',
    round: number,
    run: (story: Story) => Promise<PassResult>,
  ): Promise<PassOutcome> {
    const done = await this.storedPass(id, round);
    if (done) return passOutcome(done);
    const story = await this.current();
    const proposed = await this.cancellable(() => run(story));
    if (!proposed) return { outcome: 'cancelled' };
    this.failOnRetryable(proposed);
    const applied = applyResult(story, proposed);
    await this.store.savePass(
      applied.result,
      applied.result.status === 'applied' ? applied.story : undefined,
    );
    return passOutcome(applied.result);
  }

  /** Passes report cancellation as an outcome, so the workflow can end the run with what it has. */
  private async cancellable<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (error: unknown) {
      if (toAppError(error).code === 'cancelled') return undefined;
      throw error;
    }
  }

  /**
   * Duplicates, contradictions and coverage over the merged story. Given the rewrite rounds of the judge that
   * follows, its first round starts as soon as consolidation's edits are final, while coverage and split are
   * still being written. That round is kept only when consolidation ends with the very story it judged (a
   * retried answer may edit differently); otherwise it is stopped and the judge step runs it.
   */
  async consolidate(judgeRewriteRounds?: number): Promise<PassOutcome> {
    const early: { judge?: EarlyJudge } = {};
    // Called from inside consolidation's stream, the judge still belongs to this step, not to that call:
    // it runs in the step's async context (its trace span and scope).
    const startJudge = AsyncResource.bind((consolidated: Story, rounds: number) =>
      this.startJudge(consolidated, rounds),
    );
    try {
      const outcome = await this.editingPass('consolidation', 1, async (story) => {
        const findings = (await this.store.iterationResults()).flatMap((result) => result.findings);
        const proposedSplit = findings.find((finding) => finding.kind === 'not_atomic')?.split ?? [];
        const proposed = await runConsolidation({
          ...this.env,
          story,
          mockups: await this.inventories(),
          proposedSplit,
          ...(judgeRewriteRounds === undefined
            ? {}
            : {
                onEditsKnown: (consolidated: Story) => {
                  early.judge ??= startJudge(consolidated, judgeRewriteRounds);
                },
              }),
        });
        if (early.judge) {
          early.judge.kept = sameStory(early.judge.story, applyResult(story, proposed).story);
        }
        return proposed;
      });
      if (outcome.outcome === 'cancelled' || !early.judge?.kept) return outcome;
      const judged = await early.judge.result;
      if (judged) await this.saveReview(judged);
      return outcome;
    } finally {
      early.judge?.stop();
    }
  }

  /** The first judge round, started on the story consolidation's edits make, with a way to stop it. */
  private startJudge(story: Story, rewriteRoundsLeft: number): EarlyJudge {
    const stopped = new AbortController();
    const signal = this.env.signal ? AbortSignal.any([this.env.signal, stopped.signal]) : stopped.signal;
    const result = (async () => {
      await this.emit({ type: 'review:start', round: 1 });
      return this.judge(story, 1, rewriteRoundsLeft, signal);
    })();
    // A judge that is stopped, or whose story consolidation did not end with, is never awaited.
    result.catch(() => undefined);
    return { story, kept: false, result, stop: () => stopped.abort() };
  }

  /** One judge call on `story`; undefined when cancelled. */
  private async judge(
    story: Story,
    round: number,
    rewriteRoundsLeft: number,
    signal = this.env.signal,
  ): Promise<PassResult | undefined> {
    const mockups = await this.inventories();
    return this.cancellable(() =>
      runReview({ ...this.env, signal, story, mockups, round, rewriteRoundsLeft }),
    );
  }

  /** Checkpoints a judge round and reports its verdict. */
  private async saveReview(result: PassResult): Promise<void> {
    this.failOnRetryable(result);
    await this.store.savePass(result);
    if (result.review) {
      const { verdict, overall } = result.review;
      await this.emit({ type: 'review:complete', round: result.round, verdict, overall });
    }
  }

  /** A conversation turn: the user's instruction applied to the story the previous turn finished with. */
  refine(instruction: string): Promise<PassOutcome> {
    return this.editingPass('refinement', 1, async (story) =>
      runRefinement({ ...this.env, story, instruction, mockups: await this.inventories() }),
    );
  }

  /**
   * One round of the whole-story judge. After a rewrite round that changed nothing, judging the same story
   * again would only pay for the same review: the previous round's stands (`unchangedReview`).
   */
  async review(round: number, rewriteRoundsLeft: number): Promise<PassOutcome> {
    const done = await this.storedPass('review', round);
    if (done) return passOutcome(done);
    await this.emit({ type: 'review:start', round });
    const rewrite = round > 1 ? await this.storedPass('rewrite', round - 1) : undefined;
    const previous =
      rewrite && rewrite.status !== 'applied' ? await this.storedPass('review', round - 1) : undefined;
    const result = previous?.review
      ? unchangedReview(previous, round, rewriteRoundsLeft)
      : await this.judge(await this.current(), round, rewriteRoundsLeft);
    if (!result) return { outcome: 'cancelled' };
    await this.saveReview(result);
    return passOutcome(result);
  }

  /** A rewrite round addressing the issues of the judge round with the same number. */
  async rewrite(round: number): Promise<PassOutcome> {
    const issues = (await this.storedPass('review', round))?.review?.issues ?? [];
    return this.editingPass('rewrite', round, async (story) =>
      runRewrite({ ...this.env, story, mockups: await this.inventories(), round, issues }),
    );
  }
}
