import { AppError, toAppError } from '../errors';
import type { LlmPort, StructuredRequest, StructuredResponse } from '../llm/port';
import type { BacklogContext } from './backlog-names';
import { defaultModels, getIteration, type IterationId, type WorkflowPassId } from './catalog';
import {
  addCall,
  emptyUsage,
  type IterationResult,
  type LlmCall,
  type PassResult,
  type Usage,
  type Verification,
} from './iteration-result';
import {
  buildMockupRequest,
  type MockupFile,
  type MockupInventory,
  type MockupResult,
} from './mockup-inventory';
import { FieldWatch } from './field-watch';
import { applyResult } from './merge';
import { validatePatches, type Patch, type PatchValidation } from './patch';
import {
  buildConsolidationRequest,
  buildIterationRequest,
  buildRefinementRequest,
  buildReviewRequest,
  buildRewriteRequest,
  buildVerificationRequest,
  engineOutputSchema,
  fieldsAfter,
  type EngineOutput,
} from './prompts';
import { clampScores, overallScore, reviewVerdict, type Review, type ReviewIssue } from './review';
import type { Story } from './story';

/** A verification score at or above this passes; below it the iteration is retried once with the issues. */
export const verificationPassScore = 0.7;

/** Which model serves which call. More specific settings win: per iteration, then `model`, then the catalog. */
export interface ModelSelection {
  /** One model for every call (a job's `options.model`). */
  model?: string;
  perIteration?: Partial<Record<IterationId, string>>;
  /** The per-iteration verification model; defaults to `model`, else the standard model. */
  verification?: string;
}

/** The model an iteration runs on under a selection. */
export function iterationModel(iterationId: IterationId, models: ModelSelection = {}): string {
  return models.perIteration?.[iterationId] ?? models.model ?? getIteration(iterationId).defaultModel;
}

/**
 * Workflow passes judge and edit the whole story, so they run on the standard model, whose cached
 * instructions the standard-model iterations have just written.
 */
export function passModel(models: ModelSelection = {}): string {
  return models.model ?? defaultModels.standard;
}

/** What every LLM step needs: the port (already metered and quota-checked by the caller) and call settings. */
export interface CallOptions {
  llm: LlmPort;
  models?: ModelSelection;
  /** What the run's mockups show: part of every engine call's cached context, after the story. */
  mockups?: readonly MockupInventory[];
  /** System mode: the names shared across the story's backlog, part of every call's cached context. */
  backlogContext?: BacklogContext;
  /** Clock for the calls' `at` timestamps. */
  now?: () => Date;
  signal?: AbortSignal;
  /** Per LLM call. */
  timeoutMs?: number;
}

export function throwIfCancelled(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AppError('cancelled', 'The run was cancelled.', { cause: signal.reason });
}

/** The calls one step makes, with their summed usage: what its result reports. */
export class CallLog {
  usage: Usage = emptyUsage();
  readonly calls: LlmCall[] = [];
  model = '';
  private readonly started = performance.now();

  constructor(private readonly options: CallOptions) {}

  async call<T>(request: StructuredRequest<T>): Promise<T> {
    throwIfCancelled(this.options.signal);
    const at = (this.options.now ?? (() => new Date()))();
    const response: StructuredResponse<T> = await this.options.llm.generate(request);
    if (request.purpose.kind === 'iteration' || this.model === '') this.model = response.model;
    this.usage = addCall(this.usage, response.usage, response.costMicroUsd);
    this.calls.push({
      kind: request.purpose.kind,
      attempt: request.purpose.attempt,
      model: response.model,
      ...(response.requestId === undefined ? {} : { requestId: response.requestId }),
      at: at.toISOString(),
      durationMs: Math.round(response.durationMs),
      inputTokens: response.usage.inputTokens,
      outputTokens: response.usage.outputTokens,
      cacheReadInputTokens: response.usage.cacheReadInputTokens,
      cacheCreationInputTokens: response.usage.cacheCreationInputTokens,
      costMicroUsd: response.costMicroUsd,
    });
    return response.output;
  }

  elapsedMs(): number {
    return Math.round(performance.now() - this.started);
  }
}

