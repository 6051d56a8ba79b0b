import { AppError, toAppError } from '../errors';
import type { LlmPort, StructuredResponse } from '../llm/port';
import { costMicroUsd } from '../llm/pricing';
import { applicableIterations, catalogIndex, defaultModels, getIteration, type IterationId } from './catalog';
import {
  addCall,
  emptyUsage,
  sumUsage,
  type IterationResult,
  type LlmCall,
  type Usage,
  type Verification,
} from './iteration-result';
import { applyIterationResult, mergeIterationResults } from './merge';
import type { MockupInventory } from './mockup-inventory';
import { validatePatches, type IterationOutput, type PatchValidation } from './patch';
import { buildIterationRequest, buildVerificationRequest } from './prompts';
import { renderMarkdown, type Story } from './story';

/** A verification score at or above this passes; below it the iteration is retried once with the issues. */
export const verificationPassScore = 0.7;

/** Which model serves which call. More specific settings win: per iteration, then `model`, then the catalog. */
export interface ModelSelection {
  /** One model for every iteration (a job's `options.model`). */
  model?: string;
  perIteration?: Partial<Record<IterationId, string>>;
  /** The judge model; defaults to `model`, else the standard model. */
  verification?: string;
}

/** The model an iteration runs on under a selection. */
export function iterationModel(iterationId: IterationId, models: ModelSelection = {}): string {
  return models.perIteration?.[iterationId] ?? models.model ?? getIteration(iterationId).defaultModel;
}

/** Prices one call in micro-dollars; throws for a model without a price, so nothing is billed as free. */
export type PriceCall = (model: string, usage: StructuredResponse<unknown>['usage'], at: Date) => number;

interface CallOptions {
  llm: LlmPort;
  /** What the job's mockups show: part of every iteration's cached context. */
  mockups?: readonly MockupInventory[];
  models?: ModelSelection;
  /** Defaults to the pricing table in `shared/llm/pricing`. */
  price?: PriceCall;
  /** Clock for pricing (the row in force when the call was made). */
  now?: () => Date;
  signal?: AbortSignal;
  /** Per LLM call. */
  timeoutMs?: number;
}

/** One iteration on one story; `story` is the base the changes are validated against. */
export interface RunIterationInput extends CallOptions {
  story: Story;
  iterationId: IterationId;
  /** Judge the output and retry once with the judge's issues when it fails. */
  verify?: boolean;
  onChunk?: (text: string) => void;
}

function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError('cancelled', 'The run was cancelled.', { cause: signal.reason });
}

function baseResult(iterationId: IterationId, summary: string): IterationResult {
  return {
    id: iterationId,
    status: 'skipped',
    summary,
    changes: [],
    rejected: [],
    findings: [],
    usage: emptyUsage(),
    durationMs: 0,
    model: '',
    attempts: 0,
    calls: [],
  };
}

/**
 * Runs one iteration on a story through an LLM port and returns its result with validated changes (not yet
 * applied: see `applyIterationResult` and `mergeIterationResults`). An iteration that does not apply to the
 * story's product type is `skipped`; an LLM failure gives a `failed` result carrying the error; cancellation
 * throws `AppError('cancelled')` so callers stop the whole run.
 */
