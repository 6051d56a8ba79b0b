import { z } from 'zod';
import { iterationIdSchema, type IterationId } from './catalog';
import { reviewVerdicts } from './review';

/**
 * The workflow rules, once, for every caller: which steps run in which order and how results decide the
 * next step. `workflowSteps` is a deterministic generator (no I/O, no clock, no randomness) that yields step
 * requests and receives their results. The durable orchestrator drives it with one activity per step (parallel
 * iterations as a fan-out) raced against cancellation; the command line drives it in-process. Both execute
 * the steps with the same `StepExecutor`.
 */

/** The plan of one run: what the caller chose, fixed before the first step. */
export const workflowPlanSchema = z.object({
  /** `parallel`: every iteration on the submitted story, merged in catalog order; `sequential`: one after another on the approved story, each waiting for approval. */
  strategy: z.enum(['parallel', 'sequential']),
  /** At least one, except in a refinement turn, which runs none. */
  iterations: z.array(iterationIdSchema),
  /**
   * A conversation turn: instead of the iterations, one refinement pass applies the user's instruction to the
   * story the previous turn finished with, then the judge (and its rewrite rounds) as planned in `review`.
   */
  refinement: z.boolean().optional(),
  /** Mockups (upload ids, or file names on the command line) read into inventories before the iterations. */
  mockups: z.array(z.string().min(1)).optional(),
  /**
   * Consolidation and the whole-story judge after the iterations, with at most `rewriteRounds` rewrite rounds
   * (each judged again). Absent: the iterations alone, merged when the run finishes.
   */
  review: z.object({ rewriteRounds: z.number().int().min(0).max(3) }).optional(),
});
export type WorkflowPlan = z.infer<typeof workflowPlanSchema>;

/** One step request. A new kind of step is one more member here. */
export type WorkflowStep =
  | { kind: 'mockups'; mockups: string[] }
  | { kind: 'iterations'; iterations: IterationId[]; base: 'original' | 'working' }
  | { kind: 'approval'; iteration: IterationId }
  | { kind: 'merge' }
  /** `judgeRewriteRounds`: those of the judge that follows, whose first round may start during consolidation. */
  | { kind: 'consolidation'; judgeRewriteRounds: number }
  | { kind: 'review'; round: number; rewriteRoundsLeft: number }
  | { kind: 'rewrite'; round: number }
  | { kind: 'refinement' };

export const iterationOutcomeSchema = z.object({
  iterationId: iterationIdSchema,
  outcome: z.enum(['applied', 'skipped', 'failed', 'cancelled']),
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
});
export type IterationOutcome = z.infer<typeof iterationOutcomeSchema>;

export const mockupOutcomeSchema = z.object({
  uploadId: z.string(),
  outcome: z.enum(['analyzed', 'failed', 'cancelled']),
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
});
export type MockupOutcome = z.infer<typeof mockupOutcomeSchema>;

export const approvalDecisionSchema = z.enum(['continue', 'skip', 'stop']);
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;

export const passOutcomeSchema = z.object({
  outcome: z.enum(['applied', 'skipped', 'failed', 'cancelled']),
  /** Judge rounds: the verdict; absent when the round failed or was cancelled. */
  verdict: z.enum(reviewVerdicts).optional(),
  overall: z.number().optional(),
  /** Why the pass failed; reported only where a failed pass ends the run (a refinement turn). */
  error: z.object({ code: z.string(), message: z.string(), retryable: z.boolean() }).optional(),
});
export type PassOutcome = z.infer<typeof passOutcomeSchema>;

/** What each step reports back: small values only, so they fit a durable history. */
export type StepResult =
  | { kind: 'mockups'; outcomes: MockupOutcome[] }
  | { kind: 'iterations'; outcomes: IterationOutcome[] }
  | { kind: 'approval'; decision: ApprovalDecision }
  | { kind: 'merge' }
  | ({ kind: 'consolidation' } & PassOutcome)
  | ({ kind: 'review' } & PassOutcome)
  | ({ kind: 'rewrite' } & PassOutcome)
  | ({ kind: 'refinement' } & PassOutcome);

export interface WorkflowOutcome {
  outcome: 'completed' | 'failed' | 'cancelled';
  error?: { code: string; message: string; retryable: boolean };
}

type ResultOf<K extends StepResult['kind']> = Extract<StepResult, { kind: K }>;

function isResultOf<K extends StepResult['kind']>(kind: K, result: StepResult): result is ResultOf<K> {
  return result.kind === kind;
}