function emptyIterationResult(iterationId: IterationId, summary: string): IterationResult {
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

/** One iteration on one story; `story` is the base the changes are validated against. */
export interface RunIterationInput extends CallOptions {
  story: Story;
  iterationId: IterationId;
  /** Judge the output and retry once with the judge's issues when it fails. */
  verify?: boolean;
  onChunk?: (text: string) => void;
  onResponseStart?: () => void;
}

/**
 * Runs one iteration on a story and returns its result with validated changes (not yet applied). An
 * iteration that does not apply to the story's product type is `skipped`; an LLM failure gives a `failed`
 * result carrying the error; cancellation throws `AppError('cancelled')` so callers stop the whole run.
 */
export async function runIteration(input: RunIterationInput): Promise<IterationResult> {
  const { story, iterationId } = input;
  const definition = getIteration(iterationId);
  if (!definition.productTypes.includes(story.productType)) {
    return emptyIterationResult(
      iterationId,
      `${definition.name} does not apply to ${story.productType} products.`,
    );
  }
  const log = new CallLog(input);
  let attempts = 0;
  const common = {
    story,
    mockups: input.mockups,
    ...(input.backlogContext ? { backlogContext: input.backlogContext } : {}),
    signal: input.signal,
    timeoutMs: input.timeoutMs,
  };

  const attempt = async (
    feedback: readonly string[],
  ): Promise<{ output: EngineOutput } & PatchValidation> => {
    attempts += 1;
    const output = await log.call(
      buildIterationRequest({
        ...common,
        iterationId,
        model: iterationModel(iterationId, input.models),
        attempt: attempts,
        feedback,
        onChunk: input.onChunk,
        onResponseStart: input.onResponseStart,
      }),
    );
    return { output, ...validatePatches(story, iterationId, output.patches) };
  };

  const verify = async (output: EngineOutput): Promise<Verification> => {
    const { score, feedback } = await log.call(
      buildVerificationRequest({
        ...common,
        iterationId,
        proposal: { summary: output.summary, patches: output.patches, findings: output.findings },
        model: input.models?.verification ?? passModel(input.models),
        attempt: attempts,
      }),
    );
    const bounded = Math.min(1, Math.max(0, score));
    return { score: bounded, passed: bounded >= verificationPassScore, issues: feedback };
  };

  try {
    let outcome = await attempt([]);
    let verification: Verification | undefined;
    if (input.verify) {
      verification = await verify(outcome.output);
      if (!verification.passed) {
        outcome = await attempt(verification.issues);
        verification = await verify(outcome.output);
      }
    }
    return {
      ...emptyIterationResult(iterationId, outcome.output.summary),
      status: outcome.changes.length > 0 ? 'applied' : 'skipped',
      changes: outcome.changes,
      rejected: outcome.rejected,
      // Only the validation iteration checks the story itself; anything else reporting defects is noise.
      findings: iterationId === 'validation' ? outcome.output.findings : [],
      usage: log.usage,
      durationMs: log.elapsedMs(),
      model: log.model,
      attempts,
      calls: log.calls,
      ...(verification ? { verification } : {}),
    };
  } catch (thrown: unknown) {
    const error = toAppError(thrown);
    if (error.code === 'cancelled') throw error;
    return {
      ...emptyIterationResult(iterationId, `${definition.name} failed: ${error.message}`),
      status: 'failed',
      usage: log.usage,
      durationMs: log.elapsedMs(),
      model: log.model,
      attempts,
      calls: log.calls,
      error: error.toJSON(),
    };
  }
}

/** What a workflow pass runs on: the whole (merged) story. */
export interface PassInput extends CallOptions {
  story: Story;
  onChunk?: (text: string) => void;
}

function passResult(id: WorkflowPassId, round: number, log: CallLog, summary: string): PassResult {
  return {
    id,
    round,
    status: 'skipped',
    summary,
    changes: [],
    rejected: [],
    usage: log.usage,
    durationMs: log.elapsedMs(),
    model: log.model,
    calls: log.calls,
  };
}

/** Runs one pass's call; an LLM failure becomes a `failed` result, cancellation is thrown. */
async function runPass(
  id: WorkflowPassId,
  round: number,
  input: PassInput,
  work: (log: CallLog) => Promise<Partial<PassResult>>,
): Promise<PassResult> {
  const log = new CallLog(input);
  try {
    const fields = await work(log);
    return { ...passResult(id, round, log, ''), ...fields, usage: log.usage, durationMs: log.elapsedMs() };
  } catch (thrown: unknown) {
    const error = toAppError(thrown);
    if (error.code === 'cancelled') throw error;
    return {
      ...passResult(id, round, log, `${id} failed: ${error.message}`),
      status: 'failed',
      error: error.toJSON(),
    };
  }
}

function editsOf(
  story: Story,
  author: WorkflowPassId,
  patches: readonly Patch[],
): Pick<PassResult, 'id' | 'status' | 'changes' | 'rejected'> {
  const { changes, rejected } = validatePatches(story, author, patches);
  return { id: author, status: changes.length > 0 ? 'applied' : 'skipped', changes, rejected };
}

/**
 * The consolidation pass over the merged story: removes duplicates and contradictions (each conflict becomes
 * an open question), maps the story's features to the items covering them and proposes a split for a
 * compound story. Its changes are validated, not applied (see `applyResult`).
 */
export function runConsolidation(
  input: PassInput & {
    proposedSplit?: readonly string[];
    /**
     * Called once the answer's edits are final, before its coverage and split are written, with the story
     * those edits make (as `applyResult` would apply them): what the next pass can start on. The story is
     * a forecast until the answer ends; compare it with the story the result makes.
     */
    onEditsKnown?: (story: Story) => void;
  },
): Promise<PassResult> {
  const { onEditsKnown } = input;
  const watch =
    onEditsKnown &&
    new FieldWatch('patches', fieldsAfter('patches'), (value) => {
      const patches = engineOutputSchema.shape.patches.safeParse(value);
      if (patches.success)
        onEditsKnown(applyResult(input.story, editsOf(input.story, 'consolidation', patches.data)).story);
    });
  return runPass('consolidation', 1, input, async (log) => {
    const output = await log.call(
      buildConsolidationRequest({
        ...input,
        model: passModel(input.models),
        attempt: 1,
        ...(watch
          ? {
              onResponseStart: () => watch.restart(),
              onChunk: (text: string) => {
                watch.write(text);
                input.onChunk?.(text);
              },
            }
          : {}),
      }),
    );
    return {
      ...editsOf(input.story, 'consolidation', output.patches),
      summary: output.summary,
      coverage: output.coverage,
      split: output.split,
    };
  });
}

/**
 * One round of the whole-story judge. The verdict is computed from the clamped scores and the rewrite rounds
 * still allowed, so the model cannot overrule it.
 */
export function runReview(
  input: PassInput & { round: number; rewriteRoundsLeft: number },
): Promise<PassResult> {
  return runPass('review', input.round, input, async (log) => {
    const output = await log.call(
      buildReviewRequest({ ...input, model: passModel(input.models), attempt: 1 }),
    );
    const scores = clampScores(output.scores);
    const review: Review = {
      verdict: reviewVerdict(scores, input.rewriteRoundsLeft),
      overall: overallScore(scores),
      scores,
      issues: output.issues,
      summary: output.summary,
      rounds: input.round,
    };
    return { status: 'applied', summary: output.summary, review };
  });
}

/**
 * The judge round after a rewrite round that changed nothing (no edit accepted, or the rewrite failed): the
 * story is the one `previous` judged, so its scores and issues stand and no call is made; only the verdict is
 * taken again, with the rewrite rounds left now.
 */
export function unchangedReview(previous: PassResult, round: number, rewriteRoundsLeft: number): PassResult {
  const judged = previous.review;
  if (!judged) throw new AppError('internal', `Judge round ${previous.round} has no review to carry over.`);
  const summary = `The rewrite round changed nothing, so the review of round ${previous.round} stands. ${judged.summary}`;
  const review: Review = {
    ...judged,
    verdict: reviewVerdict(judged.scores, rewriteRoundsLeft),
    summary,
    rounds: round,
  };
  return {
    id: 'review',
    round,
    status: 'applied',
    summary,
    changes: [],
    rejected: [],
    usage: emptyUsage(),
    durationMs: 0,
    model: previous.model,
    calls: [],
    review,
  };
}

/** One rewrite round addressing a judge round's issues; its changes are validated, not applied. */
export function runRewrite(
  input: PassInput & { round: number; issues: readonly ReviewIssue[] },
): Promise<PassResult> {
  return runPass('rewrite', input.round, input, async (log) => {
    const output = await log.call(
      buildRewriteRequest({ ...input, model: passModel(input.models), attempt: 1 }),
    );
    return { ...editsOf(input.story, 'rewrite', output.patches), summary: output.summary };
  });
}

/**
 * A conversation turn: applies the user's instruction to the finished story. The instruction travels as data
 * (see `buildRefinementRequest`); its changes are validated, not applied, like any pass's.
 */
export function runRefinement(input: PassInput & { instruction: string }): Promise<PassResult> {
  return runPass('refinement', 1, input, async (log) => {
    const output = await log.call(
      buildRefinementRequest({ ...input, model: passModel(input.models), attempt: 1 }),
    );
    return { ...editsOf(input.story, 'refinement', output.patches), summary: output.summary };
  });
}

/**
 * Reads one mockup into an inventory: one vision (or document) call on the pass model, before the
 * iterations. Failures and cancellation are thrown: the step decides whether a retry may help.
 */
export async function runMockupAnalysis(input: CallOptions & { file: MockupFile }): Promise<MockupResult> {
  const { file } = input;
  const log = new CallLog(input);
  const output = await log.call(
    buildMockupRequest({
      uploadId: file.id,
      fileName: file.fileName,
      attachment: file.attachment,
      model: passModel(input.models),
      attempt: 1,
      signal: input.signal,
      timeoutMs: input.timeoutMs,
    }),
  );
  return {
    inventory: { ...output, uploadId: file.id, fileName: file.fileName, contentType: file.contentType },
    usage: log.usage,
  };
}