export async function runIteration(input: RunIterationInput): Promise<IterationResult> {
  const { story, iterationId, llm, signal } = input;
  const definition = getIteration(iterationId);
  if (!definition.productTypes.includes(story.productType)) {
    return baseResult(iterationId, `${definition.name} does not apply to ${story.productType} products.`);
  }
  const price = input.price ?? costMicroUsd;
  const now = input.now ?? (() => new Date());
  const started = performance.now();
  let usage: Usage = emptyUsage();
  let model = '';
  let attempts = 0;
  const calls: LlmCall[] = [];
  const account = <T>(response: StructuredResponse<T>, at: Date, kind: LlmCall['kind']): T => {
    // Tokens are recorded even when pricing throws, so quotas see them; the iteration then fails.
    let cost = 0;
    try {
      cost = price(response.model, response.usage, at);
    } finally {
      usage = addCall(usage, response.usage, cost);
      calls.push({
        kind,
        attempt: attempts,
        model: response.model,
        ...(response.requestId === undefined ? {} : { requestId: response.requestId }),
        at: at.toISOString(),
        durationMs: Math.round(response.durationMs),
        inputTokens: response.usage.inputTokens,
        outputTokens: response.usage.outputTokens,
        cacheReadInputTokens: response.usage.cacheReadInputTokens,
        cacheCreationInputTokens: response.usage.cacheCreationInputTokens,
        costMicroUsd: cost,
      });
    }
    return response.output;
  };

  const attempt = async (
    feedback: readonly string[],
  ): Promise<{ output: IterationOutput } & PatchValidation> => {
    throwIfCancelled(signal);
    attempts += 1;
    const at = now();
    const response = await llm.generate(
      buildIterationRequest({
        story,
        mockups: input.mockups,
        iterationId,
        model: iterationModel(iterationId, input.models),
        attempt: attempts,
        feedback,
        signal,
        timeoutMs: input.timeoutMs,
        onChunk: input.onChunk,
      }),
    );
    model = response.model;
    const output = account(response, at, 'iteration');
    return { output, ...validatePatches(story, iterationId, output.patches) };
  };

  const judge = async (output: IterationOutput): Promise<Verification> => {
    throwIfCancelled(signal);
    const at = now();
    const response = await llm.generate(
      buildVerificationRequest({
        story,
        mockups: input.mockups,
        iterationId,
        proposal: output,
        model: input.models?.verification ?? input.models?.model ?? defaultModels.standard,
        attempt: attempts,
        signal,
        timeoutMs: input.timeoutMs,
      }),
    );
    const { score, issues } = account(response, at, 'verification');
    const bounded = Math.min(1, Math.max(0, score));
    return { score: bounded, passed: bounded >= verificationPassScore, issues };
  };

  try {
    let outcome = await attempt([]);
    let verification: Verification | undefined;
    if (input.verify) {
      verification = await judge(outcome.output);
      if (!verification.passed) {
        outcome = await attempt(verification.issues);
        verification = await judge(outcome.output);
      }
    }
    return {
      ...baseResult(iterationId, outcome.output.summary),
      status: outcome.changes.length > 0 ? 'applied' : 'skipped',
      changes: outcome.changes,
      rejected: outcome.rejected,
      findings: outcome.output.findings,
      usage,
      durationMs: Math.round(performance.now() - started),
      model,
      attempts,
      calls,
      ...(verification ? { verification } : {}),
    };
  } catch (thrown: unknown) {
    const error = toAppError(thrown);
    if (error.code === 'cancelled') throw error;
    return {
      ...baseResult(iterationId, `${definition.name} failed: ${error.message}`),
      status: 'failed',
      usage,
      durationMs: Math.round(performance.now() - started),
      model,
      attempts,
      calls,
      error: error.toJSON(),
    };
  }
}

/** Progress as the workflow reports it; mirrors the contract's `iteration:*` events. */
export type WorkflowEvent =
  | { type: 'iteration:start'; iteration: IterationId; index: number; total: number }
  | { type: 'iteration:progress'; iteration: IterationId; chunk: string }
  | {
      type: 'iteration:complete';
      iteration: IterationId;
      index: number;
      total: number;
      result: IterationResult;
    };

/** The interactive decision after each iteration (sequential strategy only). */
export type ApprovalDecision = 'continue' | 'skip' | 'stop';

/** Several iterations on one story, in parallel (workflow) or one after another (interactive). */
export interface RunWorkflowInput extends CallOptions {
  story: Story;
  /** Defaults to every iteration applicable to the story's product type. Run and merged in catalog order. */
  iterations?: readonly IterationId[];
  /**
   * `parallel`: every iteration on the base story, merged in catalog order (the workflow mode).
   * `sequential`: each iteration on the previous one's output (the interactive mode).
   */
  strategy?: 'parallel' | 'sequential';
  verify?: boolean;
  /** Parallel calls in flight at once; default: all. */
  concurrency?: number;
  /**
   * Parallel only (default true): per model, start one call first and the others once it streams its first
   * text. A prompt prefix is cached only after a response to it has started, so launching every call at once
   * would make all of them pay for the shared instructions and story; warming costs one time-to-first-token.
   */
  warmCache?: boolean;
  onEvent?: (event: WorkflowEvent) => void;
  /** Sequential only: asked after each iteration, before its changes are applied. */
  approve?: (step: {
    result: IterationResult;
    story: Story;
    index: number;
    total: number;
  }) => Promise<ApprovalDecision>;
}