/** Yields one step and returns its result, checked to be the answer to that step. */
function* step<K extends WorkflowStep['kind']>(
  request: Extract<WorkflowStep, { kind: K }>,
): Generator<WorkflowStep, ResultOf<K>, StepResult> {
  const result = yield request;
  if (!isResultOf(request.kind, result)) {
    throw new Error(`The ${request.kind} step was answered with a ${result.kind} result.`);
  }
  return result;
}

/** A cancelled or failed mockup or iteration ends the run; the first one in plan order speaks for it. */
function stopOn(
  outcomes: readonly (IterationOutcome | MockupOutcome)[],
  name: (failed: IterationOutcome | MockupOutcome) => string,
): WorkflowOutcome | undefined {
  if (outcomes.some((entry) => entry.outcome === 'cancelled')) return { outcome: 'cancelled' };
  const failed = outcomes.find((entry) => entry.outcome === 'failed');
  if (!failed) return undefined;
  return {
    outcome: 'failed',
    error: failed.error ?? { code: 'internal', message: `${name(failed)} failed.`, retryable: false },
  };
}

const stepName = (entry: IterationOutcome | MockupOutcome) =>
  'iterationId' in entry ? entry.iterationId : `Mockup ${entry.uploadId}`;

/**
 * The steps of one run. First every mockup is read at once (every iteration's context needs them all).
 * Parallel: all iterations on the submitted story at once, then a merge in catalog
 * order. Sequential: one iteration at a time on the story approved so far, each followed by an approval
 * (`stop` ends the iterations). Then, when the plan asks for it: consolidation, a judge round, and while the
 * judge says `rewrite`, a rewrite round judged again. A failed pass does not fail the run: the story keeps
 * what the iterations produced and the result reports the failure.
 */
export function* workflowSteps(plan: WorkflowPlan): Generator<WorkflowStep, WorkflowOutcome, StepResult> {
  if (plan.refinement) return yield* refinementSteps(plan);
  if (plan.mockups && plan.mockups.length > 0) {
    const { outcomes } = yield* step({ kind: 'mockups', mockups: plan.mockups });
    const stop = stopOn(outcomes, stepName);
    if (stop) return stop;
  }
  if (plan.strategy === 'sequential') {
    for (const iteration of plan.iterations) {
      const { outcomes } = yield* step({ kind: 'iterations', iterations: [iteration], base: 'working' });
      const stop = stopOn(outcomes, stepName);
      if (stop) return stop;
      const { decision } = yield* step({ kind: 'approval', iteration });
      if (decision === 'stop') break;
    }
  } else {
    const { outcomes } = yield* step({ kind: 'iterations', iterations: plan.iterations, base: 'original' });
    const stop = stopOn(outcomes, stepName);
    if (stop) return stop;
    if (!plan.review) return { outcome: 'completed' };
    yield* step({ kind: 'merge' });
  }
  if (!plan.review) return { outcome: 'completed' };

  const consolidation = yield* step({
    kind: 'consolidation',
    judgeRewriteRounds: plan.review.rewriteRounds,
  });
  if (consolidation.outcome === 'cancelled') return { outcome: 'cancelled' };
  return yield* judgeSteps(plan.review.rewriteRounds);
}

/**
 * A conversation turn: the refinement pass, then the judge. Unlike the other passes, a failed refinement
 * fails the run: the turn exists only to apply the instruction.
 */
function* refinementSteps(plan: WorkflowPlan): Generator<WorkflowStep, WorkflowOutcome, StepResult> {
  const refined = yield* step({ kind: 'refinement' });
  if (refined.outcome === 'cancelled') return { outcome: 'cancelled' };
  if (refined.outcome === 'failed') {
    return {
      outcome: 'failed',
      error: refined.error ?? { code: 'internal', message: 'The refinement failed.', retryable: false },
    };
  }
  return plan.review ? yield* judgeSteps(plan.review.rewriteRounds) : { outcome: 'completed' };
}

/** A judge round, and while the judge says `rewrite` (at most `rounds` times), a rewrite judged again. */
function* judgeSteps(rounds: number): Generator<WorkflowStep, WorkflowOutcome, StepResult> {
  for (let round = 1; ; round++) {
    const review = yield* step({ kind: 'review', round, rewriteRoundsLeft: rounds - (round - 1) });
    if (review.outcome === 'cancelled') return { outcome: 'cancelled' };
    if (review.verdict !== 'rewrite' || round > rounds) break;
    if ((yield* step({ kind: 'rewrite', round })).outcome === 'cancelled') return { outcome: 'cancelled' };
  }
  return { outcome: 'completed' };
}