/** What a job stores as `result` and `usage`. */
export interface WorkflowResult {
  story: Story;
  /** `renderMarkdown(story)`: the job's `result.story`. */
  markdown: string;
  iterations: IterationResult[];
  usage: Usage;
}

/** Catalog order, duplicates removed; the default is every iteration applicable to the product type. */
export function planIterations(story: Story, iterations?: readonly IterationId[]): IterationId[] {
  const chosen = iterations ?? applicableIterations(story.productType).map((definition) => definition.id);
  return [...new Set(chosen)].sort((a, b) => catalogIndex(a) - catalogIndex(b));
}

/**
 * Runs several iterations and merges them into one story. Both strategies give the same shape of result;
 * parallel results are merged in catalog order, so the story does not depend on which call finished first.
 */
export async function runWorkflow(input: RunWorkflowInput): Promise<WorkflowResult> {
  const plan = planIterations(input.story, input.iterations);
  const total = plan.length;
  const emit = input.onEvent ?? (() => undefined);
  const run = (
    story: Story,
    iterationId: IterationId,
    index: number,
    onFirstChunk: () => void = () => undefined,
  ): Promise<IterationResult> => {
    emit({ type: 'iteration:start', iteration: iterationId, index, total });
    return runIteration({
      ...input,
      story,
      iterationId,
      onChunk: (chunk) => {
        onFirstChunk();
        emit({ type: 'iteration:progress', iteration: iterationId, chunk });
      },
    }).then((result) => {
      emit({ type: 'iteration:complete', iteration: iterationId, index, total, result });
      return result;
    });
  };

  if ((input.strategy ?? 'parallel') === 'parallel') {
    const warm = input.warmCache === false ? undefined : cacheWarmers(plan, input.models);
    const results: IterationResult[] = new Array<IterationResult>(total);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        const index = next++;
        const iterationId = plan[index];
        if (iterationId === undefined) continue;
        const warmer = warm?.get(iterationModel(iterationId, input.models));
        if (warmer?.leader === iterationId) {
          results[index] = await run(input.story, iterationId, index, warmer.open).finally(warmer.open);
        } else {
          await warmer?.ready;
          results[index] = await run(input.story, iterationId, index);
        }
      }
    };
    const width = Math.max(1, Math.min(total, input.concurrency ?? total));
    await Promise.all(Array.from({ length: width }, worker));
    const merged = mergeIterationResults(input.story, results);
    return finish(merged.story, merged.results);
  }

  let story = input.story;
  const results: IterationResult[] = [];
  let stopped = false;
  for (const [index, iterationId] of plan.entries()) {
    if (stopped) {
      results.push(baseResult(iterationId, 'Not run: the run was stopped after an earlier iteration.'));
      continue;
    }
    const result = await run(story, iterationId, index);
    const decision = input.approve ? await input.approve({ result, story, index, total }) : 'continue';
    throwIfCancelled(input.signal);
    if (decision === 'continue') {
      const step = applyIterationResult(story, result);
      story = step.story;
      results.push(step.result);
    } else {
      results.push({
        ...result,
        status: 'skipped',
        changes: [],
        summary: `Skipped on request. ${result.summary}`,
      });
      stopped = decision === 'stop';
    }
  }
  return finish(story, results);
}

interface CacheWarmer {
  leader: IterationId;
  ready: Promise<void>;
  open: () => void;
}

/** One gate per model: its first iteration opens it on its first streamed text (or when it ends). */
function cacheWarmers(
  plan: readonly IterationId[],
  models: ModelSelection | undefined,
): Map<string, CacheWarmer> {
  const warmers = new Map<string, CacheWarmer>();
  for (const iterationId of plan) {
    const model = iterationModel(iterationId, models);
    if (warmers.has(model)) continue;
    let open = (): void => undefined;
    const ready = new Promise<void>((resolve) => {
      open = resolve;
    });
    warmers.set(model, { leader: iterationId, ready, open });
  }
  return warmers;
}

function finish(story: Story, iterations: IterationResult[]): WorkflowResult {
  return { story, markdown: renderMarkdown(story), iterations, usage: sumUsage(iterations) };
}
